"""Time anchored to other records (days since the first onset, the first start, the last dose, the last
procedure) and counts (distinct drugs of a class, conditions, procedures): exact only when the part of
the record is complete, bounds otherwise, and never a guess."""

from __future__ import annotations

import pytest

from screening import screen
from screening.errors import RuleFileError
from screening.rules.compiler import compile_text

RULES = """
format: 1
trial: {id: EV, title: events}
concepts:
  t2d: {label: type 2 diabetes, codes: ['icd10:E11']}
  metformin: {label: metformin, names: [metformin]}
  chemotherapy: {label: chemotherapy, classes: [chemotherapy]}
  surgery: {label: hysterectomy, names: [hysterectomy]}
criteria:
  - {id: dx180, kind: inclusion, text: "diagnosed at least 180 days ago", rule: "days_since_onset(t2d) >= 180"}
  - {id: met12w, kind: inclusion, text: "on metformin for at least 12 weeks", rule: "days_since_start(metformin) >= 84"}
  - {id: washout, kind: exclusion, text: "within 4 weeks after the last dose of metformin",
     rule: "days_since_stop(metformin) <= 28"}
  - {id: lines, kind: exclusion, text: "more than one prior line of chemotherapy within 5 years",
     rule: "count_drugs(chemotherapy, 'P5Y') >= 2"}
  - {id: surg, kind: exclusion, text: "surgery within 6 weeks", rule: "days_since_procedure(surgery) <= 42"}
"""
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "events.yaml")


def run(trial, complete=None, **parts):
    result = screen({"id": "p", "birth_date": "1960-01-01", "sex": "female", **parts}, trial, as_of=AS_OF,
                    complete=complete)
    return {c.id: c for c in result.criteria}


T2D = {"code": "icd10:E11.9", "name": "Type 2 diabetes mellitus", "onset": "2026-03-01"}  # 267 days before


def test_days_since_onset(trial):
    r = run(trial, conditions=[T2D])
    assert r["dx180"].status == "pass"  # at least 267 days: an older record can only make it longer
    assert "at least 267 days" in r["dx180"].reason
    r = run(trial, conditions=[{**T2D, "onset": "2026-09-01"}])  # 83 days, and an older diagnosis may exist
    assert r["dx180"].status == "unknown"
    r = run(trial, complete=["conditions"], conditions=[{**T2D, "onset": "2026-09-01"}])
    assert r["dx180"].status == "fail" and "83 days" in r["dx180"].reason
    # the earliest of several records decides
    r = run(trial, complete=["conditions"], conditions=[{**T2D, "onset": "2026-09-01"}, {**T2D, "onset": "2024-01-01"}])
    assert r["dx180"].status == "pass"
    # no onset date: cannot tell how long ago
    r = run(trial, complete=["conditions"], conditions=[{"code": "icd10:E11.9"}])
    assert r["dx180"].status == "unknown"
    # no record: unknown, or with conditions complete, not diagnosed at all (fail)
    assert run(trial)["dx180"].status == "unknown"
    r = run(trial, complete=["conditions"])
    assert r["dx180"].status == "fail" and "no record of type 2 diabetes" in r["dx180"].reason
    # a provisional diagnosis is not evidence
    r = run(trial, complete=["conditions"], conditions=[{**T2D, "verification": "provisional"}])
    assert r["dx180"].status == "unknown"


def test_last_dose_washout(trial):
    stopped = {"name": "metformin 500 mg tablet", "start": "2024-01-01", "stop": "2026-11-10", "status": "stopped"}
    r = run(trial, medications=[stopped])
    assert r["washout"].status == "fail"  # excluded: at most 13 days since the last dose
    assert "13 days" in r["washout"].reason
    older = {**stopped, "stop": "2026-09-01"}  # 83 days; a later dose may be missing from the chart
    assert run(trial, medications=[older])["washout"].status == "unknown"
    r = run(trial, complete=["medications"], medications=[older])
    assert r["washout"].status == "pass" and "83 days" in r["washout"].reason
    # still taking it: 0 days
    r = run(trial, complete=["medications"], medications=[{"name": "metformin", "start": "2025-01-01"}])
    assert r["washout"].status == "fail"
    assert r["met12w"].status == "pass"
    # never took it (medications complete): the exclusion does not hold
    assert run(trial, complete=["medications"])["washout"].status == "pass"
    # a drug the vocabulary cannot place keeps "never took it" open
    r = run(trial, complete=["medications"], medications=[{"name": "XYZ-123 50 mg", "start": "2026-10-01"}])
    assert r["washout"].status == "unknown" and r["washout"].unrecognised


def test_prior_lines_count_distinct_drugs(trial):
    meds = [{"name": "carboplatin", "start": "2024-01-01", "stop": "2024-05-01", "status": "completed"},
            {"name": "Paraplatin 450 mg", "start": "2025-01-01", "stop": "2025-02-01", "status": "completed"}]
    r = run(trial, complete=["medications"], medications=meds)
    assert r["lines"].status == "pass"  # carboplatin twice (Paraplatin is a brand of it): one drug
    assert "1 distinct drugs" in r["lines"].reason
    meds.append({"name": "paclitaxel 175 mg/m2", "start": "2024-01-01", "stop": "2024-05-01", "status": "completed"})
    r = run(trial, medications=meds)
    assert r["lines"].status == "fail" and "at least 2 distinct drugs" in r["lines"].reason
    # outside the 5-year window: not counted
    old = [{**m, "start": "2015-01-01", "stop": "2015-03-01"} for m in meds]
    assert run(trial, complete=["medications"], medications=old)["lines"].status == "pass"
    # one drug known, the part not complete: could be more
    assert run(trial, medications=meds[:1])["lines"].status == "unknown"


def test_days_since_procedure(trial):
    r = run(trial, procedures=[{"name": "Total abdominal hysterectomy", "date": "2026-11-01"}])
    assert r["surg"].status == "fail" and "22 days" in r["surg"].reason


@pytest.mark.parametrize("rule, message", [
    ("days_since_onset(hba1c) >= 1", "days_since_onset(): data type mismatch (argument #1)"),
    ("days_since_onset(nothing) >= 1", "unknown name"),
    ("count_drugs(chemotherapy, 'P5') >= 2", "invalid duration"),
    ("days_since_onset(t2d) >= '180'", "is a number"),
])
def test_check_rejects(rule, message):
    text = RULES.replace("criteria:\n", "data:\n  hba1c: {codes: ['loinc:4548-4'], unit: '%'}\ncriteria:\n") + \
        f"  - {{id: bad, kind: inclusion, text: x, rule: \"{rule}\"}}\n"
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "bad.yaml")
    assert message in str(err.value)
