"""A native condition whose onset or abatement is known only to an interval (onset_earliest / onset_latest,
abatement_earliest / abatement_latest, with the chart's words in onset_text / abatement_text): every record
function that reads the onset decides only when the whole interval lies on one side of the window's edge."""

from __future__ import annotations

import datetime as dt

import jsonschema
import pytest
from pydantic import ValidationError

from screening import Patient, Status, compile_text, screen

U = Status.UNKNOWN
EXCLUDED, NOT_EXCLUDED = Status.FAIL, Status.PASS
RULES = """
format: 1
trial: {id: NP, title: native onset precision}
concepts:
  mi: {label: myocardial infarction, codes: ['icd10:I21*'], names: [myocardial infarction]}
  pe: {label: pulmonary embolism, codes: ['icd10:I26*', 'icd10:Z86.711'], names: [pulmonary embolism]}
  anticoagulant: {label: anticoagulant, names: [apixaban]}
criteria:
  - {id: began, kind: exclusion, text: "myocardial infarction within the prior 12 months",
     rule: "onset_within(mi, 'P12M')"}
  - {id: episode, kind: exclusion, text: "myocardial infarction within 12 months (episode)",
     rule: "history_of(mi, 'P12M')"}
  - {id: old-enough, kind: inclusion, text: "first infarction at least 1000 days ago",
     rule: "days_since_onset(mi) >= 1000"}
  - {id: pe-recent, kind: exclusion, text: "pulmonary embolism within 6 months", rule: "onset_within(pe, 'P6M')"}
  - {id: treated-after, kind: inclusion, text: "anticoagulant started after the embolism",
     rule: "days_between(onset_of(pe), start_of(anticoagulant)) >= 0"}
"""
MI_AT_54 = {"code": "icd10:I21.9", "name": "Acute myocardial infarction", "onset_earliest": "2012-03-01",
            "onset_latest": "2013-02-28", "onset_text": "at age 54", "status": "resolved", "source": "Condition/mi"}


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "np.yaml")


def run(trial, conditions, as_of, complete=("conditions", "medications"), medications=()):
    p = {"id": "p", "birth_date": "1958-03-01", "conditions": conditions, "medications": list(medications)}
    return {c.id: c for c in screen(p, trial, as_of=as_of, complete=list(complete)).criteria}


def test_the_profile_carries_an_interval_onset_and_refuses_two_readings():
    c = Patient.model_validate({"id": "p", "conditions": [MI_AT_54]}).conditions[0]
    assert (c.onset, c.onset_earliest, c.onset_latest, c.onset_text) == (
        None, dt.date(2012, 3, 1), dt.date(2013, 2, 28), "at age 54")
    with pytest.raises(ValidationError, match="either the day 'onset' or the bounds"):
        Patient.model_validate({"id": "p", "conditions": [{**MI_AT_54, "onset": "2012-05-01"}]})
    with pytest.raises(ValidationError, match="'onset_earliest' 2013-03-01 is after 'onset_latest' 2013-02-28"):
        Patient.model_validate({"id": "p", "conditions": [{**MI_AT_54, "onset_earliest": "2013-03-01"}]})
    with pytest.raises(ValidationError, match="either the day 'abatement' or the bounds"):
        Patient.model_validate({"id": "p", "conditions": [{**MI_AT_54, "abatement": "2014-01-01",
                                                           "abatement_latest": "2014-02-01"}]})


def test_the_patient_schema_has_the_bounds():
    schema = Patient.model_json_schema()
    fields = schema["$defs"]["Condition"]["properties"]
    assert {"onset_earliest", "onset_latest", "onset_text", "abatement_earliest", "abatement_latest",
            "abatement_text"} <= set(fields)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        {"id": "p", "conditions": [MI_AT_54]})


@pytest.mark.parametrize("as_of, expected", [
    ("2013-09-01", U),               # the window starts on 2012-09-01, inside the year of age
    ("2014-02-28", U),               # ... on 2013-02-28, its last day
    ("2014-03-01", NOT_EXCLUDED),    # ... on 2013-03-01, after it
    ("2013-02-28", EXCLUDED),        # ... on 2012-02-28: the whole year lies in the window
    ("2012-06-01", U),               # the year of age runs past the screening date
])
def test_onset_within_decides_only_when_the_whole_interval_is_on_one_side(trial, as_of, expected):
    r = run(trial, [MI_AT_54], as_of)
    assert r["began"].status is expected, r["began"].reason
    if expected is U:
        assert "onset at age 54 (between 2012-03-01 and 2013-02-28)" in r["began"].reason


def test_history_of_with_a_window_reads_the_interval_too(trial):
    ended = {**MI_AT_54, "abatement_earliest": "2013-01-01", "abatement_latest": "2013-12-31",
             "abatement_text": "in 2013"}
    r = run(trial, [ended], "2014-06-01")  # from 2013-06-01: it may have ended before, or after
    assert r["episode"].status is U, r["episode"].reason
    assert "abated in 2013 (between 2013-01-01 and 2013-12-31)" in r["episode"].reason
    assert run(trial, [ended], "2015-01-01")["episode"].status is NOT_EXCLUDED
    assert run(trial, [ended], "2013-11-01")["episode"].status is EXCLUDED


