"""Values measured apart in time ("two fasting glucose >= 126 mg/dL at least 4 weeks apart", "positive on
two occasions at least 12 weeks apart") and days between two records ("chemotherapy started after the
diagnosis", "surgery within 12 weeks after the diagnosis"): decided only where every reading agrees."""

from __future__ import annotations

import pytest

from screening import screen
from screening.errors import RuleFileError
from screening.rules.compiler import compile_text

RULES = """
format: 1
trial: {id: SB, title: spaced and between}
concepts:
  breast_cancer: {label: breast cancer, codes: ['icd10:C50']}
  chemotherapy: {label: chemotherapy, classes: [chemotherapy]}
  surgery: {label: mastectomy, names: [mastectomy]}
data:
  fasting_glucose: {label: fasting glucose, codes: ['loinc:1558-6'], unit: mg/dL, molar_mass: 180.16 g/mol}
  lupus_anticoagulant: {label: lupus anticoagulant, type: coded, codes: ['loinc:3284-9']}
  acl_igg: {label: anticardiolipin IgG, type: titer, codes: ['loinc:3181-4'], window: P2Y}
  glucose_mmol: {label: glucose in mmol/L, unit: mmol/L, derive: {formula: fasting_glucose / '18.016 mg/dL' * '1 mmol/L'}}
criteria:
  - {id: dm, kind: inclusion, text: "two fasting glucose >= 126 mg/dL at least 4 weeks apart within a year",
     rule: "count_apart(fasting_glucose >= 126, 'P4W', 'P1Y') >= 2"}
  - {id: aps, kind: inclusion, text: "lupus anticoagulant positive on 2 occasions at least 12 weeks apart",
     rule: "count_apart(lupus_anticoagulant == 'positive', 'P12W') >= 2"}
  - {id: acl, kind: inclusion, text: "anticardiolipin at least 1:40 twice, 12 weeks apart",
     rule: "count_apart(acl_igg >= '1:40', 'P12W') >= 2"}
  - {id: once, kind: exclusion, text: "fewer than two glucose values apart (a rule that can never be sure)",
     rule: "count_apart(fasting_glucose >= 126, 'P4W') < 2"}
  - {id: after, kind: inclusion, text: "chemotherapy started after the diagnosis of this cancer",
     rule: "days_between(onset_of(breast_cancer), start_of(chemotherapy)) >= 0"}
  - {id: surg12, kind: inclusion, text: "surgery within 12 weeks after diagnosis",
     rule: "days_between(onset_of(breast_cancer), procedure_of(surgery)) >= 0 and
            days_between(onset_of(breast_cancer), procedure_of(surgery)) <= 84"}
"""
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "spaced.yaml")


def run(trial, complete=None, **parts):
    result = screen({"id": "p", "birth_date": "1960-01-01", "sex": "female", **parts}, trial, as_of=AS_OF,
                    complete=complete)
    return {c.id: c for c in result.criteria}


def glucose(value, unit, day):
    return {"code": "loinc:1558-6", "name": "Glucose fasting", "value": value, "unit": unit, "date": day}


def la(value, day):
    return {"code": "loinc:3284-9", "name": "Lupus anticoagulant", "value": value, "date": day}


def test_two_values_at_least_four_weeks_apart(trial):
    # 130 mg/dL, then 7.5 mmol/L (135 mg/dL) 45 days later: two values, converted through glucose's molar mass
    r = run(trial, observations=[glucose(130, "mg/dL", "2026-03-01"), glucose(7.5, "mmol/L", "2026-04-15")])
    assert r["dm"].status == "pass", r["dm"].reason
    assert "at least 2 values at least 4 weeks apart" in r["dm"].reason
    assert "2026-03-01" in r["dm"].reason and "2026-04-15" in r["dm"].reason
    assert "135" in r["dm"].reason  # the converted value is shown
    # 14 days apart: one counted, the other too close; more results may exist: unknown, never fail
    r = run(trial, observations=[glucose(130, "mg/dL", "2026-03-01"), glucose(140, "mg/dL", "2026-03-15")])
    assert r["dm"].status == "unknown"
    assert "at least 1 value " in r["dm"].reason and "less than 4 weeks after a counted one" in r["dm"].reason
    assert r["dm"].missing == ["fasting_glucose"]
    # 28 days apart is at least 4 weeks
    r = run(trial, observations=[glucose(130, "mg/dL", "2026-03-01"), glucose(130, "mg/dL", "2026-03-29")])
    assert r["dm"].status == "pass"
    # a value below the threshold does not count; one outside the 1-year window neither
    r = run(trial, observations=[glucose(110, "mg/dL", "2026-03-01"), glucose(130, "mg/dL", "2026-06-01"),
                                 glucose(150, "mg/dL", "2025-06-01")])
    assert r["dm"].status == "unknown" and "at least 1 value " in r["dm"].reason


