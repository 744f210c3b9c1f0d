"""Unit invariance: the same quantity written in an equivalent unit gives the same status."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from screening import screen

from property_helpers import AS_OF, away_from, trial

SETTINGS = settings(max_examples=100, deadline=None)


def statuses(observations):
    r = screen({"id": "u", "birth_date": "1980-01-01", "observations": observations}, trial(), as_of=AS_OF)
    return {c.id: c.status for c in r.criteria}


def ob(name, value, unit, day="2026-11-01"):
    out = {"name": name, "value": value, "date": day}
    if unit is not None:
        out["unit"] = unit
    return out


@SETTINGS
@given(st.floats(0.001, 100).filter(away_from([1, 5])))
def test_upcr_mg_per_mmol_mg_per_mg_g_per_g(v):
    spellings = [ob("UPCR", v, "mg/mg"), ob("UPCR", v, "g/g"), ob("UPCR", v * 1000, "mg/g"),
                 ob("UPCR", v * 113.12, "mg/mmol"), ob("UPCR", v * 0.11312, "g/mmol")]
    results = [statuses([o]) for o in spellings]
    for r in results[1:]:
        assert (r["inc-upcr"], r["inc-upcr-cap"]) == (results[0]["inc-upcr"], results[0]["inc-upcr-cap"])


@SETTINGS
@given(st.floats(20, 200).filter(away_from([70])), st.floats(0.21, 1.0).filter(away_from([0.4])))
def test_pao2_kpa_mmhg_and_fio2_percent_fraction(pao2, fio2):
    if abs(pao2 / fio2 - 300) < 1e-3:
        return
    variants = [
        [ob("PaO2", pao2, "mmHg"), ob("FiO2", fio2, None)],
        [ob("PaO2", pao2, "mm[Hg]"), ob("FiO2", fio2, "1")],
        [ob("PaO2", pao2 / 7.500615758456563, "kPa"), ob("FiO2", fio2 * 100, "%")],
        [ob("PaO2", pao2 * 133.322387415, "Pa"), ob("FiO2", fio2 * 100, "percent")],
    ]
    keys = ("inc-pf", "inc-pao2", "inc-fio2")
    first = [statuses(variants[0])[k] for k in keys]
    for v in variants[1:]:
        assert [statuses(v)[k] for k in keys] == first


@SETTINGS
@given(st.floats(10, 300).filter(away_from([50])))
def test_weight_lb_kg(kg):
    a = statuses([ob("body weight", kg, "kg")])["inc-weight"]
    b = statuses([ob("body weight", kg / 0.45359237, "lb")])["inc-weight"]
    c = statuses([ob("body weight", kg / 0.45359237, "[lb_av]")])["inc-weight"]
    d = statuses([ob("body weight", kg * 1000, "g")])["inc-weight"]
    assert a == b == c == d


@SETTINGS
@given(st.floats(2, 20).filter(away_from([10])))
def test_haemoglobin_g_per_dl_g_per_l(g_dl):
    assert statuses([ob("haemoglobin", g_dl, "g/dL")])["inc-hb"] == statuses([ob("haemoglobin", g_dl * 10, "g/L")])["inc-hb"]
