"""Titers as recorded: an exact dilution ('1:160') or a bound ('<1:40', '>1:1280').

An exact titer reads as its dilution (a float), a bound as a ``Bounded`` interval of
dilutions (see bounds.py). A titer recorded as a negative word ('negative', 'not detected')
is dilution 0, below every titer, so an explicit negative test always counts; which words
are negative is terminology (``terms.results``), so the engine asks before reading a titer.
"""

from __future__ import annotations

from typing import Any

from .bounds import Bounded, split_bound
from .units import parse_titer


def read_titer(value: Any) -> float | Bounded | None:
    """A recorded titer as a dilution or a bound; None if it is not a titer (negative words included:
    the caller reads them as dilution 0).

    A bare number of at least 1 is the reciprocal titer (80 is 1:80), as labs and FHIR
    exports write it; a fraction such as 0.0125 is not read.
    """
    if isinstance(value, bool):
        return None
    bound = split_bound(value)
    if bound is not None:  # '<1:40', or '>1280' as a FHIR comparator writes a reciprocal titer
        dilution = parse_titer(bound[1])
        if dilution is None:
            try:
                dilution = float(bound[1])
            except ValueError:
                return None
            if not 1 <= dilution < float("inf"):
                return None
        return Bounded.of(bound[0], dilution, floor=0.0)
    dilution = parse_titer(value)
    if dilution is None or (dilution < 1 and not isinstance(value, str)):
        return None
    return dilution
