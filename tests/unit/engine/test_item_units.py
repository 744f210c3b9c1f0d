"""Data items' molar mass and plausible range: validated at compile time (file:line:col), compiled
into the item (precomputed factors, the range check), and molar-mass conversions at screening time."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from screening import RuleFileError, compile_text, screen
from screening.rules.compiled import outside_range

AS_OF = date(2026, 11, 23)

BASE = """\
format: 1
trial: {id: T-2, title: Test}
data:
  creatinine:
    label: serum creatinine
    names: [creatinine]
    unit: umol/L
    molar_mass: 113.12 g/mol
  glucose:
    label: glucose
    names: [glucose]
    unit: mmol/L
    molar_mass: 180.16 g/mol
  fio2:
    label: FiO2
    names: [FiO2]
    unit: "1"
    range: [0.21, 1]
  weight:
    label: body weight
    names: [weight]
    unit: kg
    range: [0.2, null]
criteria:
  - {id: c1, kind: inclusion, text: creatinine at most 150 umol/L, rule: creatinine <= 150}
  - {id: c2, kind: inclusion, text: glucose under 7 mmol/L, rule: glucose < 7}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "t.yaml")
    return [str(p) for p in err.value.problems]


def test_base_compiles_with_molar_masses_and_ranges():
    trial = compile_text(BASE, "t.yaml")
    creat, glucose, fio2, weight = (trial.items[n] for n in ("creatinine", "glucose", "fio2", "weight"))
    assert creat.molar_mass == pytest.approx(113.12) and glucose.molar_mass == pytest.approx(180.16)
    assert creat.factors["mg/dL"] == pytest.approx(10_000 / 113.12)  # precomputed, through the molar mass
    assert glucose.factors["mg/dL"] == pytest.approx(10 / 180.16)
    assert fio2.plausible == (0.21, 1.0) and weight.plausible == (0.2, None)
    assert fio2.molar_mass is None and creat.plausible is None
    again = pickle.loads(pickle.dumps(trial))  # compiled trials are cached and sent to workers
    assert again.items["creatinine"].molar_mass == creat.molar_mass
    assert again.items["fio2"].plausible == (0.21, 1.0)


@pytest.mark.parametrize("old, new, message", [
    ("molar_mass: 113.12 g/mol", "molar_mass: 113.12 g",
     "t.yaml:8:17: error: molar mass '113.12 g' is [mass], not a mass per amount of substance (e.g. '113.12 g/mol')"),
    ("molar_mass: 113.12 g/mol", "molar_mass: 113.12",
     "t.yaml:8:17: error: molar mass 113.12 needs its unit, e.g. '113.12 g/mol'"),
    ("molar_mass: 113.12 g/mol", "molar_mass: 113.12 mol/g",
     "t.yaml:8:17: error: molar mass '113.12 mol/g' is [substance] / [mass], not a mass per amount of substance "
     "(e.g. '113.12 g/mol')"),
    ("molar_mass: 113.12 g/mol", "molar_mass: 113.12 g/mol\n    context: creatinine_ratio",
     "t.yaml:8:17: error: data item 'creatinine' has both a context and a molar mass: give one of them"),
    ("range: [0.21, 1]", "range: [1, 0.21]",
     "t.yaml:18:12: error: range lower bound 1 is above its upper bound 0.21"),
    ("range: [0.21, 1]", "range: [null, null]",
     "t.yaml:18:12: error: a plausible range needs at least one bound (null means no bound)"),
    ("range: [0.21, 1]", "range: ['0.21', 1]",
     "t.yaml:18:13: error: data.fio2.range.0: Input should be a valid number"),
    ("range: [0.21, 1]", "range: [0.21, 1, 2]",
     "t.yaml:18:12: error: data.fio2.range: Tuple should have at most 2 items after validation, not 3"),
    ("range: [0.21, 1]", "range: 1",
     "t.yaml:18:12: error: data.fio2.range: Input should be a valid tuple"),
    ('unit: "1"\n    range: [0.21, 1]', "type: coded\n    range: [0.21, 1]",
     "t.yaml:18:12: error: coded items have no plausible range (only quantities do)"),
])
def test_bad_molar_masses_and_ranges_are_located(old, new, message):
    assert old in BASE
    assert message in problems(BASE.replace(old, new, 1))


