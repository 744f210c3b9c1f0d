"""Calendar windows: ISO 8601 durations (P6M, P12M, P3Y, P2W, P30D) before a reference date.

rule-engine has no month or year durations, so windows are parsed here, once, at load
time, and applied with dateutil's relativedelta (calendar months, not 30-day blocks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

_ISO = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")
_WORDS = re.compile(r"^(?P<n>\d+)\s*(?P<unit>day|week|month|year)s?$", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    """A look-back window of whole calendar units, e.g. 6 months."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    def start(self, as_of: date) -> date:
        """First day inside the window ending on ``as_of`` (both ends inclusive)."""
        return _window_start(self, as_of)

    def contains(self, day: date, as_of: date) -> bool:
        """True when ``day`` lies in [start(as_of), as_of]."""
        return self.start(as_of) <= day <= as_of

    @property
    def iso(self) -> str:
        parts = [(self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")]
        return "P" + "".join(f"{n}{u}" for n, u in parts if n) if any(n for n, _ in parts) else "P0D"

    def __str__(self) -> str:
        names = [(self.years, "year"), (self.months, "month"), (self.weeks, "week"), (self.days, "day")]
        words = [f"{n} {u}{'s' if n != 1 else ''}" for n, u in names if n]
        return " ".join(words) if words else "0 days"


@lru_cache(maxsize=8192)
def _window_start(w: Window, as_of: date) -> date:
    # Memoised: relativedelta arithmetic costs microseconds and a batch asks the same few windows.
    try:
        return as_of - relativedelta(years=w.years, months=w.months, weeks=w.weeks, days=w.days)
    except (OverflowError, ValueError):  # before year 1: every representable day is inside
        return date.min


def parse_window(text: str) -> Window:
    """Parse 'P6M', 'P1Y6M', 'P2W', '6 months' or '3 years' into a Window; ValueError otherwise."""
    s = str(text).strip()
    m = _ISO.match(s.upper())
    if m and any(m.groupdict().values()):
        return Window(**{k: int(v) for k, v in m.groupdict().items() if v})
    m = _WORDS.match(s)
    if m:
        return Window(**{m.group("unit").lower() + "s": int(m.group("n"))})
    raise ValueError(f"invalid duration {text!r}: use ISO 8601 such as 'P6M', 'P12M', 'P3Y', 'P2W', 'P30D'")


def age_in_years(birth: date, as_of: date) -> int:
    """Completed years at ``as_of`` (a person born 2008-11-23 is 18 on 2026-11-23)."""
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
