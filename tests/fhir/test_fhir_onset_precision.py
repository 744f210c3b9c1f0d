"""Condition.onset[x] and abatement[x] in every form FHIR R4 allows, and recordedDate: an onset known only
to a year of age, a year, a month, a period or a range of ages is an interval, never its first day; a
record function decides only when the whole interval lies on one side of the window's edge, else it is
unknown, naming the interval. recordedDate bounds the onset from above: a condition cannot have begun
after it was recorded."""

from __future__ import annotations

import datetime as dt

import builders as B
import pytest

from screening import Status, compile_text, screen
from screening.sources.fhir import bundle_to_patient

D = dt.date
U = Status.UNKNOWN
EXCLUDED, NOT_EXCLUDED = Status.FAIL, Status.PASS  # exclusions: the rule holding fails the criterion
BIRTH = "1958-03-01"  # age 54 runs from 2012-03-01 to 2013-02-28
STROKE = (B.SNOMED, "230690007", "Stroke")
AGE_54 = {"value": 54, "unit": "years", "system": B.UCUM, "code": "a"}

RULES = """
format: 1
trial: {id: OP, title: onset precision}
concepts:
  stroke: {label: stroke, codes: ['snomed:230690007', 'icd10:I63*'], names: [stroke]}
criteria:
  - {id: began, kind: exclusion, text: "stroke within the prior 12 months",
     rule: "onset_within(stroke, 'P12M')"}
  - {id: episode, kind: exclusion, text: "stroke within the prior 12 months, as an episode",
     rule: "history_of(stroke, 'P12M')"}
  - {id: active, kind: exclusion, text: "an active stroke", rule: "has_condition(stroke)"}
  - {id: a-year-ago, kind: inclusion, text: "stroke at least a year before screening",
     rule: "days_since_onset(stroke) >= 365"}
"""


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "op.yaml")


def mapped(*conditions, birth: str = BIRTH):
    return bundle_to_patient(B.bundle(B.patient(birth=birth), *conditions), "test.json")


def stroke(**fields) -> dict:
    return B.condition("s", STROKE, **fields)


def run(trial, patient, as_of: str, complete=("conditions",)) -> dict:
    return {c.id: c for c in screen(patient, trial, as_of=as_of, complete=list(complete)).criteria}


def notes(patient) -> list[str]:
    return [u.reason for u in patient.unmapped]


# ---------------------------------------------------------------- onsetAge


def test_an_onset_age_is_the_whole_year_of_age_not_its_first_day():
    (c,) = mapped(stroke(onsetAge=AGE_54)).conditions
    assert c.onset is None
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (D(2012, 3, 1), D(2013, 2, 28), "at age 54")


def test_an_onset_age_across_the_window_edge_is_unknown(trial):
    p = mapped(stroke(onsetAge=AGE_54))
    r = run(trial, p, "2013-09-01")  # the window starts on 2012-09-01, inside age 54
    assert r["began"].status is U, r["began"].reason
    assert "onset at age 54 (between 2012-03-01 and 2013-02-28)" in r["began"].reason
    assert "cannot tell if onset within 12 months" in r["began"].reason
    # days since the first onset: between 185 and 549, so 'at least 365' cannot be told
    assert r["a-year-ago"].status is U, r["a-year-ago"].reason
    assert "between 185 and 549 days" in r["a-year-ago"].reason


def test_an_onset_age_wholly_outside_or_inside_the_window_decides(trial):
    p = mapped(stroke(onsetAge=AGE_54))
    r = run(trial, p, "2015-06-01")  # the window starts on 2014-06-01, after age 54 ended
    assert r["began"].status is NOT_EXCLUDED, r["began"].reason
    assert "latest onset no later than 2013-02-28 (Stroke)" in r["began"].reason
    assert r["a-year-ago"].status is Status.PASS
    assert r["a-year-ago"].reason.startswith("stroke first onset between 823 and 1187 days before 2015-06-01")
    r = run(trial, p, "2013-02-28")  # the window (from 2012-02-28) holds the whole year of age
    assert r["began"].status is EXCLUDED, r["began"].reason
    # conditions not declared complete: a stroke of the window may be missing, but this one is not in it
    assert run(trial, p, "2015-06-01", complete=())["began"].status is U


def test_an_onset_age_in_months_and_with_a_comparator():
    infant = {"value": 18, "unit": "months", "system": B.UCUM, "code": "mo"}
    (c,) = mapped(stroke(onsetAge=infant), birth="2020-01-15").conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (D(2021, 7, 15), D(2021, 8, 14), "at age 18 months")
    under_40 = {"value": 40, "comparator": "<", "unit": "years", "system": B.UCUM, "code": "a"}
    (c,) = mapped(stroke(onsetAge=under_40)).conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (None, D(1998, 2, 28), "at age <40")


