"""Evaluation semantics: windows, completeness, explicit negatives, staleness, units, verdicts, reasons."""

from __future__ import annotations

import copy
import pickle
from datetime import date

import pytest

from screening import Patient, RuleFileError, Status, Verdict, compile_text, screen
from screening.model.rulefile import Kind

from engine_helpers import AS_OF, DATA, criterion, make_trial, obs, run

P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN
CYC_6M = "started_within(cyclophosphamide, 'P6M')"


def cyc(start: str, **extra) -> dict:
    return {"name": "Cyclophosphamide 500 mg IV", "start": start, **extra}


# ------------------------------------------------------------------ windows


@pytest.mark.parametrize("start, status", [
    ("2026-06-23", P),   # 5 months before the screening date: inside a 6-month window
    ("2026-05-23", P),   # exactly 6 calendar months: the first day is inside
    ("2026-05-22", U),   # one day older: outside, and medications not declared complete
    ("2026-04-23", U),   # 7 months
])
def test_started_within_six_months(start, status):
    c, _ = run(criterion(CYC_6M), {"medications": [cyc(start)]})
    assert c.status is status
    assert "within 6 months before 2026-11-23 (since 2026-05-23)" in c.reason
    assert f"started {start}" in c.reason


def test_drug_seven_months_ago_with_complete_medications_fails_and_says_why():
    c, _ = run(criterion(CYC_6M), {"medications": [cyc("2026-04-23")]}, complete=["medications"])
    assert c.status is F
    assert c.reason == ("no record of cyclophosphamide started within 6 months before 2026-11-23 (since 2026-05-23); "
                        "records outside it: Cyclophosphamide 500 mg IV started 2026-04-23; medications declared complete")


def test_drug_five_months_ago_as_exclusion_excludes():
    c, r = run(criterion(CYC_6M, kind="exclusion"), {"medications": [cyc("2026-06-23")]})
    assert (c.status, c.met) == (F, True)
    assert r.verdict is Verdict.INELIGIBLE
    assert r.summary == "ineligible: excluded by c"


def test_drug_matches_by_code_and_by_words_of_the_name():
    t = criterion("ever_taken(cyclophosphamide)")
    assert run(t, {"medications": [{"code": "ATC:L01AA01"}]})[0].status is P
    assert run(t, {"medications": [{"name": "Cytoxan tablets"}]})[0].status is P
    assert run(t, {"medications": [{"name": "cyclophosphamides"}]})[0].status is U  # words, not substrings


@pytest.mark.parametrize("rule, record, status", [
    ("taking(cyclophosphamide)", cyc("2026-01-01"), P),
    ("taking(cyclophosphamide)", cyc("2026-01-01", stop="2026-03-01", status="stopped"), U),
    ("taking(cyclophosphamide, 'P6M')", cyc("2026-01-01", stop="2026-06-01", status="stopped"), P),
    ("taking(cyclophosphamide, 'P6M')", cyc("2026-01-01", stop="2026-05-01", status="stopped"), U),
    ("taking(cyclophosphamide)", cyc("2026-01-01", status="intended"), U),
    ("ever_taken(cyclophosphamide)", cyc("1990-01-01", stop="1990-02-01", status="completed"), P),
])
def test_medication_functions(rule, record, status):
    assert run(criterion(rule), {"medications": [record]})[0].status is status


@pytest.mark.parametrize("rule, record, status", [
    ("had_procedure(kidney_biopsy, 'P12M')", {"name": "kidney biopsy", "date": "2025-11-23"}, P),
    ("had_procedure(kidney_biopsy, 'P12M')", {"name": "kidney biopsy", "date": "2025-11-22"}, U),
    ("had_procedure(kidney_biopsy)", {"name": "kidney biopsy", "status": "planned"}, U),
    ("procedure_planned(kidney_biopsy)", {"name": "kidney biopsy", "status": "planned"}, P),
    ("had_procedure(kidney_biopsy)", {"name": "kidney biopsy", "status": "not-done"}, F),
])
def test_procedure_functions(rule, record, status):
    assert run(criterion(rule), {"procedures": [record]})[0].status is status


@pytest.mark.parametrize("record, status", [
    ({"code": "cvx:141", "date": "2026-10-01"}, P),
    ({"code": "cvx:141", "date": "2025-10-01"}, U),
    ({"code": "cvx:141", "status": "not-done"}, F),
])
def test_vaccinated(record, status):
    assert run(criterion("vaccinated(flu_vaccine, 'P12M')"), {"immunizations": [record]})[0].status is status


@pytest.mark.parametrize("condition, status", [
    ({"name": "breast cancer", "onset": "2024-01-01", "status": "remission"}, P),
    ({"name": "breast cancer", "onset": "2010-01-01", "abatement": "2012-01-01", "status": "resolved"}, U),
    ({"name": "breast cancer", "onset": "2010-01-01", "abatement": "2022-01-01", "status": "resolved"}, P),
    ({"name": "breast cancer", "onset": "2026-01-01", "status": "refuted"}, F),
])
def test_history_of_with_window(condition, status):
    assert run(criterion("history_of(malignancy, 'P5Y')"), {"conditions": [condition]})[0].status is status


# ------------------------------------------------------------------ completeness and explicit negatives


def test_no_record_is_unknown_by_default_with_a_reason():
    c, r = run(criterion(CYC_6M), {})
    assert c.status is U
    assert c.reason.endswith("(medications not declared complete)")
    assert c.missing == ["cyclophosphamide"] and r.missing == ["cyclophosphamide"]


