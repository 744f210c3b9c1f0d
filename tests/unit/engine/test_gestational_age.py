"""Gestational age on the screening date: a recorded gestational age plus the days since it was
recorded, or 280 days less the days until the estimated due date (LOINC 11778-8)."""

from __future__ import annotations

import pytest

from screening import screen
from screening.errors import RuleFileError
from screening.rules.compiler import compile_text
from screening.sql.plan import plan_trials

RULES = """
format: 1
trial: {id: GA, title: gestational age}
data:
  gestational_age:
    label: gestational age
    codes: ['loinc:11884-4', 'loinc:49051-6', 'loinc:18185-9']
    unit: wk
    window: P9M
    running: true
    due_date: ['loinc:11778-8']
    range: [0, 45]
criteria:
  - {id: early, kind: inclusion, text: "before 14 weeks of gestation", rule: gestational_age < 14}
"""
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "ga.yaml")


def run(trial, *obs):
    return screen({"id": "p", "sex": "female", "observations": list(obs)}, trial, as_of=AS_OF).criteria[0]


def test_recorded_gestational_age_grows_with_time(trial):
    ga = {"code": "loinc:49051-6", "value": 12, "unit": "wk", "date": "2026-11-16"}  # 12 wk + 7 days = 13 wk
    r = run(trial, ga)
    assert r.status.value == "pass" and "7 days since (= 13 wk)" in r.reason
    r = run(trial, {**ga, "date": "2026-11-09"})  # 12 wk + 14 days = 14 wk: not before 14 weeks
    assert r.status.value == "fail"
    r = run(trial, {**ga, "value": 85, "unit": "d", "date": "2026-11-16"})  # 85 + 7 = 92 days = 13.1 wk
    assert r.status.value == "pass"


def test_from_the_estimated_due_date(trial):
    # 2027-05-20 is 178 days after 2026-11-23: 280 - 178 = 102 days = 14.6 weeks
    r = run(trial, {"code": "loinc:11778-8", "value": "2027-05-20", "date": "2026-11-01"})
    assert r.status.value == "fail" and "14.6 wk" in r.reason and "178 days until" in r.reason
    r = run(trial, {"code": "loinc:11778-8", "value": "2027-06-10", "date": "2026-11-01"})  # 199 days: 81 days
    assert r.status.value == "pass"
    # the newer record wins: a recorded gestational age after the due date was set
    r = run(trial, {"code": "loinc:11778-8", "value": "2027-05-20", "date": "2026-10-01"},
            {"code": "loinc:49051-6", "value": 11, "unit": "wk", "date": "2026-11-20"})
    assert r.status.value == "pass"


def test_unknown_without_a_record_or_with_a_bad_date(trial):
    assert run(trial).status.value == "unknown"
    r = run(trial, {"code": "loinc:11778-8", "value": "next spring", "date": "2026-11-01"})
    assert r.status.value == "unknown" and "is not a date" in r.reason
    r = run(trial, {"code": "loinc:11778-8", "value": "2028-05-20", "date": "2026-11-01"})  # a year away: implausible
    assert r.status.value == "unknown" and "plausible" in r.reason


def test_sql_leaves_it_to_the_python_path(trial):
    assert [c for _, c, _ in plan_trials([trial]).untranslated] == ["early"]


@pytest.mark.parametrize("item, message", [
    ("{codes: ['loinc:49051-6'], unit: kg, running: true}", "unit of time"),
    ("{codes: ['loinc:49051-6'], unit: wk, due_date: ['loinc:11778-8']}", "must be running"),
    ("{codes: ['loinc:49051-6'], unit: wk, running: true, pick: max}", "latest value"),
])
def test_check_rejects(item, message):
    text = RULES.replace("criteria:", f"  bad: {item}\ncriteria:")
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "bad.yaml")
    assert message in str(err.value)
