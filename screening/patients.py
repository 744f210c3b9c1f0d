"""Reading patient profiles: JSON files and dicts into validated ``Patient`` models.

Errors name the file and the place: a JSON syntax error its line and column, a schema
violation the path inside the document (``observations[2].date``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import PatientError, Problem
from .models.patient import Patient


def parse_patient(data: Any, file: str | None = None) -> Patient:
    """Validate a decoded JSON document as a native patient profile. Raises PatientError."""
    if not isinstance(data, dict):
        raise PatientError(Problem("a patient profile must be a JSON object", file))
    try:
        return Patient.model_validate(data)
    except ValidationError as err:
        raise PatientError(_problems(err, file)) from None


# pydantic reports a value matching no member of a union once per member (value.bool, value.int, ...)
_UNION_MEMBERS = {"bool", "int", "float", "str"}


def _problems(err: ValidationError, file: str | None) -> list[Problem]:
    out, unions = [], set()
    for e in err.errors():
        loc = tuple(e["loc"])
        if len(loc) > 1 and loc[-1] in _UNION_MEMBERS and e["type"].endswith("_type"):
            if loc[:-1] not in unions:
                unions.add(loc[:-1])
                out.append(Problem(f"{error_path(loc[:-1])}: expected a number, text or true/false", file))
            continue
        out.append(Problem(f"{error_path(loc)}: {error_message(e)}", file))
    return out


def load_patient(path: str | Path) -> Patient:
    """Read a patient JSON file (a native profile, or a FHIR R4 Bundle when that support is present)."""
    data = read_json(path)
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        from .fhir import bundle_to_patient  # imported only for FHIR input

        return bundle_to_patient(data, str(path))
    return parse_patient(data, str(path))


def read_json(path: str | Path) -> Any:
    """Decode a JSON file; PatientError with line and column on a syntax error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise PatientError(Problem(f"cannot read patient file: {reason}", str(path))) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise PatientError(Problem(f"invalid JSON: {err.msg}", str(path), err.lineno, err.colno)) from None


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