def test_the_earliest_onset_never_takes_the_optimistic_bound(trial):
    exact = {"code": "icd10:I21.4", "name": "NSTEMI", "onset": "2013-01-01", "status": "resolved"}
    # the first onset is the exact one (699 days before) or the interval's (641 to 1005 days before),
    # whichever is earlier: at least 699 days, at most 1005; never the interval's latest day alone
    r = run(trial, [exact, MI_AT_54], "2014-12-01")
    assert r["old-enough"].status is U, r["old-enough"].reason
    assert "between 699 and 1005 days" in r["old-enough"].reason
    assert run(trial, [exact, MI_AT_54], "2016-01-01")["old-enough"].status is Status.PASS
    assert run(trial, [exact, MI_AT_54], "2015-01-01")["old-enough"].status is U


def test_days_between_an_interval_onset_and_a_start(trial):
    pe = {"code": "icd10:I26.99", "name": "Pulmonary embolism", "onset_earliest": "2026-03-01",
          "onset_latest": "2026-03-31", "onset_text": "in 2026-03", "status": "active"}
    started = [{"name": "apixaban", "start": "2026-03-15", "status": "active"}]
    r = run(trial, [pe], "2026-11-23", medications=started)
    assert r["treated-after"].status is U, r["treated-after"].reason
    r = run(trial, [pe], "2026-11-23", medications=[{**started[0], "start": "2026-04-02"}])
    assert r["treated-after"].status is Status.PASS, r["treated-after"].reason


def test_a_personal_history_dated_by_an_interval(trial):
    hist = {"code": "icd10:Z86.711", "name": "Personal history of pulmonary embolism",
            "onset_latest": "2025-12-31", "onset_text": "not charted, recorded 2025-12-31"}
    assert run(trial, [hist], "2026-11-23")["pe-recent"].status is NOT_EXCLUDED  # charted before the 6 months
    r = run(trial, [{**hist, "onset_latest": "2026-09-01"}], "2026-11-23")
    assert r["pe-recent"].status is U and "personal history" in r["pe-recent"].reason


def test_exact_and_undated_onsets_read_as_before(trial):
    exact = {**{k: v for k, v in MI_AT_54.items() if not k.startswith("onset_")}, "onset": "2012-03-01"}
    assert run(trial, [exact], "2013-02-28")["began"].status is EXCLUDED
    assert run(trial, [exact], "2013-03-02")["began"].status is NOT_EXCLUDED
    undated = {k: v for k, v in exact.items() if k != "onset"}
    r = run(trial, [undated], "2013-03-02")
    assert r["began"].status is U and "(no onset date)" in r["began"].reason


# ---------------------------------------------------------------- soundness: an interval never decides a guess

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY_RULES = """
format: 1
trial: {id: PR, title: interval soundness}
concepts:
  mi: {label: myocardial infarction, codes: ['icd10:I21*']}
criteria:
  - {id: began-1m, kind: inclusion, text: "began within a month", rule: "onset_within(mi, 'P1M')"}
  - {id: began-12m, kind: inclusion, text: "began within 12 months", rule: "onset_within(mi, 'P12M')"}
  - {id: episode-6m, kind: inclusion, text: "episode within 6 months", rule: "history_of(mi, 'P6M')"}
  - {id: ever, kind: inclusion, text: "ever", rule: "history_of(mi)"}
  - {id: active, kind: inclusion, text: "active", rule: "has_condition(mi)"}
  - {id: old, kind: inclusion, text: "first onset at least 400 days ago", rule: "days_since_onset(mi) >= 400"}
"""
_AS_OF = dt.date(2026, 11, 23)
_days = st.integers(-900, 200).map(lambda n: _AS_OF + dt.timedelta(days=n))


@pytest.fixture(scope="module")
def property_trial():
    return compile_text(PROPERTY_RULES, "pr.yaml")


def _statuses(trial, condition: dict, complete) -> dict:
    p = {"id": "p", "conditions": [{"code": "icd10:I21.9", **condition}]}
    return {c.id: c.status for c in screen(p, trial, as_of=_AS_OF, complete=complete).criteria}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=_days, b=_days, pick=st.floats(0, 1), status=st.sampled_from(["active", "resolved"]),
       other=st.one_of(st.none(), _days), complete=st.sampled_from([(), ("conditions",)]),
       which=st.sampled_from(["onset", "abatement"]), open_below=st.booleans())
def test_a_decided_interval_agrees_with_every_day_in_it(property_trial, a, b, pick, status, other, complete, which,
                                                        open_below):
    """Whatever an interval decides, every exact day inside it decides the same: the interval never guesses."""
    lo, hi = min(a, b), max(a, b)
    base = {"status": status}
    if which == "abatement":  # an exact onset (or none) and an abatement known to an interval
        if other is not None:
            base["onset"] = str(min(other, lo))
        base["status"] = "resolved"
    elif other is not None:
        base["abatement"] = str(max(other, hi))
        base["status"] = "resolved"
    interval = {**base, f"{which}_latest": str(hi)}
    if not open_below:
        interval[f"{which}_earliest"] = str(lo)
    decided = {k: v for k, v in _statuses(property_trial, interval, complete).items() if v is not U}
    first = lo if not open_below else lo - dt.timedelta(days=400)
    days = {first, hi, first + (hi - first) * pick}
    for day in days:
        exact = _statuses(property_trial, {**base, which: str(day)}, complete)
        assert {k: exact[k] for k in decided} == decided, (day, interval)