def test_bounds_unreadable_and_same_day_disagreement_are_not_counted(trial):
    base = glucose(130, "mg/dL", "2026-03-01")
    for other in (glucose(">120", "mg/dL", "2026-05-01"),  # straddles 126
                  glucose("hemolysed", None, "2026-05-01"),  # not a number
                  glucose(20, "g", "2026-05-01")):  # a unit that does not convert
        r = run(trial, observations=[base, other])
        assert r["dm"].status == "unknown", other
        assert "cannot tell" in r["dm"].reason
    # a bound entirely above the threshold counts
    assert run(trial, observations=[base, glucose(">200", "mg/dL", "2026-05-01")])["dm"].status == "pass"
    # two values on one day that disagree about the threshold: that day is not counted
    r = run(trial, observations=[base, glucose(130, "mg/dL", "2026-05-01"), glucose(110, "mg/dL", "2026-05-01")])
    assert r["dm"].status == "unknown"


def test_greedy_spacing_finds_the_most_values(trial):
    # positives on days 0, 50 and 100: 0 and 50 are too close, but 0 and 100 are 12 weeks apart
    obs = [la("positive", "2026-01-05"), la("Detected", "2026-02-24"), la("positive", "2026-04-15")]
    r = run(trial, observations=obs)
    assert r["aps"].status == "pass", r["aps"].reason
    assert "2026-01-05" in r["aps"].reason and "2026-04-15" in r["aps"].reason
    # 77 days (11 weeks) apart is not enough
    r = run(trial, observations=[la("positive", "2026-01-05"), la("positive", "2026-03-23")])
    assert r["aps"].status == "unknown"
    # an unreadable result ('equivocal') is neither positive nor negative
    r = run(trial, observations=[la("positive", "2026-01-05"), la("equivocal", "2026-06-01")])
    assert r["aps"].status == "unknown" and "equivocal" in r["aps"].reason
    # the item's own 2-year window applies when the rule gives none; titers compare by dilution
    acl = [{"code": "loinc:3181-4", "name": "aCL IgG", "value": v, "date": d}
           for v, d in (("1:80", "2024-01-01"), ("1:40", "2025-03-01"), ("1:160", "2025-07-01"))]
    r = run(trial, observations=acl)
    assert r["acl"].status == "pass" and "2024-01-01" not in r["acl"].reason


def test_fewer_than_n_is_never_decided(trial):
    # observations are never known complete: "fewer than 2" cannot pass or fail on what is on record
    assert run(trial, observations=[glucose(130, "mg/dL", "2026-03-01")])["once"].status == "unknown"
    assert run(trial)["once"].status == "unknown"
    two = [glucose(130, "mg/dL", "2026-03-01"), glucose(130, "mg/dL", "2026-05-01")]
    assert run(trial, observations=two)["once"].status == "pass"  # the exclusion does not hold: 2 on record


CANCER = {"code": "icd10:C50.9", "name": "Breast cancer", "onset": "2026-01-10"}
CARBO = {"name": "carboplatin", "start": "2026-02-01", "stop": "2026-06-01", "status": "completed"}


