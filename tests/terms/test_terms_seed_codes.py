"""Codes the seed rule files were corrected on, checked against the lupus trial's eligible example."""

from __future__ import annotations

import json
from pathlib import Path

from screening import load_criteria, screen
from screening.model.patient import Patient

ROOT = Path(__file__).resolve().parents[2]


def test_a_prostate_biopsy_is_not_a_renal_biopsy():
    # snomed:65575008 is 'Biopsy of prostate'; the rule files once listed it as the renal biopsy
    trial = load_criteria(ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml")
    p = json.loads((ROOT / "examples" / "Phase-II-Lupus-MSC" / "eligible.json").read_text(encoding="utf-8"))
    (biopsy,) = [r for r in p["procedures"] if r.get("code") == "cpt:50200"]
    date = biopsy["date"]
    p["procedures"] = [{"code": "snomed:65575008", "name": "Biopsy of prostate", "date": date}]
    by_id = {c.id: c for c in screen(Patient.model_validate(p), trial, "2026-11-23").criteria}
    assert by_id["inc-2a"].status.value == "fail"
    p["procedures"] = [{"code": "snomed:48426002", "date": date}]
    by_id = {c.id: c for c in screen(Patient.model_validate(p), trial, "2026-11-23").criteria}
    assert by_id["inc-2a"].status.value == "pass"


def test_a_number_read_by_a_coded_item_is_quoted_with_its_unit():
    # the anti-dsDNA reason once read '... (EliA dsDNA)) 250 on 2026-10-05', dropping IU/mL
    trial = load_criteria(ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml")
    chart = ROOT / "tests" / "adversarial" / "Phase-II-Lupus-MSC" / "anti-dsdna-iu-ml-positive.json"
    p = Patient.model_validate(json.loads(chart.read_text(encoding="utf-8")))
    by_id = {c.id: c for c in screen(p, trial, "2026-11-23").criteria}
    assert "(anti-dsDNA (EliA dsDNA)) 250 IU/mL on 2026-10-05 [Observation/dsdna-q] is not a result" in by_id["inc-1"].reason
