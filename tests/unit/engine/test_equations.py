"""Named equations (CKD-EPI 2021, Cockcroft-Gault), age and constants with units in formulas, and
percent change: hand-checked values from the published equations."""

from __future__ import annotations

import math

import pytest

from screening import screen
from screening.errors import RuleFileError
from screening.rules.compiler import compile_text
from screening.values.equations import cockcroft_gault, egfr_ckd_epi_2021

RULES = """
format: 1
trial: {id: EQ, title: equations}
data:
  creatinine: {label: serum creatinine, codes: ['loinc:2160-0'], unit: umol/L, molar_mass: 113.12 g/mol, window: P3M}
  weight: {label: body weight, codes: ['loinc:29463-7'], unit: kg, window: P3M}
  hba1c: {label: HbA1c, codes: ['loinc:4548-4'], unit: '%', window: P12M}
  egfr:
    label: eGFR
    unit: mL/min/1.73m2
    window: P3M
    derive: {equation: egfr_ckd_epi_2021, inputs: {creatinine: creatinine}}
  crcl:
    label: creatinine clearance
    unit: mL/min
    derive: {equation: cockcroft_gault, inputs: {creatinine: creatinine, weight: weight}, max_spread: P30D}
  crcl_formula:
    label: creatinine clearance (formula, male)
    unit: mL/min
    derive:
      formula: "('140 year' - age) * weight / ('72 year * kg * min * dL / (mg * mL)' * creatinine * '113.12 g/mol')"
      max_spread: P30D
  crcl_sex:
    label: creatinine clearance (formula with sex)
    unit: mL/min
    derive:
      formula: "('140 year' - age) * weight / ('72 year * kg * min * dL / (mg * mL)' * creatinine * '113.12 g/mol')
                * (sex == 'female' ? 0.85 : 1)"
      max_spread: P30D
criteria:
  - {id: egfr, kind: inclusion, text: "eGFR >= 60", rule: egfr >= 60}
  - {id: crcls, kind: inclusion, text: "CrCl >= 60", rule: crcl_sex >= 60}
  - {id: crcl, kind: inclusion, text: "CrCl >= 60", rule: crcl >= 60}
  - {id: crclf, kind: inclusion, text: "CrCl >= 60", rule: crcl_formula >= 60}
  - {id: a1c, kind: inclusion, text: "HbA1c fell by 10% or more", rule: "pct_change(hba1c, 'P12M') <= -10"}
"""
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "eq.yaml")


def person(sex="female", birth="1966-01-01", *obs):
    return {"id": "p", "birth_date": birth, "sex": sex, "observations": list(obs)}


def scr(value, unit="mg/dL", day="2026-11-01"):
    return {"code": "loinc:2160-0", "value": value, "unit": unit, "date": day}


def wt(value, day="2026-11-01"):
    return {"code": "loinc:29463-7", "value": value, "unit": "kg", "date": day}


def by_id(result):
    return {c.id: c for c in result.criteria}


def test_published_values_by_hand():
    # CKD-EPI 2021, female, 60 y, Scr 1.0 mg/dL: 142 x (1/0.7)^-1.2 x 0.9938^60 x 1.012
    by_hand = 142 * (1 / 0.7) ** -1.2 * 0.9938 ** 60 * 1.012
    assert round(by_hand) == 64
    assert egfr_ckd_epi_2021(1.0, 60, "female") == pytest.approx(64.495, abs=1e-3)
    # male, 60 y, Scr 1.0: 142 x (1/0.9)^-1.2 x 0.9938^60 = 86.2; below kappa only the alpha term applies
    assert egfr_ckd_epi_2021(1.0, 60, "male") == pytest.approx(86.16, abs=0.01)
    assert egfr_ckd_epi_2021(0.6, 40, "female") == pytest.approx(142 * (0.6 / 0.7) ** -0.241 * 0.9938 ** 40 * 1.012)
    # Cockcroft-Gault: (140 - 60) x 70 / (72 x 1.0) x 0.85 = 66.1 mL/min
    assert cockcroft_gault(1.0, 60, "female", 70) == pytest.approx(80 * 70 / 72 * 0.85)