@pytest.mark.parametrize("how", ["argument", "profile"])
def test_no_record_fails_when_the_part_is_declared_complete(how):
    patient = {"complete": ["medications"]} if how == "profile" else {}
    c, r = run(criterion(CYC_6M), patient, complete=["medications"] if how == "argument" else None)
    assert c.status is F
    assert c.reason.endswith("; medications declared complete")
    assert r.complete == ["medications"]


def test_declaring_another_part_complete_does_not_decide():
    c, _ = run(criterion(CYC_6M), {}, complete=["conditions", "procedures"])
    assert c.status is U


def test_unknown_complete_part_is_rejected():
    with pytest.raises(ValueError, match=r"unknown record parts in complete: \[.labs.\] \(choose from allergies, conditions, "):
        run(criterion(CYC_6M), {}, complete=["labs"])


def test_complete_may_be_a_single_part_name():
    c, r = run(criterion(CYC_6M), {}, complete="medications")
    assert c.status is F and r.complete == ["medications"]


def test_complete_facts_make_a_missing_fact_false():
    c, _ = run(criterion("pregnant"), {}, complete=["facts"])
    assert (c.status, c.reason) == (F, "no record of pregnancy; facts declared complete")
    assert run(criterion("pregnant"), {})[0].status is U


@pytest.mark.parametrize("condition", [
    {"name": "Lupus nephritis", "status": "refuted"},
    {"code": "icd10:M32.14", "status": "resolved"},
    {"code": "icd10:M32.14", "status": "inactive"},
    {"code": "icd10:M32.14", "status": "remission"},
    {"code": "icd10:M32.14", "onset": "2020-01-01", "abatement": "2025-01-01"},
])
def test_explicit_negatives_decide_has_condition_fail(condition):
    c, _ = run(criterion("has_condition(lupus_nephritis)"), {"conditions": [condition]})
    assert c.status is F
    assert c.reason.startswith("lupus nephritis not active: ")


def test_refuted_condition_is_not_history():
    c, _ = run(criterion("history_of(lupus_nephritis)"), {"conditions": [{"name": "lupus nephritis", "status": "refuted"}]})
    assert (c.status, c.reason) == (F, "lupus nephritis not history: lupus nephritis (refuted) (no onset date)")


def test_medication_not_taken_is_an_explicit_negative_for_now_only():
    not_taken = {"medications": [{"code": "rxnorm:3002", "status": "not-taken", "start": "2026-11-01"}]}
    c, _ = run(criterion("taking(cyclophosphamide)"), not_taken)
    assert (c.status, c.reason) == (F, "cyclophosphamide not taking: rxnorm:3002 started 2026-11-01 (not-taken)")
    ended = {"medications": [{"code": "rxnorm:3002", "status": "not-taken", "start": "2019-01-01", "stop": "2019-06-01"}]}
    c, _ = run(criterion("taking(cyclophosphamide)"), ended)  # not taken in 2019 says nothing of today
    assert c.status is U
    # "not taking it" does not say it was never taken, nor not in the last 6 months
    for rule in ("ever_taken(cyclophosphamide)", CYC_6M, "taking(cyclophosphamide, 'P6M')"):
        c, _ = run(criterion(rule), not_taken)
        assert c.status is U and "rxnorm:3002 started 2026-11-01 (not-taken)" in c.reason
        c, _ = run(criterion(rule), not_taken, complete=["medications"])
        assert c.status is F and c.reason.endswith("medications declared complete")


@pytest.mark.parametrize("med, status", [
    ({"status": "completed", "start": "2026-10-01", "stop": "2026-12-15"}, P),  # stopped after the screening date
    ({"status": "stopped", "start": "2026-10-01", "stop": "2026-11-23"}, P),    # last dose on the screening date
    ({"status": "completed", "start": "2026-10-01", "stop": "2026-11-22"}, F),  # stopped the day before
    ({"status": "on-hold", "start": "2026-10-01"}, U),                          # paused: not known to be taken now
    ({"status": "active", "start": "2026-10-01"}, P),
])
def test_taking_on_the_screening_date(med, status):
    c, _ = run(criterion("taking(cyclophosphamide)"), {"medications": [{"name": "cyclophosphamide", **med}]},
               complete=["medications"])
    assert c.status is status


@pytest.mark.parametrize("status", ["resolved", "inactive", "remission"])
def test_condition_abated_after_the_screening_date_was_active_on_it(status):
    cond = {"name": "breast cancer", "onset": "2026-01-01", "abatement": "2026-12-15", "status": status}
    c, _ = run(criterion("has_condition(malignancy)"), {"conditions": [cond]})
    assert (c.status, c.reason) == (P, f"malignancy active: breast cancer ({status}) onset 2026-01-01, abated 2026-12-15")
    c, _ = run(criterion("has_condition(malignancy)"), {"conditions": [{**cond, "abatement": "2026-11-01"}]})
    assert c.status is F


def test_active_condition_passes():
    c, _ = run(criterion("has_condition(lupus_nephritis)"), {"conditions": [{"code": "icd10:M32.14", "onset": "2020-01-01"}]})
    assert (c.status, c.reason) == (P, "lupus nephritis active: icd10:M32.14 (active) onset 2020-01-01")


@pytest.mark.parametrize("value", ["Negative", "not detected", "NEG", "non-reactive"])
def test_negative_test_result_fails(value):
    c, _ = run(criterion("hiv == 'positive'"), {"observations": [obs("HIV", value)]})
    assert c.status is F
    assert c.reason == f"HIV test {value} on 2026-11-01, not == 'positive'"