def test_screening_converts_mass_concentrations_through_the_molar_mass():
    trial = compile_text(BASE, "t.yaml")

    def run(observations):
        result = screen({"id": "p", "observations": observations}, trial, as_of=AS_OF)
        return {c.id: (c.status.value, c.reason) for c in result.criteria}

    out = run([{"name": "creatinine", "value": 1.2, "unit": "mg/dL", "date": "2026-11-01"},  # 106 umol/L
               {"name": "glucose", "value": 140, "unit": "mg/dL", "date": "2026-11-01"}])  # 7.77 mmol/L
    assert out["c1"][0] == "pass" and "(106 umol/L)" in out["c1"][1]
    assert out["c2"][0] == "fail" and "(7.77 mmol/L)" in out["c2"][1]
    out = run([{"name": "creatinine", "value": 2, "unit": "mg/dL", "date": "2026-11-01"},  # 177 umol/L
               {"name": "glucose", "value": 5.2, "unit": "mmol/L", "date": "2026-11-01"}])
    assert out["c1"][0] == "fail" and "(177 umol/L)" in out["c1"][1]
    assert out["c2"][0] == "pass"
    out = run([{"name": "creatinine", "value": 1.2, "unit": "mmHg", "date": "2026-11-01"}])
    assert out["c1"][0] == "unknown" and "cannot be converted" in out["c1"][1]


def test_without_a_molar_mass_mg_per_dl_stays_unknown():
    trial = compile_text(BASE.replace("    molar_mass: 113.12 g/mol\n", ""), "t.yaml")
    result = screen({"id": "p", "observations": [{"name": "creatinine", "value": 1.2, "unit": "mg/dL",
                                                   "date": "2026-11-01"}]}, trial, as_of=AS_OF)
    assert result.criteria[0].status.value == "unknown"
    assert "cannot be converted" in result.criteria[0].reason


# -- the range check itself (pure; wired into item resolution by items.py)

def test_item_spec_implausible():
    trial = compile_text(BASE, "t.yaml")
    fio2, weight, creat = trial.items["fio2"], trial.items["weight"], trial.items["creatinine"]
    assert fio2.implausible(40.0) == "is outside the plausible range 0.21 to 1"
    assert fio2.implausible(0.2) == "is outside the plausible range 0.21 to 1"
    assert fio2.implausible(0.21) is None and fio2.implausible(1.0) is None and fio2.implausible(0.4) is None
    assert weight.implausible(-3.0) == "is below the plausible minimum of 0.2 kg"
    assert weight.implausible(0.0) == "is below the plausible minimum of 0.2 kg"
    assert weight.implausible(250.0) is None
    assert creat.implausible(-1.0) is None  # no range declared: nothing to say


@pytest.mark.parametrize("value, low, high, unit, expected", [
    (5.0, 0.0, 10.0, "kg", None),
    (0.0, 0.0, 10.0, "kg", None),  # bounds are inclusive
    (10.0, 0.0, 10.0, "kg", None),
    (11.0, 0.0, 10.0, "kg", "is outside the plausible range 0 to 10 kg"),
    (11.0, None, 10.0, "m", "is above the plausible maximum of 10 m"),
    (-1.0, 0.0, None, "1", "is below the plausible minimum of 0"),
    (float("nan"), 0.0, 1.0, "1", "is not a finite number"),
    (float("inf"), 0.0, None, "1", "is not a finite number"),
])
def test_outside_range(value, low, high, unit, expected):
    assert outside_range(value, low, high, unit) == expected