def test_egfr_from_creatinine_in_umol_l(trial):
    r = by_id(screen(person("female", "1966-01-01", scr(88.4, "umol/L")), trial, as_of=AS_OF))
    assert r["egfr"].status == "pass"
    assert "eGFR 64.5 mL/min/1.73m2 computed by CKD-EPI 2021" in r["egfr"].reason
    assert "age 60" in r["egfr"].reason and "sex female" in r["egfr"].reason
    r = by_id(screen(person("female", "1966-01-01", scr(1.2)), trial, as_of=AS_OF))
    assert r["egfr"].status == "fail"  # 142 x (1.2/0.7)^-1.2 (0.5237) x 0.9938^60 (0.68854) x 1.012 = 51.8
    assert "eGFR 51.8" in r["egfr"].reason


def test_unknown_without_creatinine_sex_or_birth_date(trial):
    r = by_id(screen(person("female", "1966-01-01"), trial, as_of=AS_OF))
    assert r["egfr"].status == "unknown" and "no serum creatinine on record" in r["egfr"].reason
    r = by_id(screen({"id": "p", "birth_date": "1966-01-01", "observations": [scr(1.0)]}, trial, as_of=AS_OF))
    assert r["egfr"].status == "unknown" and "sex not recorded" in r["egfr"].reason
    r = by_id(screen({"id": "p", "sex": "male", "observations": [scr(1.0)]}, trial, as_of=AS_OF))
    assert r["egfr"].status == "unknown" and "no birth date" in r["egfr"].reason
    r = by_id(screen(person("other", "1966-01-01", scr(1.0)), trial, as_of=AS_OF))
    assert r["egfr"].status == "unknown" and "female and male" in r["egfr"].reason
    # a creatinine older than the creatinine item's window gives no eGFR
    r = by_id(screen(person("female", "1966-01-01", scr(1.0, day="2026-01-01")), trial, as_of=AS_OF))
    assert r["egfr"].status == "unknown"
    # a bound is no value to compute with
    r = by_id(screen(person("female", "1966-01-01", scr("<0.3")), trial, as_of=AS_OF))
    assert r["egfr"].status == "unknown" and "a bound" in r["egfr"].reason


def test_recorded_egfr_item_without_codes_is_always_computed(trial):
    assert trial.items["egfr"].formula.operands == ("creatinine",)


def test_cockcroft_gault_and_the_same_by_formula(trial):
    r = by_id(screen(person("male", "1966-01-01", scr(1.0), wt(70)), trial, as_of=AS_OF))
    assert r["crcl"].status == "pass" and "77.8 mL/min" in r["crcl"].reason  # 80 x 70 / 72
    assert r["crclf"].status == "pass" and "77.8 mL/min" in r["crclf"].reason
    r = by_id(screen(person("female", "1966-01-01", scr(1.0), wt(70)), trial, as_of=AS_OF))
    assert "66.1 mL/min" in r["crcl"].reason
    r = by_id(screen(person("female", "1966-01-01", scr(1.0)), trial, as_of=AS_OF))
    assert r["crcl"].status == "unknown" and "no body weight on record" in r["crcl"].reason


