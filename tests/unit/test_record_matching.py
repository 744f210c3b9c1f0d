"""Which records a screen sees and which records a concept set or a confirmation finds:
planned procedures dated after the screening date, ICD-10 / ATC class prefixes, and
trial-qualified confirmation facts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from engine_helpers import AS_OF, criterion, make_trial, run

from screening import load_criteria, load_patient, screen

ROOT = Path(__file__).resolve().parents[2]


def _seed(trial: str, example: str, **more: list) -> tuple:
    patient = load_patient(ROOT / "examples" / trial / example).model_dump(mode="json")
    for category, records in more.items():
        patient[category] = patient[category] + records
    return load_criteria(ROOT / "criteria" / f"{trial}.yaml"), patient


# ---------------------------------------------------------------- planned procedures

def test_surgery_planned_after_the_screening_date_excludes():
    trial, patient = _seed("Phase-II-Lupus-MSC", "eligible.json", procedures=[
        {"code": "snomed:387713003", "name": "surgery", "status": "planned", "date": "2026-12-05"}])
    result = screen(patient, trial, AS_OF)
    exc = next(c for c in result.criteria if c.id == "exc-4f")
    assert (exc.status.value, exc.met) == ("fail", True)
    assert "surgery on 2026-12-05 (planned)" in exc.reason
    assert result.verdict.value == "ineligible"


def test_ecmo_planned_after_the_screening_date_excludes():
    trial, patient = _seed("NCT04348461", "eligible.json", procedures=[
        {"name": "ECMO", "status": "planned", "date": "2026-11-25", "source": "ServiceRequest/ecmo"}])
    result = screen(patient, trial, AS_OF)
    exc = next(c for c in result.criteria if c.id == "exc-4a")
    assert (exc.status.value, exc.met) == ("fail", True)
    assert "ECMO on 2026-11-25 (planned) [ServiceRequest/ecmo]" in exc.reason


def test_done_procedures_after_the_screening_date_stay_invisible():
    # Only plans are seen ahead of time: a completed (or any other) record dated after the
    # screening date is still not seen, so a screen gives the same answer on a later day.
    trial = criterion("had_procedure(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "date": "2026-11-24"}]}, complete=["procedures"])
    assert c.status.value == "fail"
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "date": "2026-11-24"}]},
               as_of=date(2026, 11, 24), complete=["procedures"])
    assert c.status.value == "pass"


def test_a_later_plan_does_not_count_as_done():
    trial = criterion("had_procedure(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "status": "planned", "date": "2026-12-01"}]},
               complete=["procedures"])
    assert c.status.value == "fail"
    trial = criterion("procedure_planned(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "status": "planned", "date": "2026-12-01"}]})
    assert c.status.value == "pass"


# ---------------------------------------------------------------- confirmation facts

CONSENT = make_trial("""
- id: inc-consent
  kind: inclusion
  text: Patients who give written consent to participate in the study.
  confirm: written informed consent is collected by the site
""")


@pytest.mark.parametrize("facts", [
    [{"code": "TEST-ENGINE/inc-consent", "value": False}, {"code": "inc-consent", "value": True}],
    [{"code": "inc-consent", "value": True}, {"code": "TEST-ENGINE/inc-consent", "value": False}],
    # the bare fact is later, but it may be another trial's criterion of the same id
    [{"code": "TEST-ENGINE/inc-consent", "value": False, "date": "2026-11-01"},
     {"code": "inc-consent", "value": True, "date": "2026-11-20"}],
])
def test_trial_qualified_confirmation_beats_a_bare_one(facts):
    c, result = run(CONSENT, {"facts": facts})
    assert c.status.value == "fail"
    assert result.verdict.value == "ineligible"
    assert [e.record for e in c.evidence] == ["TEST-ENGINE/inc-consent"]


def test_bare_confirmation_counts_when_no_qualified_one():
    c, _ = run(CONSENT, {"facts": [{"code": "inc-consent", "value": True},
                                   {"code": "OTHER-TRIAL/inc-consent", "value": False}]})
    assert c.status.value == "pass"


def test_qualified_confirmations_latest_wins():
    c, _ = run(CONSENT, {"facts": [{"code": "TEST-ENGINE/inc-consent", "value": True, "date": "2026-11-20"},
                                   {"code": "TEST-ENGINE/inc-consent", "value": False, "date": "2026-11-01"}]})
    assert c.status.value == "pass"