@pytest.mark.parametrize("value, status", [("Positive", P), ("detected", P), (True, P), (False, F), ("Non Reactive", F),
                                           ("not-detected", F), ("equivocal", U), ("Weakly reactive", U),
                                           ("Indeterminate", U), ("positve", U), (3.2, U)])
def test_coded_values_fold_synonyms_and_anything_else_is_unknown(value, status):
    c, _ = run(criterion("hiv == 'positive'"), {"observations": [obs("HIV", value)]})
    assert c.status is status
    if status is U:  # neither a match nor a non-match: a person must read the result
        assert c.reason == f"HIV test {value} on 2026-11-01 is not a result the rules read (negative, positive)"
        assert c.missing == ["hiv"]


CLASSES = """
  - id: c
    kind: inclusion
    text: class III or IV
    rule: ln_class in ['III', 'IV']
"""


def _classes(values: str | None):
    items = (DATA / "items.yaml").read_text(encoding="utf-8") + "  ln_class:\n    type: coded\n    names: [ISN/RPS class]\n"
    if values:
        items += f"    values: {values}\n"
    return compile_text(items + "criteria:\n" + CLASSES.strip("\n") + "\n", "classes.yaml")


@pytest.mark.parametrize("recorded, status", [("IV", P), ("iii", P), ("II", F), ("V", F), ("Class IV", U), ("IV-G", U)])
def test_declared_values_of_a_coded_item_decide_what_is_a_non_match(recorded, status):
    trial = _classes("[I, II, III, IV, V, VI]")
    c = screen({"id": "p", "observations": [obs("ISN/RPS class", recorded)]}, trial, AS_OF).criteria[0]
    assert c.status is status, c.reason


def test_without_declared_values_only_the_rules_constants_are_read():
    c = screen({"id": "p", "observations": [obs("ISN/RPS class", "II")]}, _classes(None), AS_OF).criteria[0]
    assert (c.status, c.reason) == (U, "ln_class II on 2026-11-01 is not a result the rules read (iii, iv)")


def test_values_belong_to_coded_items_only():
    text = (DATA / "items.yaml").read_text(encoding="utf-8").replace("    pick: min\n", "    pick: min\n    values: [low]\n", 1)
    with pytest.raises(RuleFileError) as err:
        compile_text(text + "criteria:\n  - {id: c, kind: inclusion, text: t, rule: hb >= 9}\n", "v.yaml")
    assert "error: quantity items have no list of values (only coded items)" in str(err.value)


def test_a_rule_constant_outside_the_declared_values_is_a_located_error():
    with pytest.raises(RuleFileError) as err:
        _classes("[I, II, III, V, VI]")
    assert "'IV' is not one of the values of ln_class (i, ii, iii, v, vi)" in str(err.value)
    assert str(err.value).startswith("classes.yaml:")


def test_coded_in_list_is_case_insensitive():
    assert run(criterion("dsdna in ['III', 'IV']"), {"observations": [obs("anti-dsDNA", "iv")]})[0].status is P


# ------------------------------------------------------------------ quantities: staleness, units, preliminary


def test_stale_value_is_unknown_with_date_and_window():
    c, r = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 2, "mg/mg", "2026-08-22")]})
    assert c.status is U
    assert c.reason == "UPCR last on 2026-08-22 is outside the 3 months window (since 2026-08-23)"
    assert c.missing == ["upcr"]
    assert [(e.item, e.value, e.date) for e in c.evidence] == [("upcr", 2, date(2026, 8, 22))]


def test_value_on_the_first_day_of_the_window_is_used():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 2, "mg/mg", "2026-08-23")]})
    assert c.status is P


def test_latest_value_inside_the_window_wins():
    c, _ = run(criterion("upcr >= 1"), {"observations": [
        obs("UPCR", 3, "mg/mg", "2026-08-01"),    # stale
        obs("UPCR", 0.4, "mg/mg", "2026-09-01"),
        obs("UPCR", 2, "mg/mg", "2026-11-01"),
        obs("UPCR", 0.1, "mg/mg", "2026-09-15"),
    ]})
    assert (c.status, c.reason) == (P, "UPCR 2 mg/mg on 2026-11-01 (within 3 months) >= 1 mg/mg")


def test_pick_min_takes_the_lowest_converted_value():
    c, _ = run(criterion("hb < 10"), {"observations": [
        obs("haemoglobin", 12, "g/dL", "2026-10-01"),
        obs("haemoglobin", 95, "g/L", "2026-11-01"),
        obs("haemoglobin", 11, "g/dL", "2026-11-10"),
    ]})
    assert (c.status, c.reason) == (P, "haemoglobin 95 g/L (9.5 g/dL) on 2026-11-01 < 10 g/dL")


@pytest.mark.parametrize("value, unit, text", [
    (2, "mmHg", "UPCR 2 mmHg on 2026-11-01: unit 'mmHg' ([mass] / [length] / [time] ** 2) cannot be converted "
                "to 'mg/mg' (dimensionless) (with context creatinine_ratio)"),
    (2, "bogus_unit", "UPCR 2 bogus_unit on 2026-11-01: unknown unit 'bogus_unit'"),
    (2, None, "UPCR 2 on 2026-11-01 has no unit (expected mg/mg)"),
    ("high", "mg/mg", "UPCR high mg/mg on 2026-11-01 is not a number"),
])
def test_unusable_values_are_unknown_with_a_clear_reason(value, unit, text):
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", value, unit)]})
    assert c.status is U
    assert c.reason.startswith(text)
    assert c.missing == ["upcr"]


