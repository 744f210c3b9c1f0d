"""A patient's records indexed for look-up by code and name, as seen on a screening date.

Records dated after the screening date are invisible: a screen on 2026-11-23 gives the
same answer tomorrow. Planned records are the exception: a plan is dated when it is to
happen, normally after the screening date, and is visible whatever its date. A condition
whose onset is known only to an interval (an age, a year, a period) is invisible when the
whole interval is after the screening date; the helpers here give such intervals to the
record functions, which decide only where the whole interval agrees. How a record matches
a concept set is terminology (``terms.matcher``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..model.patient import Patient
from ..terms.matcher import Matcher, RecordIndex


# The field that dates a record of each category (when it happened or began).
DATE_FIELD = {
    "observations": "date", "conditions": "onset", "medications": "start",
    "procedures": "date", "immunizations": "date", "facts": "date", "allergies": "onset", "family_history": "date",
}
# ... and, where that date may be known only to an interval, the field of its first possible day
EARLIEST_FIELD = {"conditions": "onset_earliest"}


def seen_from(category: str, record: Any) -> date | None:
    """The first day a record can be dated to: its date, else the first day of its interval (None: undated)."""
    d = record.__dict__[DATE_FIELD[category]]
    if d is None and category in EARLIEST_FIELD:
        d = record.__dict__.get(EARLIEST_FIELD[category])
    return d


def onset_span(r: Any) -> tuple[date | None, date | None]:
    """The first and the last day a condition can have begun: its onset twice when the chart gives the
    day, else the bounds of its interval (None: open on that side; both None: not known)."""
    if r.onset is not None:
        return r.onset, r.onset
    return getattr(r, "onset_earliest", None), getattr(r, "onset_latest", None)


def abatement_span(r: Any) -> tuple[date | None, date | None]:
    """The first and the last day a condition can have ended, as ``onset_span`` (both None: no abatement date)."""
    if r.abatement is not None:
        return r.abatement, r.abatement
    return getattr(r, "abatement_earliest", None), getattr(r, "abatement_latest", None)


def date_words(day: date | None, earliest: date | None, latest: date | None, text: str | None) -> str | None:
    """A condition's onset or abatement for a reason: the day ('2019-01-26'), else the chart's words with the
    interval they give ('at age 54 (between 2012-03-01 and 2013-02-28)'), else the words alone (not a date)."""
    if day is not None:
        return str(day)
    if earliest is not None and latest is not None:
        bounds = f"between {earliest} and {latest}"
    elif earliest is not None:
        bounds = f"on or after {earliest}"
    elif latest is not None:
        bounds = f"on or before {latest}"
    else:
        return f"{text} (not a date)" if text else None
    return f"{text} ({bounds})" if text else bounds


def _planned(record: Any) -> bool:
    """A plan (a procedure with status planned) is dated when it is to happen: seen whatever its date."""
    return getattr(record, "status", None) == "planned"


class PatientView:
    """Everything the evaluator may see of one patient on ``as_of``."""

    def __init__(self, patient: Patient, as_of: date, complete: frozenset[str]):
        self.patient = patient
        self.as_of = as_of
        self.complete = complete
        self._indexes: dict[str, RecordIndex] = {}
        self._visible: dict[str, list[Any]] = {}
        for category in DATE_FIELD:
            # a record whose interval begins after the screening date is not seen, as one dated after it
            records = [r for r in getattr(patient, category)
                       if (d := seen_from(category, r)) is None or d <= as_of or _planned(r)]
            self._visible[category] = records
            self._indexes[category] = RecordIndex(
                records, whole_names_only=category == "facts", observation=category == "observations")

    def unreadable(self, category: str, matcher: Matcher) -> list[Any]:
        """Source records of ``category`` that could not be mapped (``Patient.unmapped``, e.g. an invalid FHIR
        Observation) and that ``matcher`` finds by their code or name: they could be what an item reads."""
        index = self._indexes.get("unmapped:" + category)
        if index is None:
            from types import SimpleNamespace

            from ..terms.vocabulary import unmapped_blocks

            rows = [SimpleNamespace(code=u.code, codes=(), name=u.name, status=None, unmapped=u)
                    for u in self.patient.unmapped if (u.code or u.name) and unmapped_blocks(u, category)]
            index = self._indexes["unmapped:" + category] = RecordIndex(rows, observation=category == "observations")
        return [row.unmapped for row in index.find(matcher)]

    def records(self, category: str) -> list[Any]:
        """Every visible record of ``category``, in chart order."""
        return self._visible[category]

    def find(self, category: str, matcher: Matcher) -> list[Any]:
        """Visible records of ``category`` matching ``matcher``, oldest first (undated first)."""
        found = self._indexes[category].find(matcher)
        if len(found) > 1:
            found.sort(key=lambda r: seen_from(category, r) or date.min)
        return found
