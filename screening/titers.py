"""Titers as recorded: an exact dilution ('1:160'), a bound ('<1:40', '>1:1280') or 'negative'.

An exact titer reads as its dilution (a float). A bound reads as a ``Bounded`` interval, and
a comparison with it is decided only when every dilution in the interval agrees: '<1:40'
is not >= 1:80 (fail), but cannot tell whether it is >= 1:20 (unknown). 'negative' reads
as dilution 0: below every titer, so an explicit negative test always counts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .units import format_number, parse_titer

_BOUND = re.compile(r"^\s*(<=|≤|<|>=|≥|>)\s*1\s*[:/]\s*(\d+(?:\.\d+)?)\s*$")
_NEGATIVE = {"negative", "neg", "not detected", "non-reactive", "nonreactive"}


@dataclass(frozen=True)
class Bounded:
    """Dilutions between ``low`` and ``high``; ``*_open`` means the bound itself is excluded."""

    low: float
    high: float
    low_open: bool
    high_open: bool

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='}1:{format_number(self.low)}"
        return f"{'<' if self.high_open else '<='}1:{format_number(self.high)}"

    def sort_key(self, highest: bool) -> float:
        """The bound a max (``highest``) or min pick can rely on."""
        return self.low if highest else self.high

    def decide(self, op: str, c: Any) -> bool | None:
        """True if ``x op c`` holds for every dilution x here, False if for none, else None."""
        lo, hi, lo_open, hi_open = self.low, self.high, self.low_open, self.high_open
        above = lambda v: lo > v or (lo == v and lo_open)  # noqa: E731  every x > v
        below = lambda v: hi < v or (hi == v and hi_open)  # noqa: E731  every x < v
        if op == ">=":
            return True if lo >= c else False if below(c) else None
        if op == ">":
            return True if above(c) else False if hi <= c else None
        if op == "<=":
            return True if hi <= c else False if above(c) else None
        if op == "<":
            return True if below(c) else False if lo >= c else None
        values = [c] if op in ("==", "!=") else list(c)
        outside = all(above(v) or below(v) for v in values)
        if op == "!=":
            return True if outside else None
        return False if outside else None


def read_titer(value: Any) -> float | Bounded | None:
    """A recorded titer as a dilution, a bound or 0 for negative; None if it is not a titer.

    A bare number of at least 1 is the reciprocal titer (80 is 1:80), as labs and FHIR
    exports write it; a fraction such as 0.0125 is not read.
    """
    if isinstance(value, bool):
        return None
    text = " ".join(str(value).strip().lower().split())
    if text in _NEGATIVE:
        return 0.0
    m = _BOUND.match(text)
    if m:
        op, dilution = m.group(1), float(m.group(2))
        if dilution <= 0:
            return None
        if op in ("<", "<=", "≤"):
            return Bounded(0.0, dilution, False, op == "<")
        return Bounded(dilution, math.inf, op == ">", True)
    dilution = parse_titer(value)
    if dilution is None or (dilution < 1 and not isinstance(value, str)):
        return None
    return dilution