def test_numeric_string_values_are_read():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", " 1.5 ", "mg/mg")]})
    assert c.status is P


def test_preliminary_results_are_flagged():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 2, "mg/mg", status="preliminary")]})
    assert (c.status, c.reason) == (P, "UPCR 2 mg/mg on 2026-11-01 (preliminary) (within 3 months) >= 1 mg/mg")


@pytest.mark.parametrize("rule, record, status, reason", [
    ("upcr >= 1", obs("UPCR", 150, "mg/mmol", source="Observation/u1"), P,
     "UPCR 150 mg/mmol (1.33 mg/mg) on 2026-11-01 [Observation/u1] (within 3 months) >= 1 mg/mg"),
    ("weight >= 50", obs("body weight", 100, "lb"), F, "body weight 100 lb (45.4 kg) on 2026-11-01, not >= 50 kg"),
    ("rbc_urine > 5", obs("urine RBC", 10, "/[HPF]"), P, "urine RBC 10 /[HPF] on 2026-11-01 > 5 /hpf"),
    ("platelets >= 100", obs("platelets", 150000, "/uL"), P,
     "platelets 150000 /uL (150 10*9/L) on 2026-11-01 >= 100 10*9/L"),
    ("platelets >= 100", obs("platelets", 90, "10*9/L"), F, "platelets 90 10*9/L on 2026-11-01, not >= 100 10*9/L"),
])
def test_reasons_show_value_unit_conversion_date_and_threshold(rule, record, status, reason):
    c, _ = run(criterion(rule), {"observations": [record]})
    assert (c.status, c.reason) == (status, reason)


def test_quantity_evidence_fields():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 150, "mg/mmol", source="Observation/u1")]})
    (e,) = c.evidence
    assert (e.item, e.value, e.unit, e.converted_unit, e.date, e.source, e.record) == (
        "upcr", 150, "mg/mmol", "mg/mg", date(2026, 11, 1), "Observation/u1", "UPCR")
    assert e.converted == pytest.approx(150 / 113.12)


def test_titer_comparison_and_evidence():
    c, _ = run(criterion("ana >= '1:80'"), {"observations": [obs("ANA", "1:160")]})
    assert (c.status, c.reason) == (P, "ANA 1:160 on 2026-11-01 >= 1:80")
    assert (c.evidence[0].converted, c.evidence[0].converted_unit) == (160.0, "dilution")
    c, _ = run(criterion("ana >= '1:80'"), {"observations": [obs("ANA", "1:40")]})
    assert c.status is F


def test_unreadable_titer_is_unknown():
    c, _ = run(criterion("ana >= '1:80'"), {"observations": [obs("ANA", "speckled")]})
    assert (c.status, c.reason) == (U, "ANA speckled on 2026-11-01 is not a titer")
    c, _ = run(criterion("ana >= '1:80'"), {"observations": [obs("ANA", 0.0125)]})  # 1/80 as a fraction: not read
    assert (c.status, c.reason) == (U, "ANA 0.0125 on 2026-11-01 is not a titer")


@pytest.mark.parametrize("recorded, rule, status, reason", [
    ("<1:40", "ana >= '1:80'", F, "ANA <1:40 on 2026-11-01, not >= 1:80"),
    ("<1:40", "ana >= '1:40'", F, "ANA <1:40 on 2026-11-01, not >= 1:40"),
    ("<=1:40", "ana >= '1:40'", U, "ANA <=1:40 on 2026-11-01: cannot tell whether >= 1:40"),
    ("<1:40", "ana >= '1:20'", U, "ANA <1:40 on 2026-11-01: cannot tell whether >= 1:20"),
    ("<1:40", "ana < '1:80'", P, "ANA <1:40 on 2026-11-01 < 1:80"),
    ("> 1:1280", "ana >= '1:80'", P, "ANA > 1:1280 on 2026-11-01 >= 1:80"),
    (">1:1280", "ana >= '1:2560'", U, "ANA >1:1280 on 2026-11-01: cannot tell whether >= 1:2560"),
    ("Negative", "ana >= '1:80'", F, "ANA Negative on 2026-11-01, not >= 1:80"),
    (160, "ana >= '1:80'", P, "ANA 160 (read as 1:160) on 2026-11-01 >= 1:80"),
    (">1280", "ana >= '1:80'", P, "ANA >1280 on 2026-11-01 >= 1:80"),  # a FHIR comparator on a reciprocal titer
])
def test_titer_bounds_decide_only_when_every_dilution_agrees(recorded, rule, status, reason):
    c, _ = run(criterion(rule), {"observations": [obs("ANA", recorded)]})
    assert (c.status, c.reason) == (status, reason)
    assert c.missing == (["ana"] if status is U else [])


