"""Values known only as a bound: a lab's '<0.5 mg/dL' or '>1:1280' is an interval, not a number.

A comparison with a bound is decided only when every value in the interval agrees:
'<0.5' is not >= 1 (fail), but cannot tell whether it is >= 0.2 (unknown).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_BOUND = re.compile(r"^\s*(<=|≤|<|>=|≥|>)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Bounded:
    """Values between ``low`` and ``high``; ``*_open`` means the bound itself is excluded."""

    low: float
    high: float
    low_open: bool
    high_open: bool

    @classmethod
    def of(cls, op: str, x: float, floor: float = -math.inf) -> "Bounded":
        """The values ``op x`` ('<', '<=', '>', '>=' or their symbols), not below ``floor``."""
        if op in ("<", "<=", "≤"):
            return cls(floor, x, False, op == "<")
        return cls(x, math.inf, op == ">", True)

    def shifted(self, by: float) -> "Bounded":
        """The same interval moved by ``by`` (a duration recorded as a bound, read days later)."""
        return Bounded(self.low + by, self.high + by, self.low_open, self.high_open)

    def decide(self, op: str, c: Any) -> bool | None:
        """True if ``x op c`` holds for every x here, False if for none, else None."""
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


def split_bound(value: Any) -> tuple[str, str] | None:
    """('<', '0.5') from '< 0.5'; None when the value does not start with a comparison."""
    if not isinstance(value, str):
        return None
    m = _BOUND.match(value)
    return (m.group(1), m.group(2)) if m else None


@dataclass(frozen=True)
class Several:
    """Different values recorded for one item on the same date (two blood gases in a day):
    a comparison decides only when every one of them gives the same answer."""

    values: tuple  # floats, strings or Bounded, in chart order

    def decide(self, op: str, c: Any, test) -> bool | None:
        answers = {v.decide(op, c) if isinstance(v, Bounded) else bool(test(v, c)) for v in self.values}
        return answers.pop() if len(answers) == 1 else None


def extreme(values: list, highest: bool) -> float | Bounded:
    """The maximum (``highest``) or minimum of exact values and bounds, as an exact value when the
    data pin it down, else as the interval it must lie in: max(1:40, <1:160) is in [1:40, 1:160)."""
    spans = [(v.low, v.low_open, v.high, v.high_open) if isinstance(v, Bounded) else (v, False, v, False)
             for v in values]
    pick = max if highest else min
    lo = pick(s[0] for s in spans)
    hi = pick(s[2] for s in spans)
    # max: one value strictly above lo lifts the max above it, while one that can reach hi lets
    # the max reach it; min the other way round
    at_lo, at_hi = [s[1] for s in spans if s[0] == lo], [s[3] for s in spans if s[2] == hi]
    lo_open = any(at_lo) if highest else all(at_lo)
    hi_open = all(at_hi) if highest else any(at_hi)
    if lo == hi and not (lo_open or hi_open):
        return lo
    return Bounded(lo, hi, lo_open, hi_open)