def test_an_onset_age_that_cannot_be_placed_is_kept_as_text():
    (c,) = mapped(stroke(onsetAge={"value": 3, "unit": "weeks", "system": B.UCUM, "code": "wk"})).conditions
    assert (c.onset, c.onset_earliest, c.onset_latest, c.onset_text) == (None, None, None, "at age 3 wk")
    p = bundle_to_patient(B.bundle({"resourceType": "Patient", "id": "pat-1"}, stroke(onsetAge=AGE_54)))
    (c,) = p.conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (None, None, "at age 54")
    assert "onsetAge 54: no birth date to convert it with: kept without an onset date" in notes(p)


# ---------------------------------------------------------------- onsetDateTime to the year or the month


def test_a_year_or_a_month_is_an_interval_not_a_missing_onset():
    p = mapped(stroke(onsetDateTime="2012"), B.condition("m", STROKE, onsetDateTime="2012-11"))
    assert [(c.onset, c.onset_earliest, c.onset_latest, c.onset_text) for c in p.conditions] == [
        (None, D(2012, 1, 1), D(2012, 12, 31), "in 2012"), (None, D(2012, 11, 1), D(2012, 11, 30), "in 2012-11")]
    assert p.unmapped == []


def test_a_year_only_onset_decides_far_from_the_window_edge_and_not_near_it(trial):
    p = mapped(stroke(onsetDateTime="2012"))
    r = run(trial, p, "2014-03-01")
    assert r["began"].status is NOT_EXCLUDED, r["began"].reason
    r = run(trial, p, "2013-06-01")
    assert r["began"].status is U and "onset in 2012 (between 2012-01-01 and 2012-12-31)" in r["began"].reason
    month = mapped(stroke(onsetDateTime="2012-11"))
    assert run(trial, month, "2013-11-15")["began"].status is U
    assert run(trial, month, "2013-12-01")["began"].status is NOT_EXCLUDED


# ---------------------------------------------------------------- onsetPeriod, onsetRange, onsetString


def test_an_onset_period_is_when_the_onset_happened_not_its_start(trial):
    p = mapped(stroke(onsetPeriod={"start": "2012-03-01", "end": "2012-06-30"}))
    (c,) = p.conditions
    assert (c.onset, c.onset_earliest, c.onset_latest) == (None, D(2012, 3, 1), D(2012, 6, 30))
    assert c.onset_text == "in the period 2012-03-01 to 2012-06-30"
    assert run(trial, p, "2013-04-15")["began"].status is U  # the window starts on 2012-04-15
    assert run(trial, p, "2013-07-01")["began"].status is NOT_EXCLUDED
    assert run(trial, p, "2013-02-01")["began"].status is EXCLUDED


def test_an_open_onset_period_bounds_one_side():
    (c,) = mapped(stroke(onsetPeriod={"start": "2012-03"})).conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (D(2012, 3, 1), None, "in the period from 2012-03")
    (c,) = mapped(stroke(onsetPeriod={"end": "2012"})).conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (None, D(2012, 12, 31), "in the period up to 2012")


def test_an_onset_range_of_ages(trial):
    low, high = ({"value": v, "unit": "years", "system": B.UCUM, "code": "a"} for v in (50, 52))
    p = mapped(stroke(onsetRange={"low": low, "high": high}))
    (c,) = p.conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (D(2008, 3, 1), D(2011, 2, 28), "at age 50 to 52")
    r = run(trial, p, "2013-01-01")
    assert r["began"].status is NOT_EXCLUDED, r["began"].reason
    assert run(trial, p, "2011-06-01")["began"].status is U
    (c,) = mapped(stroke(onsetRange={"low": low})).conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (D(2008, 3, 1), None, "at age 50 or older")


def test_an_onset_string_is_kept_as_text_and_never_placed(trial):
    p = mapped(stroke(onsetString="approximately November 2012"))
    (c,) = p.conditions
    assert (c.onset, c.onset_earliest, c.onset_latest, c.onset_text) == (
        None, None, None, "'approximately November 2012'")
    assert notes(p) == ["onsetString 'approximately November 2012' is not a date: kept as text, without an onset date"]
    r = run(trial, p, "2020-01-01")
    assert r["began"].status is U and "onset 'approximately November 2012' (not a date)" in r["began"].reason


# ---------------------------------------------------------------- recordedDate


def test_a_condition_recorded_before_the_window_began_before_it(trial):
    p = mapped(stroke(recordedDate="2019-05-02T10:00:00+02:00"))
    (c,) = p.conditions
    assert (c.onset, c.onset_earliest, c.onset_latest, c.onset_text) == (
        None, None, D(2019, 5, 2), "not charted, recorded 2019-05-02")
    r = run(trial, p, "2021-06-01")
    assert r["began"].status is NOT_EXCLUDED, r["began"].reason
    assert "onset not charted, recorded 2019-05-02 (on or before 2019-05-02)" in r["began"].reason
    assert run(trial, p, "2021-06-01", complete=())["began"].status is U
    # recorded inside the window: it may have begun before the window or inside it
    assert run(trial, p, "2020-01-01")["began"].status is U