def test_same_day_values_decide_only_where_they_all_agree_whatever_their_order():
    a, b = obs("UPCR", 2.0, "mg/mg", "2026-11-10"), obs("UPCR", 0.3, "mg/mg", "2026-11-10")
    for records in ([a, b], [b, a]):
        c, _ = run(criterion("upcr >= 1"), {"observations": records})
        assert c.status is U and c.missing == ["upcr"]
        assert c.reason.startswith("UPCR: 2 values on 2026-11-10: ")
        assert c.reason.endswith(" (within 3 months): cannot tell whether >= 1 mg/mg")
        c, _ = run(criterion("upcr >= 0.2"), {"observations": records})  # both reach 0.2
        assert c.status is P
        c, _ = run(criterion("upcr >= 5"), {"observations": records})    # neither reaches 5
        assert c.status is F
    bound = obs("UPCR", "<0.5", "mg/mg", "2026-11-10")                   # 0.3 and '<0.5' both fail >= 1
    c, _ = run(criterion("upcr >= 1"), {"observations": [b, bound]})
    assert c.status is F
    same = obs("UPCR", 1768, "mg/g", "2026-11-10")  # 1.768 mg/mg written in another unit agrees with 1.768 mg/mg
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 1.768, "mg/mg", "2026-11-10"), same]})
    assert c.status is P and c.reason.startswith("UPCR 1768 mg/g (1.77 mg/mg) on 2026-11-10")
    older = obs("UPCR", 0.3, "mg/mg", "2026-11-01")  # an older value is superseded, not a conflict
    c, _ = run(criterion("upcr >= 1"), {"observations": [older, obs("UPCR", 2.0, "mg/mg", "2026-11-10")]})
    assert c.status is P


def test_two_values_on_one_day_are_no_value_to_compute_with():
    day = "2026-11-10"
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", 60, "mmHg", day), obs("PaO2", 90, "mmHg", day),
                                                        obs("FiO2", 0.5, None, day)]})
    assert c.status is U and "is not one value, not a value to compute with" in c.reason


@pytest.mark.parametrize("records, rule, status", [
    (["1:40", "<1:160"], "ana >= '1:80'", U),     # the highest lies in [1:40, 1:160)
    (["1:40", "<1:160"], "ana >= '1:160'", F),
    (["1:320", "<1:160"], "ana >= '1:80'", P),    # 1:320 is beyond every bound
    (["<1:40", "<1:80"], "ana >= '1:80'", F),
    (["<1:40", "<1:80"], "ana >= '1:40'", U),
    ([">1:80", "1:40"], "ana >= '1:80'", P),
])
def test_the_highest_of_exact_titers_and_bounds(records, rule, status):
    text = (DATA / "items.yaml").read_text(encoding="utf-8").replace("    type: titer\n", "    type: titer\n    pick: max\n", 1)
    trial = compile_text(text + "criteria:\n  - {id: c, kind: inclusion, text: ANA, rule: \"" + rule + "\"}\n", "max.yaml")
    patient = {"id": "p", "observations": [obs("ANA", v, None, f"2026-0{i + 1}-01") for i, v in enumerate(records)]}
    c = screen(patient, trial, AS_OF).criteria[0]
    assert c.status is status, c.reason
    if status is U:
        assert c.reason.startswith("highest ANA of: ")


def test_same_day_facts_that_disagree_are_unknown_whatever_their_order():
    yes = {"name": "pregnant", "value": True, "date": "2026-11-20"}
    no = {"name": "pregnant", "value": False, "date": "2026-11-20"}
    for facts in ([yes, no], [no, yes]):
        c, _ = run(criterion("pregnant", kind="exclusion"), {"facts": facts})
        assert (c.status, c.met) == (U, None)
        assert c.reason.startswith("pregnancy: records disagree on 2026-11-20: ")



def test_change_over_a_window():
    c, _ = run(criterion("change(edss, 'P12M') >= 0.5"), {"observations": [
        obs("EDSS", 2, None, "2025-11-01"), obs("EDSS", 3, None, "2026-01-01"), obs("EDSS", 4, None, "2026-11-01")]})
    assert c.status is P
    assert c.reason.startswith("change in EDSS +1 over 12 months (")
    c, _ = run(criterion("change(edss, 'P12M') >= 0.5"), {"observations": [obs("EDSS", 4, None, "2026-11-01")]})
    assert (c.status, c.reason) == (U, "change in EDSS needs two values within 12 months (since 2025-11-23); found 1")


# ------------------------------------------------------------------ derived values


PAO2_FIO2 = [obs("PaO2", 12, "kPa"), obs("FiO2", 60, "%")]


def test_derived_pf_ratio_from_kpa_and_percent():
    c, _ = run(criterion("pf < 200"), {"observations": PAO2_FIO2})
    assert c.status is P
    assert c.reason == ("PaO2/FiO2 150 mmHg computed as pao2 / fio2 from PaO2 12 kPa (90 mmHg) on 2026-11-01; "
                        "FiO2 60 % (0.6) on 2026-11-01 < 200 mmHg")
    assert sorted(e.item for e in c.evidence) == ["fio2", "pao2"]


def test_recorded_value_wins_over_the_formula():
    c, _ = run(criterion("pf < 200"), {"observations": PAO2_FIO2 + [
        {"code": "loinc:50984-4", "value": 250, "unit": "mm[Hg]", "date": "2026-11-01"}]})
    assert (c.status, c.reason) == (F, "PaO2/FiO2 250 mm[Hg] on 2026-11-01, not < 200 mmHg")


def test_max_spread_operands_on_different_days_are_unknown():
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", 12, "kPa"), obs("FiO2", 60, "%", "2026-10-31")]})
    assert c.status is U
    assert c.reason.startswith("PaO2/FiO2: the values to compute it are more than 0 days apart (")
    assert c.missing == ["pf"]


def test_missing_operand_names_what_is_missing():
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", 12, "kPa")]})
    assert c.status is U
    assert c.reason == "no PaO2/FiO2 on record, and to compute it (pao2 / fio2): no FiO2 on record"
    assert c.missing == ["fio2", "pf"]


