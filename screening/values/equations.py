"""Published clinical equations available by name in rule files (``derive: {equation: ...}``).

Each equation states its inputs with the unit it is defined in; the compiler converts the rule
file's items to those units once, and checks that the item it derives is in a unit its result
converts to. Age (completed years) and sex come from the patient; an equation that needs a sex
other than female or male, or any input that is missing, gives no value (unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def egfr_ckd_epi_2021(creatinine: float, age: float, sex: str) -> float:
    """CKD-EPI 2021 creatinine equation, without race (Inker et al., N Engl J Med 2021;385:1737-49):
    142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age x 1.012 [female],
    k = 0.7 (female) or 0.9 (male), a = -0.241 (female) or -0.302 (male); mL/min/1.73 m2."""
    female = sex == "female"
    k, a = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine / k  # creatinine in mg/dL
    value = 142.0 * min(ratio, 1.0) ** a * max(ratio, 1.0) ** -1.200 * 0.9938 ** age
    return value * 1.012 if female else value


def cockcroft_gault(creatinine: float, age: float, sex: str, weight: float) -> float:
    """Cockcroft-Gault creatinine clearance (Nephron 1976;16:31-41): (140 - age) x weight /
    (72 x Scr) x 0.85 [female]; mL/min, with the weight as recorded (actual body weight)."""
    value = (140.0 - age) * weight / (72.0 * creatinine)  # kg, mg/dL
    return value * 0.85 if sex == "female" else value


@dataclass(frozen=True)
class EquationDef:
    """An equation's name as written in rule files, its inputs (role -> unit they are defined in),
    the unit of its result, what it reads from the patient, and the function."""

    name: str
    label: str
    inputs: dict
    unit: str
    function: Callable
    patient: tuple[str, ...] = ("age", "sex")


EQUATIONS: dict[str, EquationDef] = {
    "egfr_ckd_epi_2021": EquationDef(
        "egfr_ckd_epi_2021", "CKD-EPI 2021 (creatinine, race-free)", {"creatinine": "mg/dL"},
        "mL/min/{1.73_m2}", egfr_ckd_epi_2021),
    "cockcroft_gault": EquationDef(
        "cockcroft_gault", "Cockcroft-Gault", {"creatinine": "mg/dL", "weight": "kg"}, "mL/min", cockcroft_gault),
}
