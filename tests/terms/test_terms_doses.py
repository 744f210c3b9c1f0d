"""Medication attributes in concept sets (dose, daily dose, exposure, stable dose, stop reason), screened."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from screening import compile_text, screen
from screening.errors import RuleFileError
from screening.model.patient import Patient
from screening.terms.doses import name_dose, name_frequency

AS_OF = date(2026, 11, 23)

RULES = textwrap.dedent("""
    format: 1
    trial: {id: DOSE-TEST, title: Dose test trial}
    concepts:
      pulse:
        label: methylprednisolone pulse
        names: [methylprednisolone]
        route: intravenous
        daily_dose: ">= 250 mg/day"
      big_dose:
        label: prednisone 20 mg or more a dose
        names: [prednisone]
        dose: ">= 20 mg"
      low_prednisone:
        label: prednisone up to 10 mg a day
        names: [prednisone]
        daily_dose: "<= 10 mg"
      long_mtx:
        label: methotrexate for 12 weeks or more
        names: [methotrexate]
        exposure: P12W
      stable_prednisone:
        label: prednisone on a stable dose for 4 weeks
        names: [prednisone]
        stable_dose: P4W
      mtx_intolerance:
        label: methotrexate stopped for intolerance
        names: [methotrexate]
        stop_reason: [intolerance, adverse event, side effects]
    criteria:
      - {id: pulse, kind: exclusion, text: "Pulse", rule: "started_within(pulse, 'P3M')"}
      - {id: big, kind: exclusion, text: "Big dose", rule: "taking(big_dose)"}
      - {id: low, kind: inclusion, text: "Low dose", rule: "taking(low_prednisone)"}
      - {id: long, kind: inclusion, text: "Long MTX", rule: "ever_taken(long_mtx)"}
      - {id: stable, kind: inclusion, text: "Stable", rule: "taking(stable_prednisone)"}
      - {id: intol, kind: inclusion, text: "Intolerant", rule: "ever_taken(mtx_intolerance)"}