def test_division_by_zero_is_unknown():
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", 12, "kPa"), obs("FiO2", 0, "%")]})
    assert (c.status, c.reason) == (U, "PaO2/FiO2: division by zero computing pao2 / fio2")


# ------------------------------------------------------------------ age and sex


@pytest.mark.parametrize("birth, status, reason", [
    ("2008-11-23", P, "age 18 (born 2008-11-23) >= 18 years"),
    ("2008-11-24", F, "age 17 (born 2008-11-24), not >= 18 years"),
    ("2026-11-23", F, "age 0 (born 2026-11-23), not >= 18 years"),
    ("2026-11-24", U, "birth date 2026-11-24 is after the screening date 2026-11-23"),  # no negative ages
    (None, U, "no birth date on record"),
])
def test_age_on_the_reference_date(birth, status, reason):
    c, r = run(criterion("age >= 18"), {"birth_date": birth} if birth else {})
    assert (c.status, c.reason) == (status, reason)
    if status is U:
        assert r.missing == ["birth_date"]


def test_age_range_reads_once():
    c, _ = run(criterion("age >= 18 and age <= 75"), {"birth_date": "1980-05-01"})
    assert c.reason == "age 46 (born 1980-05-01) >= 18 years and <= 75 years"


# ------------------------------------------------------------------ applies_if, exclusions, Kleene in rules

def preg(patient):
    return run(criterion("pregnant", kind="exclusion", applies_if="sex == 'female'"), patient)[0]


def test_not_applicable_passes_with_reason():
    c = preg({"sex": "male"})
    assert (c.status, c.met, c.applicable) == (P, False, False)
    assert c.reason == "not applicable: sex male, not == 'female'"


@pytest.mark.parametrize("patient, status, met, applicable", [
    ({"sex": "female", "facts": [{"name": "pregnant", "value": True}]}, F, True, True),
    ({"sex": "female", "facts": [{"name": "pregnant", "value": False}]}, P, False, True),
    ({"sex": "female"}, U, None, True),
    ({"facts": [{"name": "pregnant", "value": True}]}, U, None, None),
    ({"facts": [{"name": "pregnant", "value": False}]}, P, False, None),
])
def test_exclusion_met_and_status(patient, status, met, applicable):
    c = preg(patient)
    assert (c.status, c.met, c.applicable) == (status, met, applicable)
    assert c.kind is Kind.EXCLUSION


def test_unknown_applicability_says_so():
    c = preg({})
    assert c.reason == "not known whether it applies (sex not recorded); no record of pregnancy"
    assert c.missing == ["sex", "pregnant"]


def test_inclusion_not_applicable_passes():
    c, _ = run(criterion("upcr >= 1", applies_if="sex == 'female'"), {"sex": "male"})
    assert (c.status, c.applicable) == (P, False)
    assert c.reason.startswith("not applicable: ")


@pytest.mark.parametrize("rule, status", [   # upcr is missing (unknown); age is 26
    ("upcr >= 1 and age >= 18", U),        # unknown and pass = unknown
    ("upcr >= 1 and age >= 90", F),        # unknown and fail = fail
    ("upcr >= 1 or age >= 18", P),         # unknown or pass = pass
    ("upcr >= 1 or age >= 90", U),         # unknown or fail = unknown
    ("not (upcr >= 1)", U),                # not unknown = unknown
    ("not (age >= 90)", P),
    ("true and upcr >= 1", U),
    ("false or not (upcr >= 1)", U),
])
def test_kleene_logic_inside_rules(rule, status):
    c, _ = run(criterion(rule), {"birth_date": "2000-01-01"})
    assert c.status is status


def test_kleene_unknown_and_fail_is_fail_in_a_rule():
    c, _ = run(criterion("upcr >= 1 and age >= 90"), {"birth_date": "2000-01-01"})
    assert c.status is F
    assert c.reason == "age 26 (born 2000-01-01), not >= 90 years"   # only the deciding part is shown
    assert c.missing == []


def test_kleene_unknown_or_pass_is_pass_in_a_rule():
    c, _ = run(criterion("upcr >= 1 or age >= 18"), {"birth_date": "2000-01-01"})
    assert (c.status, c.reason) == (P, "age 26 (born 2000-01-01) >= 18 years")


def test_note_is_shown_as_a_reading():
    c, _ = run(criterion("age >= 18", note="adult read as 18 or over"), {"birth_date": "2000-01-01"})
    assert c.reason.endswith(" [reading: adult read as 18 or over]")


# ------------------------------------------------------------------ verdicts

VERDICT_TRIAL = """
- id: inc-age
  kind: inclusion
  text: adult
  rule: age >= 18
- id: consent
  kind: inclusion
  text: written consent
  confirm: signed consent form
- id: exc-cyc
  kind: exclusion
  text: cyclophosphamide in the prior 6 months
  rule: started_within(cyclophosphamide, 'P6M')
"""


def vscreen(patient, **kw):
    return screen({"id": "v", **patient}, make_trial(VERDICT_TRIAL), as_of=AS_OF, **kw)


def test_verdict_eligible():
    r = vscreen({"birth_date": "1980-01-01", "facts": [{"code": "consent", "value": True}], "complete": ["medications"]})
    assert (r.verdict, r.summary) == (Verdict.ELIGIBLE, "eligible: all 3 criteria pass")
    assert (r.failed, r.unknown, r.missing, r.pending_confirmation) == ([], [], [], [])


