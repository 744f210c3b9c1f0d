"""Plausible ranges at screening time: a value outside its item's range (as recorded, after conversion,
or computed by a formula) makes the item unknown with the reason, and is never compared.

These need ItemSpec.implausible() called from item resolution (items.py: _convert and _derive).
"""

from __future__ import annotations

from datetime import date

import pytest

from screening import compile_text, screen

AS_OF = date(2026, 11, 23)

RULES = """\
format: 1
trial: {id: T-RANGE, title: Plausible ranges}
data:
  fio2:
    label: FiO2
    names: [FiO2]
    unit: "1"
    range: [0.21, 1]
  pao2:
    label: PaO2
    names: [PaO2]
    unit: mmHg
    range: [10, 800]
  pf_ratio:
    label: PaO2/FiO2
    names: [P/F ratio]
    unit: mmHg
    derive: {formula: pao2 / fio2, max_spread: P0D}
  weight:
    label: body weight
    names: [body weight]
    unit: kg
    range: [0.2, 650]
  height:
    label: body height
    names: [body height]
    unit: m
  bmi:
    label: BMI
    names: [BMI]
    unit: kg/m^2
    range: [5, 150]
    derive: {formula: weight / height ** 2, max_spread: P10Y}
  creatinine:
    label: serum creatinine
    names: [creatinine]
    unit: umol/L
    molar_mass: 113.12 g/mol
    range: [5, 3000]
criteria:
  - {id: fio2, kind: inclusion, text: FiO2 at least 0.5, rule: fio2 >= 0.5}
  - {id: pf, kind: inclusion, text: P/F at most 200, rule: pf_ratio <= 200}
  - {id: weight, kind: inclusion, text: weight under 150 kg, rule: weight < 150}
  - {id: bmi, kind: inclusion, text: BMI under 35, rule: bmi < 35}
  - {id: creat, kind: inclusion, text: creatinine under 150 umol/L, rule: creatinine < 150}
  - {id: weight-gain, kind: inclusion, text: weight gain under 5 kg in a year, rule: "change(weight, 'P12M') < 5"}
"""
TRIAL = compile_text(RULES, "ranges.yaml")


def obs(name, value, unit=None, day="2026-11-02"):
    out = {"name": name, "value": value, "date": day}
    if unit is not None:
        out["unit"] = unit
    return out


def results(*observations):
    result = screen({"id": "p", "observations": list(observations)}, TRIAL, as_of=AS_OF)
    return {c.id: c for c in result.criteria}


def test_fio2_charted_as_a_percentage_without_unit_is_unknown():
    c = results(obs("FiO2", 40))["fio2"]
    assert c.status.value == "unknown"
    assert "FiO2 40 on 2026-11-02 is outside the plausible range 0.21 to 1" in c.reason
    assert "fio2" in c.missing


def test_fio2_in_range_is_compared_as_before():
    assert results(obs("FiO2", 0.6))["fio2"].status.value == "pass"
    assert results(obs("FiO2", 40, "%"))["fio2"].status.value == "fail"  # 0.4, plausible
    assert results(obs("FiO2", 0.21))["fio2"].status.value == "fail"  # bounds are inclusive
    assert results(obs("FiO2", 1))["fio2"].status.value == "pass"


def test_an_implausible_operand_makes_the_derived_value_unknown():
    c = results(obs("PaO2", 60, "mmHg"), obs("FiO2", 40))["pf"]
    assert c.status.value == "unknown"
    assert "outside the plausible range 0.21 to 1" in c.reason


@pytest.mark.parametrize("value, unit, shown", [
    (-70, "kg", "body weight -70 kg on 2026-11-02 is below"),
    (0, "kg", "body weight 0 kg on 2026-11-02 is outside the plausible range 0.2 to 650 kg"),
    (-5, "lb", "body weight -5 lb (-2.27 kg) on 2026-11-02 is outside the plausible range 0.2 to 650 kg"),
    (2000, "kg", "is outside the plausible range 0.2 to 650 kg"),
])
def test_impossible_weights_are_unknown_not_compared(value, unit, shown):
    c = results(obs("body weight", value, unit))["weight"]
    assert c.status.value == "unknown"
    assert "outside the plausible range 0.2 to 650 kg" in c.reason
    assert shown.replace(" is below", "") in c.reason


def test_negative_creatinine_is_unknown_also_after_a_molar_mass_conversion():
    c = results(obs("creatinine", -1, "mg/dL"))["creat"]
    assert c.status.value == "unknown"
    assert "serum creatinine -1 mg/dL (-88.4 umol/L) on 2026-11-02 is outside the plausible range 5 to 3000 umol/L" \
        in c.reason
    assert results(obs("creatinine", 1.2, "mg/dL"))["creat"].status.value == "pass"  # 106 umol/L


def test_a_range_applies_to_the_computed_value():
    # height 0.0001 in (2.5 micrometres) has no range of its own; the BMI it gives has one
    c = results(obs("body weight", 70, "kg"), obs("body height", 0.0001, "in"))["bmi"]
    assert c.status.value == "unknown"
    assert "outside the plausible range 5 to 150 kg/m^2" in c.reason
    assert "computed as weight / height ** 2" in c.reason
    ok = results(obs("body weight", 70, "kg"), obs("body height", 1.75, "m"))["bmi"]
    assert ok.status.value == "pass"  # 22.9


def test_a_recorded_implausible_value_is_unknown_even_where_a_formula_could_compute_one():
    c = results(obs("BMI", 2500, "kg/m^2"), obs("body weight", 70, "kg"), obs("body height", 1.75, "m"))["bmi"]
    assert c.status.value == "unknown"
    assert "BMI 2500 kg/m^2 on 2026-11-02 is outside the plausible range 5 to 150 kg/m^2" in c.reason


def test_change_over_a_window_refuses_an_implausible_value():
    c = results(obs("body weight", 70, "kg", "2026-01-10"), obs("body weight", -72, "kg"))["weight-gain"]
    assert c.status.value == "unknown"
    assert "outside the plausible range" in c.reason


def test_a_bound_wholly_outside_the_plausible_range_is_unknown():
    from screening import compile_text, screen

    from engine_helpers import DATA

    text = (DATA / "items.yaml").read_text(encoding="utf-8").replace(
        '  fio2:\n    label: FiO2\n    names: [FiO2]\n    unit: "1"\n',
        '  fio2:\n    label: FiO2\n    names: [FiO2]\n    unit: "1"\n    range: [0.21, 1]\n')
    trial = compile_text(text + "criteria:\n  - {id: c, kind: inclusion, text: FiO2, rule: fio2 >= 0.5}\n", "r.yaml")
    for recorded, unit, status in ((">1", None, "unknown"), (">100", "%", "unknown"), ("<0.21", None, "unknown"),
                                   (">0.6", None, "pass"), ("<0.4", None, "fail")):
        o = {"name": "FiO2", "value": recorded, "date": "2026-11-20", **({"unit": unit} if unit else {})}
        c = screen({"id": "p", "observations": [o]}, trial, "2026-11-23").criteria[0]
        assert c.status.value == status, (recorded, c.reason)
        if status == "unknown":
            assert "lies wholly outside the plausible range 0.21 to 1" in c.reason
