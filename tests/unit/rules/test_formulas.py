"""Derived items: every operator with constants, units and mixed operands, against values
worked out by hand; and the formulas `check` must refuse (dimensions, exponents, division
by a zero constant, circular items) with a located message instead of a crash."""

from __future__ import annotations

import re

import pytest

from screening import RuleFileError, compile_text, screen

from engine_helpers import AS_OF

HEAD = """\
format: 1
trial: {id: F-1, title: Formulas}
concepts: {}
data:
  weight: {label: weight, names: [weight], unit: kg}
  weight_before: {label: earlier weight, names: [earlier weight], unit: kg}
  height: {label: height, names: [height], unit: m}
  pao2: {label: PaO2, names: [PaO2], unit: mmHg}
  fio2: {label: FiO2, names: [FiO2], unit: "1"}
"""


def trial_with(formula: str, unit: str):
    text = HEAD + f"  out: {{label: derived, unit: '{unit}', derive: {{formula: '{formula}', max_spread: P10Y}}}}\n"
    text += "criteria:\n  - {id: c, kind: inclusion, text: derived, rule: out > -1000000}\n"
    return compile_text(text, "f.yaml")


PATIENT = {"id": "f", "birth_date": "1980-01-01", "observations": [
    {"name": "weight", "value": 80, "unit": "kg", "date": "2026-11-01"},
    {"name": "earlier weight", "value": 165, "unit": "lb", "date": "2026-10-01"},  # 74.8427 kg
    {"name": "height", "value": 180, "unit": "cm", "date": "2026-11-01"},
    {"name": "PaO2", "value": 12, "unit": "kPa", "date": "2026-11-01"},  # 90.0074 mmHg
    {"name": "FiO2", "value": 40, "unit": "%", "date": "2026-11-01"},
]}
LB = 0.45359237
KPA_MMHG = 1000 / 133.322387415


def derived(formula: str, unit: str) -> float:
    result = screen(PATIENT, trial_with(formula, unit), AS_OF)
    value = result.criteria[0].reason
    m = re.search(r"^derived (-?[0-9.e+]+)", value)
    assert m, value
    return float(m.group(1))


CASES = [
    # formula, unit, worked out by hand
    ("2 * weight", "kg", 160.0),
    ("weight * 2", "kg", 160.0),
    ("weight / 2", "kg", 40.0),
    ("weight / 2", "g", 40_000.0),
    ("weight - weight_before", "kg", 80 - 165 * LB),
    ("weight_before - weight", "g", (165 * LB - 80) * 1000),
    ("weight + weight_before", "kg", 80 + 165 * LB),
    ("(weight + weight_before) / 4", "kg", (80 + 165 * LB) / 4),
    ("weight / height ** 2", "kg/m^2", 80 / 1.8 ** 2),
    ("weight / (height * height)", "kg/m^2", 80 / 1.8 ** 2),
    ("pao2 / fio2", "mmHg", 12 * KPA_MMHG / 0.4),
    ("pao2 / fio2", "kPa", 12 / 0.4),
    ("fio2 * 100", "1", 40.0),
    ("fio2 + 0.1", "1", 0.5),
    ("1 - fio2", "%", 60.0),
    ("height ** 2", "m^2", 3.24),
    ("2 ** 3 * weight", "kg", 640.0),
    ("weight - 2 * weight_before", "kg", 80 - 2 * 165 * LB),
]


@pytest.mark.parametrize("formula,unit,expected", CASES, ids=[f"{f} [{u}]" for f, u, _ in CASES])
def test_formula_value_matches_the_hand_calculation(formula, unit, expected):
    assert derived(formula, unit) == pytest.approx(expected, rel=1e-3, abs=0.5)  # reasons round to 3 digits


def test_the_seed_formulas_still_compute():  # these were right before, and must stay right
    assert derived("pao2 / fio2", "mmHg") == pytest.approx(12 * KPA_MMHG / 0.4, rel=1e-3)
    assert derived("weight / height ** 2", "kg/m^2") == pytest.approx(80 / 1.8 ** 2, rel=1e-3)


def check_message(formula: str, unit: str = "kg", extra: str = "") -> str:
    text = HEAD + extra + f"  out: {{label: derived, unit: '{unit}', derive: {{formula: '{formula}'}}}}\n"
    text += "criteria:\n  - {id: c, kind: inclusion, text: derived, rule: out > 1}\n"
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "f.yaml")
    return str(err.value.problems[0])


BAD = [
    ("weight + 1", "kg", "cannot add"),
    ("1 - weight", "kg", "cannot subtract"),
    ("weight + height", "kg", "cannot add"),
    ("weight - pao2", "kg", "cannot subtract"),
    ("weight / 0", "kg", "division by zero"),
    ("weight / (2 - 2)", "kg", "division by zero"),
    ("weight ** height", "kg", "exponent"),
    ("2 ** weight", "kg", "exponent"),
    ("weight * height", "kg", "not the unit"),
]


@pytest.mark.parametrize("formula,unit,fragment", BAD, ids=[f for f, _, _ in BAD])
def test_check_refuses_a_formula_whose_dimensions_do_not_hold(formula, unit, fragment):
    message = check_message(formula, unit)
    assert message.startswith("f.yaml:") and fragment in message, message


@pytest.mark.parametrize("extra", [
    "  a1: {label: a1, unit: kg, derive: {formula: a2 * 1}}\n  a2: {label: a2, unit: kg, derive: {formula: a1 * 1}}\n",
    "  a1: {label: a1, unit: kg, derive: {formula: a2 * 1}}\n  a2: {label: a2, unit: kg, derive: {formula: a3 * 1}}\n"
    "  a3: {label: a3, unit: kg, derive: {formula: a1 + weight}}\n",
])
def test_check_refuses_circular_derived_items(extra):
    message = check_message("a1 * 1", "kg", extra)
    assert "circular" in message and "a1" in message and "a2" in message, message


def test_a_chain_of_derived_items_is_not_circular():
    text = HEAD + ("  a1: {label: a1, unit: kg, derive: {formula: weight * 2, max_spread: P10Y}}\n"
                   "  out: {label: derived, unit: kg, derive: {formula: a1 + weight, max_spread: P10Y}}\n"
                   "criteria:\n  - {id: c, kind: inclusion, text: derived, rule: out > 1}\n")
    trial = compile_text(text, "f.yaml")
    reason = screen(PATIENT, trial, AS_OF).criteria[0].reason
    assert "derived 240 kg" in reason, reason