def test_chemotherapy_started_after_the_diagnosis(trial):
    both = ["conditions", "medications"]
    r = run(trial, complete=both, conditions=[CANCER], medications=[CARBO])
    assert r["after"].status == "pass", r["after"].reason
    assert "22 days after" in r["after"].reason and "2026-01-10" in r["after"].reason
    # started before the diagnosis
    r = run(trial, complete=both, conditions=[CANCER], medications=[{**CARBO, "start": "2025-12-01"}])
    assert r["after"].status == "fail" and "40 days before" in r["after"].reason
    # the parts not declared complete: an earlier chemotherapy may be missing from the chart
    r = run(trial, conditions=[CANCER], medications=[CARBO])
    assert r["after"].status == "unknown"
    assert set(r["after"].missing) >= {"chemotherapy"}
    # medications complete is enough: an earlier diagnosis only makes 'after' truer
    assert run(trial, complete=["medications"], conditions=[CANCER], medications=[CARBO])["after"].status == "pass"
    # no start date, no onset date: unknown
    undated = {k: v for k, v in CARBO.items() if k != "start"}
    assert run(trial, complete=both, conditions=[CANCER], medications=[undated])["after"].status == "unknown"
    no_onset = {k: v for k, v in CANCER.items() if k != "onset"}
    assert run(trial, complete=both, conditions=[no_onset], medications=[CARBO])["after"].status == "unknown"
    # no chemotherapy at all (medications complete): it did not start after the diagnosis
    r = run(trial, complete=both, conditions=[CANCER])
    assert r["after"].status == "fail" and "no record of chemotherapy" in r["after"].reason
    # no record at all, nothing complete: unknown
    assert run(trial)["after"].status == "unknown"


def test_surgery_within_12_weeks_after_diagnosis(trial):
    both = ["conditions", "procedures"]
    mastectomy = {"name": "Left mastectomy", "date": "2026-03-20"}  # 69 days after
    r = run(trial, complete=both, conditions=[CANCER], procedures=[mastectomy])
    assert r["surg12"].status == "pass", r["surg12"].reason
    assert "69 days after" in r["surg12"].reason
    r = run(trial, complete=both, conditions=[CANCER], procedures=[{**mastectomy, "date": "2026-05-01"}])
    assert r["surg12"].status == "fail" and "111 days after" in r["surg12"].reason


@pytest.mark.parametrize("rule, message", [
    ("count_apart(fasting_glucose, 'P4W') >= 2", "(write count_apart(fasting_glucose >= 126, 'P4W')"),
    ("count_apart(fasting_glucose >= 126, 'P4') >= 2", "invalid duration"),
    ("count_apart(fasting_glucose >= '1:40', 'P4W') >= 2", "fasting_glucose is a number"),
    ("count_apart(lupus_anticoagulant == 'maybe', 'P4W') >= 'x'", "count_apart is a number"),
    ("count_apart(change(fasting_glucose, 'P1Y') >= 1, 'P4W') >= 2", "not a computed value"),
    ("count_apart(breast_cancer == 'x', 'P4W') >= 2", "is a concept set, not a value"),
    ("days_between(breast_cancer, chemotherapy) >= 0", "data type mismatch"),
    ("days_between(onset_of(breast_cancer), fasting_glucose) >= 0", "data type mismatch"),
    ("days_between(onset_of(fasting_glucose), start_of(chemotherapy)) >= 0", "onset_of(): data type mismatch"),
    ("days_between(onset_of(breast_cancer), start_of(chemotherapy)) >= '1'", "days_between is a number"),
    ("count_apart(glucose_mmol >= 7, 'P4W') >= 2", "'glucose_mmol' is computed (derive)"),
    ("onset_of(breast_cancer) >= 0", "onset_of() is a day, not a number"),
])
def test_check_rejects_with_a_place(rule, message):
    text = RULES + f"  - {{id: bad, kind: inclusion, text: x, rule: \"{rule}\"}}\n"
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "bad.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith(f"bad.yaml:{RULES.count(chr(10)) + 1}:")  # the line of the bad criterion


def test_reads_and_coverage(trial):
    from screening.report.coverage import coverage

    by_id = {cc.criterion.id: cc for cc in trial.criteria}
    assert by_id["after"].items == ("breast_cancer", "chemotherapy")
    assert by_id["dm"].items == ("fasting_glucose",)
    cov = coverage(trial)
    assert {"breast_cancer", "chemotherapy", "surgery"} <= set(cov.concept_sets)
    assert {"conditions", "medications", "procedures", "observations"} <= set(cov.record_parts)
