"""Patient files: JSON text read from disk or standard input, decoded with located syntax
errors, and handed to the source its content calls for (a FHIR Bundle, else a native profile).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import PatientError, Problem
from ..model.patient import Patient
from .base import SourcedPatient, Where
from .jsontext import JSONProblem, loads, position
from .native import parse_patient


def load_patient(path: str | Path, strict: bool = False) -> Patient:
    """Read a patient JSON file (a native profile or a FHIR R4 Bundle).

    ``strict``: a FHIR resource that is not valid rejects the bundle (else it is listed as unmapped)."""
    text = read_text(path)
    return patient_from_text(text, str(path), strict)


def patient_from_text(text: str, file: str | None = None, strict: bool = False) -> Patient:
    """A patient from JSON text: a native profile or a FHIR R4 Bundle; problems located in ``text``."""
    return patient_from_document(decode_json(text, file), file, text, strict)


def patient_from_document(data: Any, file: str | None = None, text: str | None = None,
                          strict: bool = False) -> Patient:
    """A patient from a decoded JSON document: a FHIR R4 Bundle when it says so, else a native profile."""
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        from .fhir import bundle_to_patient  # imported only for FHIR input: a native profile needs none of it

        return bundle_to_patient(data, file, text=text, strict=strict)
    return parse_patient(data, file, text)


def file_sha256(path: str | Path) -> bytes:
    """The SHA-256 of a file's bytes, read in blocks (how a batch input is identified on resume)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.digest()


def read_text(path: str | Path) -> str:
    """A patient file's text (UTF-8; a leading byte-order mark, as some Windows tools write, is dropped)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise PatientError(Problem(f"cannot read patient file: {reason}", str(path))) from None


def decode_json(text: str, file: str | None = None) -> Any:
    """Decode JSON text; PatientError with line and column on a syntax error or hostile input
    (duplicate keys, nesting too deep, huge integers, lone surrogates)."""
    try:
        return loads(text)
    except JSONProblem as err:
        line, column = position(text, err.index)
        raise PatientError(Problem(err.message, file, line, column)) from None


def read_json(path: str | Path) -> Any:
    """Decode a JSON file; PatientError with line and column on a syntax error."""
    return decode_json(read_text(path), str(path))


class JsonFiles:
    """A ``PatientSource`` over patient JSON files, each a native profile or a FHIR R4 Bundle."""

    def __init__(self, paths: Iterable[str | Path]):
        self.paths = paths

    def patients(self) -> Iterator[SourcedPatient]:
        for path in self.paths:
            where = Where(str(path))
            try:
                yield SourcedPatient(where, load_patient(path))
            except PatientError as err:
                yield SourcedPatient(where, error=err)
