"""A patient's records indexed for look-up by code and name, as seen on a screening date.

Records dated after the screening date are invisible: a screen on 2026-11-23 gives the
same answer tomorrow. Planned records are the exception: a plan is dated when it is to
happen, normally after the screening date, and is visible whatever its date. How a record
matches a concept set is terminology (``terms.matcher``).
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
        for category, field in DATE_FIELD.items():
            records = [r for r in getattr(patient, category)
                       if (d := r.__dict__[field]) is None or d <= as_of or _planned(r)]
            self._visible[category] = records
            self._indexes[category] = RecordIndex(
                records, whole_names_only=category == "facts", observation=category == "observations")

    def unreadable(self, category: str, matcher: Matcher) -> list[Any]:
        """Source records of ``category`` that could not be mapped (``Patient.unmapped``, e.g. an invalid FHIR
        Observation) and that ``matcher`` finds by their code or name: they could be what an item reads."""
        index = self._indexes.get("unmapped:" + category)
        if index is None:
            from types import SimpleNamespace

            from ..terms.vocabulary import unmapped_category

            rows = [SimpleNamespace(code=u.code, codes=(), name=u.name, status=None, unmapped=u)
                    for u in self.patient.unmapped
                    if (u.category or unmapped_category(u.resource)) == category and (u.code or u.name)
                    and "entered-in-error" not in u.reason]
            index = self._indexes["unmapped:" + category] = RecordIndex(rows, observation=category == "observations")
        return [row.unmapped for row in index.find(matcher)]

    def records(self, category: str) -> list[Any]:
        """Every visible record of ``category``, in chart order."""
        return self._visible[category]

    def find(self, category: str, matcher: Matcher) -> list[Any]:
        """Visible records of ``category`` matching ``matcher``, oldest first (undated first)."""
        found = self._indexes[category].find(matcher)
        if len(found) > 1:
            field = DATE_FIELD[category]
            found.sort(key=lambda r: r.__dict__[field] or date.min)
        return found
