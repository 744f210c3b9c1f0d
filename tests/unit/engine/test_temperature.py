"""Temperatures convert by a line, not a factor: 100.4 °F is 38.0 °C (and Cel is UCUM's degC)."""

from __future__ import annotations

import pytest

from screening import screen
from screening.errors import UnitError
from screening.rules.compiler import compile_text
from screening.values.units import affine_conversion

RULES = """
format: 1
trial: {id: TEMP, title: fever}
data:
  temperature: {label: body temperature, codes: ['loinc:8310-5'], unit: degC, range: [30, 45], window: P1D, pick: max}
criteria:
  - {id: fever, kind: exclusion, text: "oral temperature of >100.4 °F/38.0 °C", rule: temperature > 38}
"""


@pytest.mark.parametrize("value,unit,status,shown", [
    (100.4, "[degF]", "pass", "100.4 [degF] (38 degC)"),   # exactly 38 °C: not above it
    (101.0, "degF", "fail", "101.0 degF (38.3 degC)"),
    (38.5, "Cel", "fail", "38.5 Cel"),
    (37.2, "degC", "pass", "37.2 degC"),
    (311.15, "K", "pass", "311.15 K (38 degC)"),
])
def test_temperatures_in_any_unit(value, unit, status, shown):
    trial = compile_text(RULES, "t.yaml")
    p = {"id": "p", "birth_date": "1990-01-01", "observations": [
        {"code": "loinc:8310-5", "value": value, "unit": unit, "date": "2026-11-23"}]}
    c = screen(p, trial, "2026-11-23").criteria[0]
    assert c.status.value == status, c.reason  # pass: not above 38 °C (not excluded)
    assert shown in c.reason


def test_affine_conversion_and_its_refusals():
    f, o = affine_conversion("degF", "degC")
    assert abs(98.6 * f + o - 37.0) < 1e-9 and abs(32 * f + o) < 1e-9
    assert affine_conversion("Cel", "degC") == (1.0, 0.0)
    with pytest.raises(UnitError):
        affine_conversion("mg/dL", "degC")
