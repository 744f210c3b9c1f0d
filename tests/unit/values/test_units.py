"""Units as physics (pint + UCUM) and titers as dilutions."""

from __future__ import annotations

import pytest

from screening.errors import UnitError
from screening.values.units import conversion_factor, format_number, parse_titer, parse_unit

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


# -- chart spellings: whole-string aliases in screening/values/data/common_units.txt

@pytest.mark.parametrize("spelling, target, factor", [
    ("mm Hg", "mmHg", 1.0),
    ("mmhg", "mmHg", 1.0),
    ("mm-Hg", "mmHg", 1.0),  # as the NCT04348461 record writes it
    ("mm Hg", "kPa", 0.133322387415),
    ("KG", "kg", 1.0),
    ("Kg", "kg", 1.0),
    ("Kg", "lb", 1 / 0.45359237),
    ("x10^9/L", "10*9/L", 1.0),
    ("x10^9/L", "1/L", 1e9),
    ("x10E9/L", "10*9/L", 1.0),
    ("10^3/uL", "10*9/L", 1.0),
    ("K/uL", "10*9/L", 1.0),
    ("K/uL", "1/uL", 1000.0),
    ("per hpf", "/hpf", 1.0),
    ("/hpf", "/hpf", 1.0),
    ("mL/min/1.73m2", "mL/min/{1.73_m2}", 1.0),
    ("mcg", "mg", 0.001),
    ("IU/L", "IU/mL", 0.001),
    ("IU/L", "[IU]/L", 1.0),
    ("µmol/L", "umol/L", 1.0),
])
def test_chart_spellings_convert_to_the_canonical_value(spelling, target, factor):
    assert conversion_factor(spelling, target) == pytest.approx(factor, rel=1e-9)


@pytest.mark.parametrize("spelling, target", [
    ("K", "kg"),         # kelvin, not thousands: only the whole string 'K/uL' is an alias
    ("KG/m2", "kg/m^2"),  # not listed: no case-insensitive guessing
    ("Mmol/L", "mmol/L"),  # megamole stays megamole (converts, by 10^9, never to mmol by case folding)
])
def test_aliases_match_whole_strings_only(spelling, target):
    if spelling == "Mmol/L":
        assert conversion_factor(spelling, target) == pytest.approx(1e9)
        return
    with pytest.raises(UnitError):
        conversion_factor(spelling, target)


def test_alias_spellings_are_precomputed():
    from screening.values.units import precomputed_factors

    factors = precomputed_factors("mmHg")
    assert factors["mm Hg"] == 1.0 and factors["mmhg"] == 1.0
    assert precomputed_factors("10*9/L")["K/uL"] == pytest.approx(1.0)


# -- molar mass: mass <-> amount of substance, by dividing or multiplying by it

CREATININE, GLUCOSE = 113.12, 180.16


@pytest.mark.parametrize("unit, target, molar_mass, factor", [
    ("mg/dL", "mmol/L", GLUCOSE, 10 / GLUCOSE),  # 100 mg/dL glucose is 5.55 mmol/L
    ("mmol/L", "mg/dL", GLUCOSE, GLUCOSE / 10),
    ("mg/dL", "umol/L", CREATININE, 10_000 / CREATININE),  # 1 mg/dL creatinine is 88.4 umol/L
    ("umol/L", "mg/dL", CREATININE, CREATININE / 10_000),
    ("µmol/L", "mg/dL", CREATININE, CREATININE / 10_000),
    ("mg/L", "umol/L", CREATININE, 1000 / CREATININE),
    ("mg/mmol", "mg/mg", CREATININE, 1 / CREATININE),  # a ratio to creatinine, as the context does
    ("mg/mg", "mg/mmol", CREATININE, CREATININE),
    ("mg/dL", "g/L", GLUCOSE, 0.01),  # same dimension: the molar mass plays no part
])
def test_molar_mass_conversions(unit, target, molar_mass, factor):
    assert conversion_factor(unit, target, None, molar_mass) == pytest.approx(factor, rel=1e-9)


def test_molar_mass_conversion_values():
    assert 100 * conversion_factor("mg/dL", "mmol/L", None, GLUCOSE) == pytest.approx(5.5506, abs=1e-4)
    assert 1 * conversion_factor("mg/dL", "umol/L", None, CREATININE) == pytest.approx(88.40, abs=1e-2)


@pytest.mark.parametrize("unit, target", [
    ("mg/dL", "mmol/L"),  # without a molar mass: refused, never guessed
    ("mmol/L", "mg/dL"),
])
def test_mass_and_substance_do_not_convert_without_a_molar_mass(unit, target):
    with pytest.raises(UnitError, match="cannot be converted"):
        conversion_factor(unit, target)


@pytest.mark.parametrize("unit, target", [("mmHg", "mmol/L"), ("mg/dL", "mmol"), ("IU/L", "mmol/L"), ("mmol/L", "mmol")])
def test_a_molar_mass_does_not_make_other_dimensions_compatible(unit, target):
    with pytest.raises(UnitError, match=r"with molar mass 113 g/mol"):
        conversion_factor(unit, target, None, CREATININE)


@pytest.mark.parametrize("text, grams_per_mol", [
    ("113.12 g/mol", 113.12), ("0.11312 kg/mol", 113.12), ("180.16 g/mol", 180.16), ("113.12 mg/mmol", 113.12),
])
def test_molar_mass_is_read_in_g_per_mol(text, grams_per_mol):
    from screening.values.units import molar_mass

    assert molar_mass(text) == pytest.approx(grams_per_mol)


@pytest.mark.parametrize("text, message", [
    ("113.12", "needs its unit"),
    ("113.12 g", r"is \[mass\], not a mass per amount of substance"),
    ("113.12 mol/g", "not a mass per amount of substance"),
    ("-5 g/mol", "positive"),
    ("0 g/mol", "positive"),
    ("lots g/mol", "cannot be read|not a mass"),
])
def test_bad_molar_masses_are_unit_errors(text, message):
    from screening.values.units import molar_mass

    with pytest.raises(UnitError, match=message):
        molar_mass(text)
