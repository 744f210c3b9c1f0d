"""onset_within(set, window): did an event of the set BEGIN within the window? An acute event (myocardial
infarction, stroke, pulmonary embolism) is dated by its onset; a record still charted active years later
is not an event within the window, and one resolved since still happened inside it. Never a guess: an
undated record, a part of the record not declared complete, or a record of a complete part the
vocabularies cannot place keeps it unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening import Status, compile_text, load_criteria, screen
from screening.errors import RuleFileError

U = Status.UNKNOWN
# exclusions: the rule holding fails the criterion (excluded), the rule false passes it (not excluded)
EXCLUDED, NOT_EXCLUDED = Status.FAIL, Status.PASS
RULES = """
format: 1
trial: {id: ON, title: onset within}
concepts:
  acs_mi_stroke:
    label: acute coronary syndrome, myocardial infarction or stroke
    codes: ['icd10:I21*', 'icd10:I63*', 'snomed:22298006', 'snomed:230690007']
    names: [myocardial infarction, stroke]
    exclude: [old_mi]
  old_mi:
    label: old myocardial infarction
    codes: ['icd10:I25.2']
    names: [old myocardial infarction]
criteria:
  - {id: exc-5, kind: exclusion, text: "myocardial infarction or stroke within the prior 12 months",
     rule: "onset_within(acs_mi_stroke, 'P12M')"}
  - {id: overlap, kind: exclusion, text: "the same read as an episode overlapping the window",
     rule: "history_of(acs_mi_stroke, 'P12M')"}
