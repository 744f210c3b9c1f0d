"""Reading patient profiles: JSON files and dicts into validated ``Patient`` models.

Errors name the file and the place: a JSON syntax error its line and column, a schema
violation the path inside the document (``observations[2].date``) and, when the JSON
text is at hand, the line and column of the offending value.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import PatientError, Problem
from .models.patient import Patient


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


# pydantic reports a value matching no member of a union once per member (value.bool, value.int, ...)
_UNION_MEMBERS = {"bool", "int", "float", "str"}


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


def load_patient(path: str | Path) -> Patient:
    """Read a patient JSON file (a native profile, or a FHIR R4 Bundle when that support is present)."""
    text = read_text(path)
    return patient_from_text(text, str(path))


def patient_from_text(text: str, file: str | None = None) -> Patient:
    """A patient from JSON text: a native profile or a FHIR R4 Bundle; problems located in ``text``."""
    data = decode_json(text, file)
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        from .fhir import bundle_to_patient  # imported only for FHIR input

        return bundle_to_patient(data, file, text=text)
    return parse_patient(data, file, text)


def read_text(path: str | Path) -> str:
    """A patient file's text (UTF-8; a leading byte-order mark, as some Windows tools write, is dropped)."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise PatientError(Problem(f"cannot read patient file: {reason}", str(path))) from None


def decode_json(text: str, file: str | None = None) -> Any:
    """Decode JSON text; PatientError with line and column on a syntax error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        message = "empty file" if not text.strip() else f"invalid JSON: {err.msg}"
        raise PatientError(Problem(message, file, err.lineno, err.colno)) from None


def read_json(path: str | Path) -> Any:
    """Decode a JSON file; PatientError with line and column on a syntax error."""
    return decode_json(read_text(path), str(path))


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def locate(text: str, loc: tuple) -> tuple[int, int] | None:
    """Line and column (1-based) of the value at ``loc`` (keys and indexes) in a JSON text.

    Where ``loc`` goes further than the document (a missing field), the deepest value that
    exists; None if the text is not JSON.
    """
    def skip(i: int) -> int:
        return _SPACE.match(text, i).end()

    def members(i: int):
        """(key or index, start of its value) of the object or array starting at ``i``."""
        is_object = text[i] == "{"
        close = "}" if is_object else "]"
        i, n = skip(i + 1), 0
        while i < len(text) and text[i] != close:
            key = n
            if is_object:
                key, i = scanstring(text, i + 1)
                i = skip(skip(i) + 1)  # past the colon
            yield key, i
            _, i = _DECODER.raw_decode(text, i)
            i = skip(i)
            if text.startswith(",", i):
                i = skip(i + 1)
            n += 1

    try:
        at = skip(0)
        for part in loc:
            if at >= len(text) or text[at] not in "{[" or (text[at] == "{") != isinstance(part, str):
                break
            found = None
            for key, start in members(at):
                if key == part:
                    found = start  # the last of duplicate keys, as json.loads keeps
                    if isinstance(part, int):
                        break
            if found is None:
                break
            at = found
    except (ValueError, IndexError):
        return None
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def error_path(loc: tuple, whole: str = "profile") -> str:
    """A pydantic error location as a path: ('observations', 2, 'date') -> observations[2].date."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out or whole


def error_message(e: dict) -> str:
    """A pydantic error message in the words of this project's other messages."""
    if e["type"] == "extra_forbidden":
        return "unknown field"
    if e["type"] in ("missing", "model_field_validation.missing"):
        return "missing required field"
    msg = e["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg.rstrip(".")
