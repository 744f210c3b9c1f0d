"""Medication attributes as a concept set reads them: dose and daily dose with units, length of
exposure, stable dose, stop reason.

A record's dose comes from its own fields (a native profile's ``dose``/``dose_unit``,
``doses_per_day``, ``daily_dose``; FHIR dosage) or, when it has none, from its charted name
('SoluMedrol 1 g IV daily x3': 1 g a dose, once a day). Each test answers yes, no or maybe
with the words that say why; maybe always names what would decide it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from .names import fold, words

YES, NO, MAYBE = "yes", "no", "maybe"
_OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b, "==": lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)}
_THRESHOLD = re.compile(r"^\s*(>=|<=|==|>|<)\s*([0-9]+(?:\.[0-9]+)?)\s*([^\d\s.].*?)\s*$")
# an amount in a charted name: '1 g', '500 MG', '40mg', '0,5 g'; not a concentration ('10 MG/ML', '2 mg/kg')
_AMOUNT = re.compile(r"(?<![\w.,/])(\d+(?:[.,]\d+)?)\s*(mg|g|mcg|ug|µg|microgram|micrograms|milligram|milligrams|"
                     r"gram|grams|gr|miligramos|gramos)(?![\w/])", re.IGNORECASE)
_UNIT_WORDS = {"mg": "mg", "g": "g", "gr": "g", "gram": "g", "grams": "g", "gramos": "g", "mcg": "ug", "ug": "ug",
               "µg": "ug", "microgram": "ug", "micrograms": "ug", "milligram": "mg", "milligrams": "mg",
               "miligramos": "mg"}


@dataclass(frozen=True)
class Threshold:
    """'>= 250 mg' from a rule file: operator, number and unit (checked with pint when compiled)."""

    op: str
    value: float
    unit: str
    text: str


def parse_threshold(text: str) -> Threshold:
    """'>= 250 mg' -> Threshold; ValueError with what is wrong otherwise (the unit is checked by the caller)."""
    m = _THRESHOLD.match(str(text))
    if not m:
        raise ValueError(f"invalid dose {text!r}: write an operator, a number and a unit, e.g. '>= 250 mg'")
    return Threshold(m.group(1), float(m.group(2)), m.group(3), f"{m.group(1)} {m.group(2)} {m.group(3)}")


@lru_cache(maxsize=1)
def _frequencies() -> tuple[tuple[tuple[str, ...], float], ...]:
    import yaml

    text = resources.files("screening.terms").joinpath("data", "drugs-frequencies.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)["per_day"]
    out = [(words(str(p)), float(n)) for n, phrases in data.items() for p in phrases]
    return tuple(sorted(((w, n) for w, n in out if w), key=lambda x: -len(x[0])))


@lru_cache(maxsize=65536)
def name_dose(name: str) -> tuple[float, str] | None:
    """The amount a charted name gives for one dose ('SoluMedrol 1 g IV' -> (1.0, 'g')); None when it
    gives none, or several different ones ('prednisone 5 mg or 10 mg')."""
    found = {(float(m.group(1).replace(",", ".")), _UNIT_WORDS[m.group(2).lower()])
             for m in _AMOUNT.finditer(fold(name))}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=65536)
def name_frequency(name: str) -> float | None:
    """Doses a day a charted name says ('daily' 1, 'BID' 2, 'q6h' 4, 'cada 8 horas' 3); None when it says none."""
    toks = words(name)
    for phrase, n in _frequencies():
        for i in range(len(toks) - len(phrase) + 1):
            if toks[i:i + len(phrase)] == phrase:
                return n
    return None


def _factor(unit: str, target: str, factors: dict) -> float | None:
    if unit in factors:
        return factors[unit]
    from ..values.units import conversion_factor

    try:
        return conversion_factor(unit, target)
    except Exception:  # an unknown or incompatible unit is a question, never a guess
        return None


def _fmt(x: float) -> str:
    from ..values.units import format_number

    return format_number(x)


def dose_test(r: Any, t: Threshold, daily: bool, factors: dict) -> tuple[str, str]:
    """Does the record's dose (``daily``: its total a day) meet ``t``? yes, no or maybe, and why."""
    what = "daily dose" if daily else "dose"
    if daily and getattr(r, "daily_dose", None) is not None:
        f = _factor(r.daily_dose_unit, t.unit, factors)
        if f is None:
            return MAYBE, f"daily dose {_fmt(r.daily_dose)} {r.daily_dose_unit} cannot be compared with {t.unit}"
        v = r.daily_dose * f
        return (YES if _OPS[t.op](v, t.value) else NO), f"daily dose {_fmt(r.daily_dose)} {r.daily_dose_unit}"
    dose, unit, source = getattr(r, "dose", None), getattr(r, "dose_unit", None), "recorded"
    if dose is None and r.name:
        got = name_dose(r.name)
        if got:
            dose, unit, source = got[0], got[1], "from its name"
    if dose is None or not unit:
        return MAYBE, f"{what} not recorded: is it {t.text}{' a day' if daily else ''}?"
    f = _factor(unit, t.unit, factors)
    if f is None:
        return MAYBE, f"dose {_fmt(dose)} {unit} cannot be compared with {t.unit}: is it {t.text}?"
    d = dose * f
    said = f"{_fmt(dose)} {unit} a dose ({source})"
    if not daily:
        return (YES if _OPS[t.op](d, t.value) else NO), said
    n = getattr(r, "doses_per_day", None)
    if n is None and r.name:
        n = name_frequency(r.name)
    if n is not None:
        total = d * n
        said += f" x {_fmt(n)} a day = {_fmt(total)} {t.unit} a day"
        return (YES if _OPS[t.op](total, t.value) else NO), said
    # doses a day unknown: one dose already decides a lower bound, never an upper one
    if t.op in (">=", ">") and _OPS[t.op](d, t.value):
        return YES, said + f", so at least that a day"
    if t.op in ("<=", "<") and not _OPS[t.op](d, t.value):
        return NO, said + f", so at least that a day"
    return MAYBE, said + f"; how many doses a day is not recorded: is the daily dose {t.text}?"