""")


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "dose-test.yaml")


def run(trial, *meds):
    patient = Patient.model_validate({"id": "p", "complete": ["medications"], "medications": list(meds)})
    return {c.id: c for c in screen(patient, trial, AS_OF).criteria}


def test_names_give_a_dose_and_a_frequency_but_not_a_concentration():
    assert name_dose("SoluMedrol 1 g IV daily x3") == (1.0, "g")
    assert name_dose("hydrocortisone 10 MG/ML Topical Cream") is None
    assert name_dose("prednisone 5 mg or 10 mg") is None
    assert name_frequency("prednisone 5 mg BID") == 2.0
    assert name_frequency("metilprednisolona 500 mg cada 24 horas") == 1.0


def test_a_daily_dose_from_dose_and_frequency(trial):
    c = run(trial, {"name": "methylprednisolone", "route": "IV", "dose": 125, "dose_unit": "mg", "doses_per_day": 2,
                    "start": "2026-10-01"})["pulse"]
    assert c.status.value == "fail" and "125 mg a dose (recorded) x 2 a day = 250 mg a day" in c.reason


def test_grams_are_converted(trial):
    c = run(trial, {"name": "methylprednisolone", "route": "intravenous", "daily_dose": 0.5, "daily_dose_unit": "g",
                    "start": "2026-10-01"})["pulse"]
    assert c.status.value == "fail" and "daily dose 0.5 g" in c.reason


def test_a_low_iv_dose_is_no_pulse_and_an_unknown_frequency_asks(trial):
    c = run(trial, {"name": "Solu-Medrol 40 mg IV", "start": "2026-10-01"})["pulse"]
    assert c.status.value == "unknown" and "how many doses a day is not recorded: is the daily dose >= 250 mg/day?" in c.reason
    c = run(trial, {"name": "Solu-Medrol 40 mg IV", "doses_per_day": 1, "start": "2026-10-01"})["pulse"]
    assert c.status.value == "pass" and "40 mg a day: not daily dose >= 250 mg/day" in c.reason


def test_an_incompatible_unit_is_a_question_not_a_guess(trial):
    c = run(trial, {"name": "methylprednisolone", "route": "IV", "dose": 10, "dose_unit": "mg/kg", "doses_per_day": 1,
                    "start": "2026-10-01"})["pulse"]
    assert c.status.value == "unknown" and "cannot be compared with mg" in c.reason


def test_dose_per_administration_and_upper_bounds(trial):
    assert run(trial, {"name": "prednisone", "dose": 20, "dose_unit": "mg", "start": "2026-01-01"})["big"].status.value == "fail"
    assert run(trial, {"name": "prednisone", "dose": 5, "dose_unit": "mg", "start": "2026-01-01"})["big"].status.value == "pass"
    # 5 mg a dose, how often not said: at most 10 mg a day cannot be told; 15 mg a dose is more already
    assert run(trial, {"name": "prednisone 5 mg", "start": "2026-01-01"})["low"].status.value == "unknown"
    assert run(trial, {"name": "prednisone 15 mg", "start": "2026-01-01"})["low"].status.value == "fail"
    assert run(trial, {"name": "prednisone 5 mg daily", "start": "2026-01-01"})["low"].status.value == "pass"


def test_length_of_exposure(trial):
    assert run(trial, {"name": "methotrexate", "start": "2020-01-01", "stop": "2020-06-30",
                       "status": "completed"})["long"].status.value == "pass"
    c = run(trial, {"name": "methotrexate", "start": "2020-01-01", "stop": "2020-02-01", "status": "stopped"})["long"]
    assert c.status.value == "fail" and "taken 32 days, less than 12 weeks" in c.reason
    assert run(trial, {"name": "methotrexate", "stop": "2020-02-01", "status": "stopped"})["long"].status.value == "unknown"


def test_stable_dose(trial):
    same = {"name": "prednisone", "dose": 5, "dose_unit": "mg", "doses_per_day": 1, "start": "2026-08-01"}
    assert run(trial, same)["stable"].status.value == "pass"
    changed = {"name": "prednisone", "dose": 10, "dose_unit": "mg", "doses_per_day": 1, "start": "2026-06-01",
               "stop": "2026-11-05", "status": "stopped"}
    c = run(trial, same, changed)["stable"]
    assert c.status.value == "fail" and "dose changed within the last 4 weeks" in c.reason
    assert run(trial, {"name": "prednisone", "start": "2026-08-01"})["stable"].status.value == "unknown"


def test_stop_reason(trial):
    stopped = {"name": "methotrexate", "start": "2020-01-01", "stop": "2021-01-01", "status": "stopped"}
    assert run(trial, {**stopped, "stop_reason": "GI intolerance"})["intol"].status.value == "pass"
    assert run(trial, {**stopped, "stop_reason": "remission"})["intol"].status.value == "fail"
    c = run(trial, stopped)["intol"]
    assert c.status.value == "unknown" and "stop reason not recorded" in c.reason


@pytest.mark.parametrize("attribute,message", [
    ("daily_dose: '>= 250'", "write an operator, a number and a unit"),
    ("daily_dose: '>= 250 mgg'", "unknown unit 'mgg'"),
    ("dose: '>= 250 mg/h'", "has a rate unit"),
    ("exposure: 12 weeks please", "invalid duration"),
])
def test_check_rejects_bad_attributes_with_their_place(attribute, message):
    text = RULES.replace('daily_dose: ">= 250 mg/day"', attribute)
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "bad.yaml")
    assert message in str(err.value) and "bad.yaml:" in str(err.value)


def test_attributes_apply_to_drug_records_only():
    text = RULES.replace("- {id: pulse, kind: exclusion, text: \"Pulse\", rule: \"started_within(pulse, 'P3M')\"}",
                         "- {id: pulse, kind: exclusion, text: \"Pulse\", rule: \"has_condition(pulse)\"}")
    with pytest.raises(RuleFileError, match="apply to drug records only"):
        compile_text(text, "bad.yaml")