def test_sex_in_a_formula(trial):
    # the Cockcroft-Gault equation written as a formula, with its x 0.85 for women, gives the named equation's value
    r = by_id(screen(person("female", "1966-01-01", scr(1.0), wt(70)), trial, as_of=AS_OF))
    assert r["crcls"].status == "pass" and "66.1 mL/min" in r["crcls"].reason  # 80 x 70 / 72 x 0.85
    assert "sex female" in r["crcls"].reason
    r = by_id(screen(person("male", "1966-01-01", scr(1.0), wt(70)), trial, as_of=AS_OF))
    assert "77.8 mL/min" in r["crcls"].reason
    r = by_id(screen(person("female", "1966-01-01", scr(1.3), wt(70)), trial, as_of=AS_OF))
    assert r["crcls"].status == "fail"  # 80 x 70 / (72 x 1.3) x 0.85 = 50.9
    # no sex recorded, or one the formula does not name: unknown, never the 'else' case
    r = by_id(screen({"id": "p", "birth_date": "1966-01-01", "observations": [scr(1.0), wt(70)]}, trial, as_of=AS_OF))
    assert r["crcls"].status == "unknown" and "sex not recorded" in r["crcls"].reason
    r = by_id(screen(person("other", "1966-01-01", scr(1.0), wt(70)), trial, as_of=AS_OF))
    assert r["crcls"].status == "unknown" and "female and male" in r["crcls"].reason


@pytest.mark.parametrize("formula, message", [
    ("(sex == 'female' ? weight : 1) * creatinine", "the two cases of sex == 'female'"),
    ("weight * (sex == 'woman' ? 0.85 : 1)", "'woman' is not a sex"),
    ("weight * (weight > 3 ? 0.85 : 1)", "a case (? :) in a formula must test sex"),
    ("weight * sex", "formula operand 'sex'"),
    ("weight * (sex in ['female'] ? 0.85 : 1) + '1 kg'", None),
    ("weight * (sex != 'male' ? 0.85 : 1)", None),
])
def test_check_sex_cases(formula, message):
    text = RULES.split("criteria:")[0] + f"  bad:\n    unit: kg\n    derive: {{formula: \"{formula}\"}}\n" + \
        "criteria:\n  - {id: x, kind: inclusion, text: x, rule: bad >= 1}\n"
    if message is None:
        assert compile_text(text, "ok.yaml").items["bad"].formula.sex
        return
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "bad.yaml")
    assert message in str(err.value)
    assert "bad.yaml:" in str(err.value)


def test_percent_change(trial):
    a1c = [{"code": "loinc:4548-4", "value": v, "unit": "%", "date": d} for v, d in ((8.0, "2026-01-10"),
                                                                                     (7.0, "2026-10-01"))]
    r = by_id(screen(person("female", "1966-01-01", *a1c), trial, as_of=AS_OF))
    assert r["a1c"].status == "pass" and "-12.5%" in r["a1c"].reason
    r = by_id(screen(person("female", "1966-01-01", a1c[1]), trial, as_of=AS_OF))
    assert r["a1c"].status == "unknown" and "needs two values" in r["a1c"].reason


@pytest.mark.parametrize("derive, message", [
    ("{equation: egfr_ckd_epi_2012, inputs: {creatinine: creatinine}}", "did you mean 'egfr_ckd_epi_2021'"),
    ("{equation: egfr_ckd_epi_2021}", "needs the input 'creatinine'"),
    ("{equation: egfr_ckd_epi_2021, inputs: {creatinine: weight}}", "cannot be read in mg/dL"),
    ("{equation: cockcroft_gault, inputs: {creatinine: creatinine, weight: weight, height: weight}}",
     "has no input 'height'"),
    ("{formula: \"'140 year' - age\"}", "gives [time]"),
    ("{formula: \"'140 parsecs per fortnight' * weight\"}", "gives"),
    ("{formula: \"'12 apples' * weight\"}", "not a number with a unit"),
    ("{equation: egfr_ckd_epi_2021, formula: creatinine}", "either 'formula' or 'equation'"),
])
def test_check_rejects(derive, message):
    text = RULES.split("criteria:")[0] + f"  bad:\n    unit: mL/min/1.73m2\n    derive: {derive}\n" + \
        "criteria:\n  - {id: x, kind: inclusion, text: x, rule: bad >= 1}\n"
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "bad.yaml")
    assert message in str(err.value)
    assert "bad.yaml:" in str(err.value)