def _end(r: Any, as_of: date) -> date | None:
    if r.stop is not None:
        return min(r.stop, as_of)
    return as_of if r.status == "active" else None


def exposure_test(r: Any, days: int, label: str, as_of: date) -> tuple[str, str]:
    """Was the drug taken for at least ``days`` (from its start to its stop, or to as_of while active)?"""
    if r.start is None:
        return MAYBE, f"no start date: taken for at least {label}?"
    end = _end(r, as_of)
    if end is None:
        return MAYBE, f"started {r.start}, no stop date and not active: taken for at least {label}?"
    length = (end - r.start).days + 1
    if length >= days:
        if getattr(r, "start_is_earliest", False):
            return MAYBE, f"ordered {r.start}: started then or later; taken for at least {label}?"
        return YES, f"taken {length} days"
    return NO, f"taken {length} days, less than {label}"


def stable_test(r: Any, others: list, days: int, label: str, as_of: date) -> tuple[str, str]:
    """Same dose over the last ``days`` days: this record covers them with a recorded dose, and no
    other record of the set overlapping them has another dose."""
    start = as_of - timedelta(days=days - 1)
    if r.start is None or r.start > start:
        if r.start is None:
            return MAYBE, f"no start date: on a stable dose for {label}?"
        return NO, f"started {r.start}, less than {label} before {as_of}"
    if r.stop is not None and r.stop < as_of:
        return NO, f"stopped {r.stop}"
    mine = _dose_key(r)
    if mine is None:
        return MAYBE, f"dose not recorded: on a stable dose for {label}?"
    for o in others:
        if o is r or o.start is None or o.start > as_of or (o.stop is not None and o.stop < start):
            continue
        theirs = _dose_key(o)
        if theirs != mine:
            return NO, (f"dose changed within the last {label}: {o.name or o.code} "
                        f"{'(dose not recorded)' if theirs is None else ''}").rstrip()
    return YES, f"same dose since {r.start}"


def _dose_key(r: Any):
    if getattr(r, "daily_dose", None) is not None:
        return ("daily", r.daily_dose, r.daily_dose_unit)
    if getattr(r, "dose", None) is not None:
        return ("dose", r.dose, r.dose_unit, getattr(r, "doses_per_day", None))
    got = name_dose(r.name) if r.name else None
    return ("dose",) + got + (name_frequency(r.name),) if got else None


def stop_reason_test(r: Any, phrases: tuple[tuple[str, ...], ...], label: str) -> tuple[str, str]:
    """Was the drug stopped for one of the reasons (words of ``phrases``)?"""
    reason = getattr(r, "stop_reason", None)
    if not reason:
        if r.stop is None and r.status in ("active", "on-hold"):
            return NO, "not stopped"
        return MAYBE, f"stop reason not recorded: stopped for {label}?"
    toks = words(reason)
    if any(toks[i:i + len(p)] == p for p in phrases for i in range(len(toks) - len(p) + 1)):
        return YES, f"stopped for {reason!r}"
    return NO, f"stopped for {reason!r}"