def test_verdict_ineligible_names_the_failures():
    r = vscreen({"birth_date": "2010-01-01", "medications": [cyc("2026-10-01")]})
    assert r.verdict is Verdict.INELIGIBLE
    assert r.failed == ["inc-age", "exc-cyc"]
    assert r.summary == "ineligible: fails inc-age, excluded by exc-cyc"


def test_verdict_pending_confirmation_when_only_confirm_criteria_are_unknown():
    r = vscreen({"birth_date": "1980-01-01"}, complete=["medications"])
    assert r.verdict is Verdict.UNDETERMINED
    assert r.unknown == r.pending_confirmation == ["consent"]
    assert r.summary == "eligible pending confirmation of: consent"
    consent = r.criteria[1]
    assert consent.needs_confirmation and consent.missing == []
    assert consent.reason == "needs confirmation (signed consent form): no record of confirmation of consent"


def test_confirmation_fact_under_the_trial_id():
    r = vscreen({"birth_date": "1980-01-01", "facts": [{"code": "TEST-ENGINE/consent", "value": False}],
                 "complete": ["medications"]})
    assert r.verdict is Verdict.INELIGIBLE and r.failed == ["consent"]


def test_verdict_undetermined_lists_missing_and_to_confirm():
    r = vscreen({})
    assert r.verdict is Verdict.UNDETERMINED
    assert r.unknown == ["inc-age", "consent", "exc-cyc"]
    assert r.missing == ["birth_date", "cyclophosphamide"]
    assert r.pending_confirmation == ["consent"]
    assert r.summary == "undetermined: 3 criteria unknown; missing: birth_date, cyclophosphamide; to confirm: consent"


def test_fail_beats_unknown_in_the_verdict():
    r = vscreen({"birth_date": "2010-01-01"})
    assert r.verdict is Verdict.INELIGIBLE and r.failed == ["inc-age"] and "consent" in r.unknown


# ------------------------------------------------------------------ time, purity, pickling


def test_records_after_as_of_are_ignored():
    t = criterion("upcr >= 1")
    before = [obs("UPCR", 0.5, "mg/mg", "2026-11-01")]
    after = [obs("UPCR", 5, "mg/mg", "2026-11-24"), obs("UPCR", 7, "mg/mg", "2030-01-01")]
    c1, _ = run(t, {"observations": before})
    c2, _ = run(t, {"observations": before + after})
    assert c1 == c2 and c2.status is F
    assert run(criterion(CYC_6M), {"medications": [cyc("2026-11-24")]})[0].status is U
    assert run(criterion("has_condition(lupus_nephritis)"),
               {"conditions": [{"name": "lupus nephritis", "onset": "2027-01-01"}]})[0].status is U


def test_as_of_moves_the_window():
    t = criterion(CYC_6M)
    p = {"medications": [cyc("2026-04-23")]}
    assert run(t, p, as_of=date(2026, 10, 23))[0].status is P
    assert run(t, p, as_of=date(2026, 11, 23))[0].status is U


def test_as_of_accepts_iso_strings_and_datetimes():
    from datetime import datetime

    t = criterion("age >= 18")
    a = screen({"id": "x", "birth_date": "2008-11-23"}, t, as_of="2026-11-23")
    b = screen({"id": "x", "birth_date": "2008-11-23"}, t, as_of=datetime(2026, 11, 23, 23, 59))
    assert a == b and a.as_of == date(2026, 11, 23) and a.verdict is Verdict.ELIGIBLE
    with pytest.raises(TypeError, match="as_of must be a date"):
        screen({"id": "x"}, t, as_of=20261123)


FULL = {
    "id": "pure", "birth_date": "1980-02-29", "sex": "female",
    "observations": [obs("UPCR", 150, "mg/mmol"), *PAO2_FIO2, obs("ANA", "1:160")],
    "medications": [cyc("2026-06-01")],
    "facts": [{"name": "pregnant", "value": False}],
}


def test_screen_is_pure():
    t = make_trial(VERDICT_TRIAL)
    data = copy.deepcopy(FULL)
    patient = Patient.model_validate(data)
    snapshot = patient.model_dump()
    r1 = screen(patient, t, as_of=AS_OF)
    r2 = screen(patient, t, as_of=AS_OF)
    r3 = screen(data, t, as_of=AS_OF)
    assert r1 == r2 == r3
    assert r1.model_dump() == r2.model_dump()
    assert patient.model_dump() == snapshot
    assert data == FULL


def test_compiled_trial_pickle_round_trip_screens_identically():
    t = make_trial(VERDICT_TRIAL)
    t2 = pickle.loads(pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL))
    assert t2 is not t and t2 == t
    for patient in (FULL, {"id": "empty"}, {"id": "young", "birth_date": "2015-01-01"}):
        assert screen(patient, t2, as_of=AS_OF) == screen(patient, t, as_of=AS_OF)


def test_lupus_example_end_to_end():
    from pathlib import Path

    from screening import load_criteria, load_patient

    data = Path(__file__).resolve().parents[2] / "data"
    r = screen(load_patient(data / "p1.json"), load_criteria(data / "lupus.yaml"), as_of=AS_OF)
    status = {c.id: c.status.value for c in r.criteria}
    assert status == {"age": "pass", "inc-ab": "pass", "inc-upcr": "pass", "exc-cyc": "pass", "exc-preg": "pass",
                      "pf": "pass", "consent": "unknown"}
    assert r.verdict is Verdict.UNDETERMINED and r.pending_confirmation == ["consent"]
    assert r.summary == "eligible pending confirmation of: consent"
    exc = next(c for c in r.criteria if c.id == "exc-cyc")
    assert exc.reason.endswith("records outside it: Cyclophosphamide 500 mg IV started 2026-04-01; medications declared complete")


