"""Units as physics (pint + UCUM) and titers as dilutions."""

from __future__ import annotations

import pytest

from screening.errors import UnitError
from screening.units import conversion_factor, format_number, parse_titer, parse_unit

CREATININE_G_PER_MOL = 113.12


@pytest.mark.parametrize("unit, target, context, factor", [
    ("mg/mmol", "mg/mg", "creatinine_ratio", 1 / CREATININE_G_PER_MOL),
    ("mg/mg", "mg/mmol", "creatinine_ratio", CREATININE_G_PER_MOL),
    ("g/g", "mg/mg", None, 1.0),
    ("g/mmol", "mg/mg", "creatinine_ratio", 1000 / CREATININE_G_PER_MOL),
    ("kPa", "mmHg", None, 7.500615758456563),
    ("mm[Hg]", "mmHg", None, 1.0),
    ("mmHg", "kPa", None, 0.133322387415),
    ("lb", "kg", None, 0.45359237),
    ("[lb_av]", "kg", None, 0.45359237),
    ("%", "1", None, 0.01),
    ("percent", "dimensionless", None, 0.01),
    ("1", "%", None, 100.0),
    ("/hpf", "/hpf", None, 1.0),
    ("/[HPF]", "/hpf", None, 1.0),
    ("1/HPF", "/hpf", None, 1.0),
    ("10*9/L", "1/L", None, 1e9),
    ("10*9/L", "10*9/L", None, 1.0),
    ("10^9/L", "10*9/L", None, 1.0),
    ("10*3/uL", "10*9/L", None, 1.0),
    ("cells/uL", "1/uL", None, 1.0),
    ("g/L", "g/dL", None, 0.1),
    ("mg/dL", "g/L", None, 0.01),
])
def test_conversion_factor(unit, target, context, factor):
    assert conversion_factor(unit, target, context) == pytest.approx(factor, rel=1e-9)


def test_ucum_10_star_9_is_a_power_of_ten_not_ninety():
    assert parse_unit("10*9/L").to("1/L").magnitude == pytest.approx(1e9)
    assert conversion_factor("10*9/L", "1/L") != pytest.approx(90)


def test_creatinine_ratio_needs_its_context():
    with pytest.raises(UnitError, match=r"cannot be converted to 'mg/mg'"):
        conversion_factor("mg/mmol", "mg/mg")


@pytest.mark.parametrize("unit, target, message", [
    ("kg", "m", r"'kg' \(\[mass\]\) cannot be converted to 'm' \(\[length\]\)"),
    ("mg/dL", "mmol/L", r"cannot be converted"),
    ("/hpf", "/lpf", r"cannot be converted"),
    ("IU/L", "g/L", r"cannot be converted"),
    ("mmHg", "1", r"cannot be converted to '1' \(dimensionless\)"),
    ("furlongs_per_blob", "kg", r"unknown unit 'furlongs_per_blob'"),
    ("10*x/L", "1/L", r"unknown unit '10\*x/L'"),
    ("degC", "K", r"offset unit"),
])
def test_incompatible_or_unknown_units_raise_unit_error(unit, target, message):
    with pytest.raises(UnitError, match=message):
        conversion_factor(unit, target)


def test_unknown_context_is_a_unit_error():
    with pytest.raises(UnitError, match="unknown unit context"):
        conversion_factor("mg/mmol", "mg/mg", "no_such_context")


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize("value, dilution", [
    ("1:40", 40.0),
    ("1:160", 160.0),
    ("1/160", 160.0),
    (" 1 : 80 ", 80.0),
    (160, 160.0),
    (80.0, 80.0),
])
def test_parse_titer(value, dilution):
    assert parse_titer(value) == dilution


@pytest.mark.parametrize("value", ["<1:40", ">1:1280", "1:", "2:40", "positive", "", "1:0", 0, -40, True, False, None])
def test_unreadable_titers_are_none(value):
    assert parse_titer(value) is None


def test_titer_yaml_trap():
    """YAML 1.1 reads 1:40 as the base-60 integer 100; a titer must never be read that way."""
    import yaml

    assert yaml.safe_load("t: 1:40")["t"] == 100          # the trap, in plain PyYAML
    assert parse_titer(100) == 100.0 and parse_titer("1:40") == 40.0  # hence titers stay strings in rule files


@pytest.mark.parametrize("x, text", [(1.0, "1"), (1.326, "1.33"), (150.01, "150"), (12.34, "12.3"), (0.0884, "0.0884")])
def test_format_number(x, text):
    assert format_number(x) == text


@pytest.mark.parametrize("unit", ["1/0", "mg/0", "**", "()", "mg/", "(", "mg)", "#", "'", "\x00", "mm[Hg"])
def test_unparseable_units_are_unit_errors_never_other_exceptions(unit):
    with pytest.raises(UnitError, match="unknown unit"):
        conversion_factor(unit, "mg/mg", "creatinine_ratio")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1:" + "9" * 400])
def test_non_finite_titers_are_none(value):
    assert parse_titer(value) is None


def test_format_number_of_huge_values_stays_short():
    assert format_number(4.5359237e307) == "4.54e+307"
    assert format_number(float("inf")) == "inf"
