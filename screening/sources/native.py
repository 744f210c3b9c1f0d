"""Native patient profiles: a decoded JSON document validated into a ``Patient``.

A schema violation names the path inside the document (``observations[2].date``) and, when
the JSON text is at hand, the line and column of the offending value (``location``).
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from pydantic import ValidationError

from ..errors import PatientError, Problem
from ..model.patient import Patient
from .base import SourcedPatient, Where
from .location import error_message, error_path, locate


def parse_patient(data: Any, file: str | None = None, text: str | None = None) -> Patient:
    """Validate a decoded JSON document as a native patient profile. Raises PatientError.

    ``text``, the JSON text ``data`` was decoded from, locates each problem by line and column.
    """
    if not isinstance(data, dict):
        raise PatientError(Problem("a patient profile must be a JSON object", file))
    try:
        return Patient.model_validate(data)
    except ValidationError as err:
        raise PatientError(_problems(err, file, text)) from None


# pydantic reports a value matching no member of a union once per member (value.bool, value.int, ...;
# a string member with the models' length cap is 'constrained-str')
_UNION_MEMBERS = {"bool", "int", "float", "str", "constrained-str"}


def _problems(err: ValidationError, file: str | None, text: str | None = None) -> list[Problem]:
    out, unions = [], set()

    def problem(loc: tuple, message: str) -> Problem:
        where = locate(text, loc) if text is not None else None
        return Problem(f"{error_path(loc)}: {message}", file, *(where or (None, None)))

    for e in err.errors():
        loc = tuple(e["loc"])
        if len(loc) > 1 and loc[-1] in _UNION_MEMBERS and e["type"].endswith("_type"):
            if loc[:-1] not in unions:
                unions.add(loc[:-1])
                out.append(problem(loc[:-1], "expected a number, text or true/false"))
            continue
        out.append(problem(loc, error_message(e)))
    return out


class NativeSource:
    """A ``PatientSource`` over native profiles already decoded from JSON: (document, where, text)
    triples, ``text`` being the JSON the document was decoded from (for line and column) or None."""

    def __init__(self, documents: Iterable[tuple[Any, Where, str | None]]):
        self.documents = documents

    def patients(self) -> Iterator[SourcedPatient]:
        for data, where, text in self.documents:
            try:
                yield SourcedPatient(where, parse_patient(data, where.file, text))
            except PatientError as err:
                yield SourcedPatient(where, error=err)