# ------------------------------------------------------------------ values that are not measurements


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "NaN", "inf", "-Infinity"])
def test_nan_and_infinity_are_not_numbers(value):
    c, _ = run(criterion("weight >= 50"), {"observations": [obs("body weight", value, "kg")]})
    assert c.status is U
    assert c.reason.endswith("is not a number")


def test_a_value_that_overflows_in_conversion_is_unknown():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 1e308, "g/mmol")]})
    assert c.status is U
    assert "is out of range in mg/mg" in c.reason


@pytest.mark.parametrize("unit", ["1/0", "**", "(", "mg)"])
def test_garbage_patient_units_are_unknown(unit):
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 2, unit)]})
    assert c.status is U
    assert c.reason == f"UPCR 2 {unit} on 2026-11-01: unknown unit {unit!r}: cannot be parsed"


def test_derived_value_that_overflows_is_unknown():
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", 1e300, "mmHg"), obs("FiO2", 1e-300, "1")]})
    assert c.status is U
    assert c.reason.startswith("PaO2/FiO2: pao2 / fio2 gives no finite number from ")


def test_records_in_year_one_do_not_break_windows():
    t = make_trial(
        "- id: c\n  kind: inclusion\n  text: t\n  rule: pf < 200 and started_within(cyclophosphamide, 'P6M')\n")
    p = {"observations": [obs("PaO2", 12, "kPa", "0001-01-01"), obs("FiO2", 60, "%", "0001-01-01")],
         "medications": [cyc("0001-01-01")]}
    c, _ = run(t, p, as_of=date(1, 3, 1))
    assert c.status is P


@pytest.mark.parametrize("recorded, unit, rule, status, reason", [
    ("<0.5", "mg/mg", "upcr >= 1", F, "UPCR <0.5 mg/mg on 2026-11-01 (within 3 months), not >= 1 mg/mg"),
    ("<0.5", "mg/mg", "upcr >= 0.3", U, "UPCR <0.5 mg/mg on 2026-11-01 (within 3 months): cannot tell whether >= 0.3 mg/mg"),
    (">300", "mg/mmol", "upcr >= 1", P, "UPCR >300 mg/mmol (>2.65 mg/mg) on 2026-11-01 (within 3 months) >= 1 mg/mg"),
    ("<= 100", "mg/mmol", "upcr < 1", P, "UPCR <= 100 mg/mmol (<=0.884 mg/mg) on 2026-11-01 (within 3 months) < 1 mg/mg"),
])
def test_quantities_recorded_as_bounds_decide_only_when_the_whole_interval_agrees(recorded, unit, rule, status, reason):
    c, _ = run(criterion(rule), {"observations": [obs("UPCR", recorded, unit)]})
    assert (c.status, c.reason) == (status, reason)
    assert c.evidence[0].converted is None and c.evidence[0].value == recorded


def test_a_bound_is_no_value_to_compute_with():
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", "<60", "mmHg"), obs("FiO2", 0.5)]})
    assert c.status is U
    assert "PaO2 <60 mmHg on 2026-11-01 is a bound, not a value" in c.reason
    c, _ = run(criterion("change(edss, 'P12M') >= 0.5"), {"observations": [
        obs("EDSS", "<2", None, "2026-01-01"), obs("EDSS", 4, None, "2026-11-01")]})
    assert c.status is U and "EDSS <2 on 2026-01-01 is a bound, not a value to compute a change from" in c.reason


def test_change_with_two_values_on_its_first_or_last_date_is_unknown_whatever_their_order():
    a, b = obs("EDSS", 3.0, None, "2026-01-10"), obs("EDSS", 4.0, None, "2026-01-10")
    last = obs("EDSS", 4.0, None, "2026-10-01")
    for records in ([a, b, last], [b, a, last]):
        c, _ = run(criterion("change(edss, 'P12M') >= 0.5"), {"observations": records})
        assert c.status is U
        assert c.reason.startswith("2 values of EDSS on 2026-01-10, not a value to compute a change from: ")


@pytest.mark.parametrize("pick, records, rule, status", [
    ("min", [40, "<40"], "hb >= 40", F),      # the lowest is below 40
    ("min", [40, "<=40"], "hb > 40", F),
    ("min", [40, "<=40"], "hb >= 40", U),     # it may be exactly 40
    ("max", [40, ">40"], "hb > 40", P),       # the highest is above 40
    ("max", [40, ">=40"], "hb >= 40", P),
    ("max", [40, ">=40"], "hb > 40", U),
])
def test_open_and_closed_ends_of_an_extreme(pick, records, rule, status):
    text = (DATA / "items.yaml").read_text(encoding="utf-8").replace("    unit: g/dL\n    pick: min\n",
                                                                      f"    unit: g/dL\n    pick: {pick}\n", 1)
    trial = compile_text(text + f"criteria:\n  - {{id: c, kind: inclusion, text: t, rule: '{rule}'}}\n", "x.yaml")
    patient = {"id": "p", "observations": [obs("haemoglobin", v, "g/dL", f"2026-11-0{i + 1}")
                                           for i, v in enumerate(records)]}
    c = screen(patient, trial, AS_OF).criteria[0]
    assert c.status is status, c.reason