"""
AS_OF = "2026-11-23"  # the window of 12 months starts on 2025-11-23

STROKE_2010 = {"code": "snomed:230690007", "name": "Stroke", "onset": "2010-07-18", "status": "active",
               "source": "Condition/stroke"}
MI_RESOLVED = {"code": "icd10:I21.4", "name": "Non-ST elevation myocardial infarction", "onset": "2026-03-10",
               "abatement": "2026-04-02", "status": "resolved", "source": "Condition/nstemi"}
MI_OLD = {"code": "icd10:I21.9", "name": "Acute myocardial infarction", "onset": "2018-02-01",
          "abatement": "2018-03-01", "status": "resolved", "source": "Condition/mi-2018"}
STROKE_UNDATED = {"code": "icd10:I63.9", "name": "Cerebral infarction", "status": "active",
                  "source": "Condition/cva"}


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "onset.yaml")


def run(trial, conditions, complete=("conditions",), as_of=AS_OF):
    r = screen({"id": "p", "birth_date": "1960-01-01", "sex": "male", "conditions": conditions}, trial,
               as_of=as_of, complete=list(complete))
    return {c.id: c for c in r.criteria}


def test_a_stroke_of_2010_still_charted_active_is_no_stroke_within_12_months(trial):
    r = run(trial, [STROKE_2010])
    assert r["overlap"].status is EXCLUDED  # the wrong reading: an active condition counts as present now
    assert r["exc-5"].status is NOT_EXCLUDED, r["exc-5"].reason
    reason = r["exc-5"].reason
    assert "latest onset 2010-07-18" in reason and "Stroke (active) onset 2010-07-18 [Condition/stroke]" in reason
    assert "since 2025-11-23" in reason and "conditions declared complete" in reason


def test_a_myocardial_infarction_8_months_ago_and_resolved_still_counts(trial):
    r = run(trial, [MI_RESOLVED], complete=())
    assert r["exc-5"].status is EXCLUDED, r["exc-5"].reason
    assert ("onset within 12 months before 2026-11-23 (since 2025-11-23): Non-ST elevation myocardial "
            "infarction (resolved) onset 2026-03-10, abated 2026-04-02 [Condition/nstemi]") in r["exc-5"].reason
    (ev,) = r["exc-5"].evidence
    assert str(ev.date) == "2026-03-10" and ev.source == "Condition/nstemi"


def test_an_event_with_no_onset_date_is_unknown_even_in_a_complete_part(trial):
    r = run(trial, [STROKE_UNDATED])
    assert r["exc-5"].status is U
    assert "cannot tell if onset within 12 months" in r["exc-5"].reason
    assert "Cerebral infarction (active) (no onset date) [Condition/cva]" in r["exc-5"].reason
    # a dated event inside the window decides, whatever else is undated
    assert run(trial, [STROKE_UNDATED, MI_RESOLVED])["exc-5"].status is EXCLUDED


def test_an_old_and_a_recent_event_exclude_whichever_is_charted_first(trial):
    for conditions in ([MI_OLD, MI_RESOLVED], [MI_RESOLVED, MI_OLD], [STROKE_2010, MI_RESOLVED]):
        r = run(trial, conditions)
        assert r["exc-5"].status is EXCLUDED, r["exc-5"].reason
        assert "2026-03-10" in r["exc-5"].reason


def test_only_old_events_in_a_part_not_declared_complete_is_unknown(trial):
    r = run(trial, [STROKE_2010, MI_OLD], complete=())
    assert r["exc-5"].status is U
    assert "conditions not declared complete" in r["exc-5"].reason
    assert "latest onset 2018-02-01" in r["exc-5"].reason


def test_every_event_older_than_the_window_in_a_complete_part_names_the_latest_onset(trial):
    r = run(trial, [MI_OLD, STROKE_2010])
    assert r["exc-5"].status is NOT_EXCLUDED
    assert "latest onset 2018-02-01 (Acute myocardial infarction" in r["exc-5"].reason


@pytest.mark.parametrize("onset, expected", [
    ("2025-11-23", EXCLUDED),   # the first day of the window: both ends inclusive
    ("2025-11-22", NOT_EXCLUDED),   # the day before
    ("2026-11-23", EXCLUDED),   # the screening date itself
])
def test_the_window_ends_are_inclusive(trial, onset, expected):
    assert run(trial, [{**MI_RESOLVED, "onset": onset, "abatement": None}])["exc-5"].status is expected


def test_an_event_charted_after_the_screening_date_is_not_seen(trial):
    r = run(trial, [{**MI_RESOLVED, "onset": "2026-12-01", "abatement": None}])
    assert r["exc-5"].status is NOT_EXCLUDED and "no record of" in r["exc-5"].reason


def test_no_record_in_a_complete_part_fails_and_in_an_incomplete_one_is_unknown(trial):
    assert run(trial, [])["exc-5"].status is NOT_EXCLUDED
    assert run(trial, [], complete=())["exc-5"].status is U


def test_a_refuted_diagnosis_is_an_explicit_negative_as_for_history_of(trial):
    r = run(trial, [{**MI_RESOLVED, "status": "refuted"}], complete=())
    assert r["exc-5"].status is r["overlap"].status is NOT_EXCLUDED


@pytest.mark.parametrize("verification", ["provisional", "differential", "unconfirmed"])
def test_an_unsure_diagnosis_in_the_window_is_no_evidence_either_way(trial, verification):
    r = run(trial, [{**MI_RESOLVED, "verification": verification}])
    assert r["exc-5"].status is U and f"{verification} diagnosis" in r["exc-5"].reason


def test_an_unsure_diagnosis_older_than_the_window_is_outside_it(trial):
    r = run(trial, [{**MI_OLD, "verification": "provisional"}])
    assert r["exc-5"].status is NOT_EXCLUDED


def test_an_excluded_record_does_not_count(trial):
    old = {"code": "icd10:I25.2", "name": "Old myocardial infarction", "onset": "2026-06-01"}
    r = run(trial, [old])
    assert r["exc-5"].status is NOT_EXCLUDED and "(excluded)" in r["exc-5"].reason


def test_a_personal_history_is_dated_by_when_it_was_charted(trial):
    # 'Personal history of stroke' charted in 2019: the stroke was on or before that day
    hist = {"name": "Personal history of stroke", "onset": "2019-05-01"}
    assert run(trial, [hist])["exc-5"].status is NOT_EXCLUDED
    # charted inside the window: the stroke may have been before it, or inside it
    r = run(trial, [{**hist, "onset": "2026-05-01"}])
    assert r["exc-5"].status is U and "personal history" in r["exc-5"].reason


def test_an_unrecognised_record_of_a_complete_part_inside_the_window_keeps_it_unknown(trial):
    odd = {"name": "XQZ-77 cardiac event", "onset": "2026-09-01", "source": "Condition/xqz"}
    r = run(trial, [STROKE_2010, odd])
    assert r["exc-5"].status is U
    assert "XQZ-77 cardiac event" in r["exc-5"].reason and "does it count as" in r["exc-5"].reason
    assert [u.record.split(" ")[0] for u in r["exc-5"].unrecognised] == ["XQZ-77"]


def test_an_unrecognised_record_older_than_the_window_cannot_be_an_event_inside_it(trial):
    odd = {"name": "XQZ-77 cardiac event", "onset": "2014-09-01", "source": "Condition/xqz"}
    r = run(trial, [STROKE_2010, odd])
    assert r["exc-5"].status is NOT_EXCLUDED, r["exc-5"].reason


def test_an_unrecognised_record_with_no_onset_keeps_it_unknown(trial):
    odd = {"name": "XQZ-77 cardiac event", "source": "Condition/xqz"}
    assert run(trial, [STROKE_2010, odd])["exc-5"].status is U


def test_the_window_is_required_and_reads_only_concept_sets():
    with pytest.raises(RuleFileError) as err:
        compile_text(RULES.replace("onset_within(acs_mi_stroke, 'P12M')", "onset_within(acs_mi_stroke)"), "o.yaml")
    assert "onset_within" in str(err.value)
    with pytest.raises(RuleFileError) as err:
        compile_text(RULES.replace("onset_within(acs_mi_stroke, 'P12M')", "onset_within(acs_mi_stroke, 'P12Q')"),
                     "o.yaml")
    assert "invalid duration 'P12Q'" in str(err.value)


def test_onset_within_is_a_reserved_name():
    text = RULES.replace("  old_mi:\n", "  onset_within:\n    label: x\n    names: [x]\n  old_mi:\n")
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "o.yaml")
    assert "name 'onset_within' is reserved" in str(err.value)


# ---------------------------------------------------------------- the criteria re-encoded with onset_within

CRITERIA = Path(__file__).resolve().parents[3] / "criteria"


@pytest.fixture(scope="module")
def seeds():
    return {t: load_criteria(CRITERIA / f"{t}.yaml") for t in ("NCT04348461", "NCT01056471", "NCT03722472")}


def status_of(trial, cid: str, conditions: list, complete=("conditions",), facts=()) -> tuple[Status, str]:
    r = screen({"id": "p", "birth_date": "1970-01-01", "sex": "female", "conditions": conditions,
                "facts": list(facts)}, trial, as_of=AS_OF, complete=list(complete))
    c = next(c for c in r.criteria if c.id == cid)
    return c.status, c.reason


DVT = {"code": "icd10:I82.401", "name": "Acute DVT of right lower extremity", "source": "Condition/dvt"}


def test_a_dvt_that_began_within_3_years_excludes_even_if_resolved(seeds):
    got, reason = status_of(seeds["NCT04348461"], "exc-9a",
                            [{**DVT, "onset": "2025-02-01", "abatement": "2025-06-01", "status": "resolved"}])
    assert got is EXCLUDED and "onset 2025-02-01" in reason


def test_a_dvt_that_began_earlier_and_is_charted_into_the_3_years_asks_a_person(seeds):
    old_active = {**DVT, "onset": "2019-04-01", "status": "active"}
    got, reason = status_of(seeds["NCT04348461"], "exc-9a", [old_active])
    assert got is U and "deep vein thrombosis in the last 3 years" in reason
    # the answer decides
    answer = {"code": "local:dvt-last-3-years", "value": False, "date": "2026-11-20"}
    assert status_of(seeds["NCT04348461"], "exc-9a", [old_active], facts=[answer])[0] is NOT_EXCLUDED
    assert status_of(seeds["NCT04348461"], "exc-9a", [old_active],
                     facts=[{**answer, "value": True}])[0] is EXCLUDED


def test_a_dvt_over_before_the_3_years_does_not_exclude(seeds):
    old = {**DVT, "onset": "2019-04-01", "abatement": "2019-09-01", "status": "resolved"}
    assert status_of(seeds["NCT04348461"], "exc-9a", [old])[0] is NOT_EXCLUDED
    assert status_of(seeds["NCT04348461"], "exc-9a", [old], complete=())[0] is U


def test_a_pulmonary_embolism_is_read_as_a_dvt_is(seeds):
    pe = {"code": "icd10:I26.99", "name": "Pulmonary embolism", "source": "Condition/pe"}
    t = seeds["NCT04348461"]
    assert status_of(t, "exc-9b", [{**pe, "onset": "2026-01-05", "status": "resolved",
                                    "abatement": "2026-03-01"}])[0] is EXCLUDED
    assert status_of(t, "exc-9b", [{**pe, "onset": "2018-01-05", "status": "active"}])[0] is U
    assert status_of(t, "exc-9b", [{**pe, "onset": "2018-01-05", "status": "resolved",
                                    "abatement": "2018-03-01"}])[0] is NOT_EXCLUDED


RELAPSE = {"code": "local:ms-relapse", "name": "MS relapse", "source": "Condition/relapse"}


def test_an_ms_relapse_is_dated_by_its_onset(seeds):
    t = seeds["NCT01056471"]
    # inclusions: pass means the rule holds
    old_active = [{**RELAPSE, "onset": "2021-05-01", "status": "active"}]
    assert status_of(t, "inc-4a", old_active)[0] is Status.PASS  # no relapse within the month
    recent = [{**RELAPSE, "onset": "2026-11-10", "abatement": "2026-11-20", "status": "resolved"}]
    assert status_of(t, "inc-4a", recent)[0] is Status.FAIL
    got, reason = status_of(t, "inc-3b", [{**RELAPSE, "onset": "2026-02-01", "status": "resolved",
                                          "abatement": "2026-03-01"}])
    assert got is Status.PASS and "onset 2026-02-01" in reason


def test_a_blood_donor_status_of_years_ago_is_no_donation_within_the_month(seeds):
    t = seeds["NCT03722472"]
    donor = {"code": "icd10:Z52.000", "name": "Unspecified donor, whole blood", "source": "Condition/donor"}
    got, reason = status_of(t, "exc-21", [{**donor, "onset": "2020-03-01", "status": "active"}])
    assert got is U and "onset within 1 month" in reason  # the volunteer's answer is still asked
    assert status_of(t, "exc-21", [{**donor, "onset": "2026-11-02", "status": "active"}])[0] is EXCLUDED
