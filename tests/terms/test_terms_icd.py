"""ICD-10: codes by system, the hierarchy by code, history-of classes, and the two tabular lists."""

from __future__ import annotations

import pytest

from screening.terms import icd


@pytest.mark.parametrize("code, parsed", [
    ("icd10:G35.A", ("icd10", "G35.A")), ("icd10cm:g35a", ("icd10cm", "G35.A")), ("icd10who:M32.1", ("icd10who", "M32.1")),
    ("icd10:C50911", ("icd10", "C50.911")), ("icd10:I10", ("icd10", "I10")),
    ("snomed:24700007", None), ("icd10:not-a-code", None),
])
def test_split(code, parsed):
    assert icd.split(code) == parsed


@pytest.mark.parametrize("code, footprint, rel", [
    ("G35.A", ("G35",), "in"), ("C50.911", ("C",), "in"), ("I10", ("C", "Z85"), "apart"),
    ("J43", ("J44", "J431", "J439"), "holds"), ("J43.0", ("J44", "J431", "J439"), "apart"),
    ("Z85.3", ("C",), "apart"), ("Z85.3", ("C", "Z85"), "in"),
])
def test_relation_to_a_footprint(code, footprint, rel):
    assert icd.relation(code, footprint) == rel


@pytest.mark.parametrize("code, kind", [
    ("Z85.3", "personal history"), ("icd10:Z86.711", "personal history"), ("Z80.0", "family history"),
    ("Z87.891", "personal history"), ("C50.911", None), ("Z95.0", None),
])
def test_history_codes_are_told_apart(code, kind):
    h = icd.history(code)
    assert (h.kind if h else None) == kind


def test_icd10cm_fy2026_splits_ms_and_who_does_not():
    assert {"G35.A", "G35.B", "G35.C", "G35.D", "G35.B0", "G35.C2"} <= set(icd.descendants("icd10cm", "G35"))
    assert icd.descendants("icd10who", "G35") == ()
    assert icd.description("icd10cm", "G35.A") == "Relapsing-remitting multiple sclerosis"


def test_family_code_reads_either_edition():
    assert icd.is_valid("icd10", "M32.14")  # ICD-10-CM only
    assert icd.description("icd10", "M32.1").startswith("Systemic lupus erythematosus")
    assert icd.is_valid("icd10who", "U07.1") and not icd.is_valid("icd10who", "G35.A")
