"""Three-valued (Kleene) logic: pass, fail and unknown.

`Status` is the truth value of an atom, an expression or a criterion. The operators
below are the only place where unknown is combined with anything; evaluators delegate
to them instead of repeating null checks.
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable


class Status(str, Enum):
    """Truth value of a criterion or expression: pass (true), fail (false) or unknown."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: bool | None) -> "Status":
        """Map True/False/None to pass/fail/unknown."""
        if value is None:
            return cls.UNKNOWN
        return cls.PASS if value else cls.FAIL

    def as_bool(self) -> bool | None:
        """Map pass/fail/unknown to True/False/None."""
        if self is Status.UNKNOWN:
            return None
        return self is Status.PASS


PASS, FAIL, UNKNOWN = Status.PASS, Status.FAIL, Status.UNKNOWN


def and_(values: Iterable[Status]) -> Status:
    """Kleene conjunction: fail wins, then unknown, else pass (empty is pass)."""
    result = PASS
    for v in values:
        if v is FAIL:
            return FAIL
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def or_(values: Iterable[Status]) -> Status:
    """Kleene disjunction: pass wins, then unknown, else fail (empty is fail)."""
    result = FAIL
    for v in values:
        if v is PASS:
            return PASS
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def not_(value: Status) -> Status:
    """Kleene negation: unknown stays unknown."""
    if value is UNKNOWN:
        return UNKNOWN
    return FAIL if value is PASS else PASS