def test_recorded_date_narrows_an_imprecise_onset_never_an_exact_one():
    (c,) = mapped(stroke(onsetAge=AGE_54, recordedDate="2012-06-15")).conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (D(2012, 3, 1), D(2012, 6, 15),
                                                              "at age 54, recorded 2012-06-15")
    (c,) = mapped(stroke(onsetString="in the spring", recordedDate="2012-06")).conditions
    assert (c.onset_earliest, c.onset_latest, c.onset_text) == (None, D(2012, 6, 30),
                                                              "'in the spring', recorded 2012-06")
    p = mapped(stroke(onsetDateTime="2012-02-27", recordedDate="2012-02-20"))  # as HL7's example f003 has it
    (c,) = p.conditions
    assert (c.onset, c.onset_earliest, c.onset_latest) == (D(2012, 2, 27), None, None)
    assert notes(p) == ["onset 2012-02-27 is after recordedDate 2012-02-20: the onset is kept as charted"]
    # recorded before the year of age began: the chart contradicts itself, the age is kept as charted
    p = mapped(stroke(onsetAge=AGE_54, recordedDate="2011-01-01"))
    (c,) = p.conditions
    assert (c.onset_earliest, c.onset_latest) == (D(2012, 3, 1), D(2013, 2, 28))
    assert notes(p) == ["onset at age 54 is after recordedDate 2011-01-01: the onset is kept as charted"]


# ---------------------------------------------------------------- abatement[x]


def test_an_abatement_age_across_the_window_edge_is_unknown(trial):
    p = mapped(stroke(clinical="resolved", onsetDateTime="2010-05-01", abatementAge=AGE_54))
    (c,) = p.conditions
    assert c.abatement is None
    assert (c.abatement_earliest, c.abatement_latest, c.abatement_text) == (D(2012, 3, 1), D(2013, 2, 28),
                                                                            "at age 54")
    r = run(trial, p, "2013-09-01")  # the episode may have ended before 2012-09-01, or after it
    assert r["episode"].status is U, r["episode"].reason
    assert "abated at age 54 (between 2012-03-01 and 2013-02-28)" in r["episode"].reason
    assert run(trial, p, "2014-06-01")["episode"].status is NOT_EXCLUDED
    assert run(trial, p, "2013-01-01")["episode"].status is EXCLUDED  # it ended on 2012-03-01 or later


def test_abatement_as_a_year_a_period_a_range_or_text():
    p = mapped(B.condition("y", STROKE, clinical="resolved", abatementDateTime="2013"),
               B.condition("p", STROKE, clinical="resolved", abatementPeriod={"start": "2013-01-05",
                                                                             "end": "2013-02"}),
               B.condition("r", STROKE, clinical="resolved", abatementRange={"high": AGE_54}),
               B.condition("s", STROKE, clinical=None, abatementString="around April 9, 2013"))
    assert [(c.abatement, c.abatement_earliest, c.abatement_latest, c.abatement_text, c.status)
            for c in p.conditions] == [
        (None, D(2013, 1, 1), D(2013, 12, 31), "in 2013", "resolved"),
        (None, D(2013, 1, 5), D(2013, 2, 28), "in the period 2013-01-05 to 2013-02", "resolved"),
        (None, None, D(2013, 2, 28), "at age 54 or younger", "resolved"),
        (None, None, None, "'around April 9, 2013'", "resolved")]


def test_an_exact_period_of_one_day_is_that_day():
    (c,) = mapped(stroke(onsetPeriod={"start": "2012-03-04", "end": "2012-03-04T18:00:00Z"})).conditions
    assert (c.onset, c.onset_earliest, c.onset_latest) == (D(2012, 3, 4), None, None)


# ---------------------------------------------------------------- when it may have begun after the screening date


def test_an_onset_that_may_lie_after_the_screening_date_is_not_evidence_of_the_condition_on_it(trial):
    p = mapped(stroke(onsetAge=AGE_54))
    r = run(trial, p, "2012-06-01")  # age 54 began on 2012-03-01 and runs past the screening date
    assert r["active"].status is U, r["active"].reason
    assert "onset at age 54 (between 2012-03-01 and 2013-02-28)" in r["active"].reason
    assert r["began"].status is U
    # a whole year of age after the screening date: not seen at all
    r = run(trial, p, "2012-01-01")
    assert r["active"].status is NOT_EXCLUDED and "no record of stroke" in r["active"].reason


def test_a_native_interval_written_as_fhir_reads_back_as_the_same_interval():
    from screening import Patient
    from screening.tools.fhir_export import patient_to_bundle

    p = Patient.model_validate({"id": "pat-1", "birth_date": BIRTH, "conditions": [
        {"code": "snomed:230690007", "name": "Stroke", "onset_earliest": "2012-03-01", "onset_latest": "2013-02-28",
         "onset_text": "at age 54", "status": "resolved", "abatement_latest": "2014-01-31"},
        {"code": "snomed:230690007", "name": "Stroke", "onset_text": "'approximately November 2012'"}]})
    back = bundle_to_patient(patient_to_bundle(p)).conditions
    assert [(c.onset, c.onset_earliest, c.onset_latest, c.abatement_earliest, c.abatement_latest) for c in back] == [
        (None, D(2012, 3, 1), D(2013, 2, 28), None, D(2014, 1, 31)), (None, None, None, None, None)]
    assert back[1].onset_text == "'approximately November 2012'"
