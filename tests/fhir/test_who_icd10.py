"""WHO ICD-10 (http://hl7.org/fhir/sid/icd-10) is its own edition: icd10who:, matched by a rule's icd10: code."""

from __future__ import annotations

from pathlib import Path

import builders as B

from screening import load_criteria, screen
from screening.sources.fhir import bundle_to_patient

ROOT = Path(__file__).resolve().parents[2]
WHO = "http://hl7.org/fhir/sid/icd-10"


def test_who_icd10_codes_keep_their_edition_and_still_match_the_family():
    p = bundle_to_patient(B.bundle(B.patient(), B.condition("ms", (WHO, "G35", "Esclerosis múltiple"),
                                                            onset="2009-03-01")), "test.json")
    (c,) = p.conditions
    assert c.code == "icd10who:G35"  # it was written icd10:, as if it were ICD-10-CM
    trial = load_criteria(ROOT / "criteria" / "NCT01056471.yaml")
    inc1 = next(r for r in screen(p, trial, "2026-11-23").criteria if r.id == "inc-1")
    assert inc1.status.value == "pass"
