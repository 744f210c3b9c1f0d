"""Conversions that are not a plain factor: HbA1c between NGSP % and IFCC mmol/mol (the
master equation NGSP = 0.09148 x IFCC + 2.152), temperatures (offset units), and the UCUM
week ``wk``. An offset unit is never converted by multiplying."""

from __future__ import annotations

import pytest

from screening import compile_text, screen
from screening.errors import UnitError
from screening.values import units

AS_OF_TEXT = "2026-11-23"


def _trial(unit: str, context: str | None, rule: str, name: str = "hba1c"):
    ctx = f", context: {context}" if context else ""
    return compile_text(
        "format: 1\ntrial: {id: U-1, title: units}\nconcepts: {}\ndata:\n"
        f"  {name}: {{label: {name}, names: [{name}], unit: '{unit}'{ctx}}}\n"
        f"criteria:\n  - {{id: c, kind: inclusion, text: t, rule: '{rule}'}}\n", "u.yaml")


def _screen(trial, value, unit, name="hba1c"):
    from datetime import date

    p = {"id": "u", "observations": [{"name": name, "value": value, "unit": unit, "date": "2026-11-01"}]}
    return screen(p, trial, date(2026, 11, 23)).criteria[0]


def test_hba1c_ifcc_to_ngsp_by_the_master_equation():
    c = _screen(_trial("%", "hba1c", "hba1c <= 7.5"), 53, "mmol/mol")
    assert c.status.value == "pass" and "(7 %)" in c.reason, c.reason  # 0.09148 * 53 + 2.152 = 7.0004
    c = _screen(_trial("%", "hba1c", "hba1c < 6.5"), 53, "mmol/mol")
    assert c.status.value == "fail", c.reason  # 5.3 % would wrongly pass


def test_hba1c_ngsp_to_ifcc_by_the_master_equation():
    c = _screen(_trial("mmol/mol", "hba1c", "hba1c >= 48"), 7.0, "%")
    assert c.status.value == "pass" and "(53 mmol/mol)" in c.reason, c.reason  # (7 - 2.152) / 0.09148 = 52.995


def test_an_hba1c_bound_converts_by_the_master_equation():
    c = _screen(_trial("%", "hba1c", "hba1c < 6.0"), "<42", "mmol/mol")  # < 5.99 %
    assert c.status.value == "pass", c.reason


def test_hba1c_in_its_own_unit_is_read_as_recorded():
    c = _screen(_trial("%", "hba1c", "hba1c <= 7.5"), 7.2, "%")
    assert c.status.value == "pass" and "7.2 %" in c.reason, c.reason


def test_ucum_week_parses():
    assert units.conversion_factor("wk", "d") == pytest.approx(7.0)
    assert units.conversion_factor("wk", "h") == pytest.approx(168.0)


def test_temperature_converts_with_its_offset():
    c = _screen(_trial("degC", None, "temp >= 38", name="temp"), 100.4, "degF", name="temp")
    assert c.status.value == "pass" and "(38 degC)" in c.reason, c.reason
    c = _screen(_trial("degC", None, "temp >= 38", name="temp"), 311.15, "K", name="temp")
    assert c.status.value == "pass", c.reason


@pytest.mark.parametrize("unit,target", [("degC", "K"), ("degF", "degC"), ("degC", "degF")])
def test_an_offset_unit_is_never_a_plain_factor(unit, target):
    with pytest.raises(UnitError):
        units.conversion_factor(unit, target)


def test_offset_detection_fails_closed_when_pint_internals_change(monkeypatch):
    import pint

    units.conversion_factor.cache_clear()

    def gone(self):
        raise AttributeError("_ok_for_muldiv")

    monkeypatch.setattr(pint.Quantity, "_ok_for_muldiv", gone, raising=False)
    try:
        with pytest.raises(UnitError):
            units.conversion_factor("degC", "K")
    finally:
        units.conversion_factor.cache_clear()


@pytest.mark.parametrize("item_unit, value, unit", [("%", 53, "mmol/mol"), ("mmol/mol", 7.0, "%"),
                                                     ("%", "<42", "mmol/mol"), ("%", 53, "mmol/mol{Hb}")])
def test_without_the_hba1c_context_percent_and_mmol_per_mol_are_never_a_factor_of_10(item_unit, value, unit):
    """53 mmol/mol is 7.0 % by the master equation; pint's factor would make it 5.3 %: fail closed."""
    rule = "hba1c < 6.5" if item_unit == "%" else "hba1c >= 60"
    c = _screen(_trial(item_unit, None, rule), value, unit)
    assert c.status.value == "unknown", c.reason
    assert "5.3" not in c.reason and "530" not in c.reason and "context" in c.reason, c.reason


@pytest.mark.parametrize("unit, target", [("mmol/mol", "%"), ("%", "mmol/mol"), ("mmol/mol", "1"),
                                          ("umol/mol", "%")])
def test_a_ratio_of_amounts_of_substance_is_not_a_plain_ratio(unit, target):
    with pytest.raises(UnitError, match="context"):
        units.conversion_factor(unit, target)


def test_like_ratios_still_convert():
    assert units.conversion_factor("mmol/mol", "umol/mol") == pytest.approx(1000.0)
    assert units.conversion_factor("%", "1") == pytest.approx(0.01)
    assert units.conversion_factor("L/L", "%") == pytest.approx(100.0)  # a haematocrit
