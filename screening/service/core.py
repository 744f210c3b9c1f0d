"""What the service does, without HTTP: the loaded trials, reading a screen request, screening.

Everything here calls the library exactly as the command line does (``patient_from_text``,
``screen``), so nothing is screened differently over HTTP. Bad input raises ``BadRequest``
with one located line; nothing here logs or keeps patient data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from .. import Fact, Patient, PatientError, Problem, RuleFileError, ScreeningResult, load_criteria, screen
from ..model.patient import Category
from ..sources.files import decode_json, patient_from_text
from ..sources.location import locate

PARTS = tuple(c.value for c in Category)


class BadRequest(Exception):
    """Input the service cannot use: an HTTP status, a one-line located message and every problem."""

    def __init__(self, message: str, status: int = 400, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message.splitlines()[0] if message else "bad request"
        self.status = status
        self.problems = problems or []


def from_input_error(err, more_hint: str = "") -> BadRequest:
    """A BadRequest from a library InputError: its first problem on one line, a count of the others."""
    more = len(err.problems) - 1
    line = err.first_line + (f" (and {more} more problem{'s' if more > 1 else ''}{more_hint})" if more > 0 else "")
    return BadRequest(line, 400, list(err.problems))


# ---------------------------------------------------------------------------------------------------- trials

class Trials:
    """The rule files loaded and compiled at start, by trial id, in file-name order."""

    def __init__(self, trials: Iterable[Any]):
        self.by_id: dict[str, Any] = {}
        for t in trials:
            if t.id in self.by_id:
                raise RuleFileError(Problem(f"trial id {t.id!r} is also used by {self.by_id[t.id].file}", t.file))
            self.by_id[t.id] = t

    @classmethod
    def load(cls, folder: str | Path) -> "Trials":
        """Every ``*.yaml`` rule file in a folder (or one file); RuleFileError on the first bad one."""
        folder = Path(folder)
        if folder.is_file():
            files = [folder]
        elif folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            raise RuleFileError(Problem("no such file or folder of rule files", str(folder)))
        if not files:
            raise RuleFileError(Problem("no rule files (*.yaml) in this folder", str(folder)))
        return cls(load_criteria(f) for f in files)

    def ids(self) -> list[str]:
        return list(self.by_id)

    def get(self, trial_id: str):
        """A loaded trial; BadRequest 404 naming the ones there are."""
        try:
            return self.by_id[trial_id]
        except KeyError:
            raise BadRequest(f"trial {trial_id!r}: no such trial (loaded: {', '.join(self.by_id)})", 404) from None

    def select(self, ids: Iterable[str] | None) -> list:
        """The trials asked for (all when none are named), in the order asked."""
        ids = [i for i in (ids or []) if i]
        if not ids:
            return list(self.by_id.values())
        return [self.get(i) for i in dict.fromkeys(ids)]


# ---------------------------------------------------------------------------------------------------- requests

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str | None, where: str, today: date) -> date:
    """A screening date 'YYYY-MM-DD'; ``today`` (read by the caller, never by the engine) when absent."""
    if text is None or text == "":
        return today
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise BadRequest(f"{where}: expected a date as YYYY-MM-DD, got {json.dumps(text)[:40]}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{where}: {text!r} is not a calendar date") from None


def parse_parts(values: Iterable[str] | str | None, where: str) -> list[str]:
    """Record parts declared complete: a list, or names separated by commas."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) and not isinstance(values, tuple):
        raise BadRequest(f"{where}: expected a list of record parts ({', '.join(PARTS)})")
    out: list[str] = []
    for v in values:
        if not isinstance(v, str):
            raise BadRequest(f"{where}: expected record part names, got {json.dumps(v)[:40]}")
        for p in (s.strip() for s in v.split(",")):
            if not p:
                continue
            if p not in PARTS:
                raise BadRequest(f"{where}: unknown record part {p!r} (choose from {', '.join(PARTS)})")
            out.append(p)
    return list(dict.fromkeys(out))


def parse_trial_ids(values: Iterable[str] | str | None, where: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"{where}: expected a list of trial ids")
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


@dataclass(frozen=True)
class ScreenRequest:
    """A decoded screen request: the patient, the trials, the screening date and the complete parts."""

    patient: Patient
    trials: list
    as_of: date
    complete: list[str]
    one: bool  # exactly one trial was asked for: answer with one result, not a list


ENVELOPE_KEYS = {"patient", "trials", "as_of", "complete"}


def read_screen_request(body: bytes, query: dict[str, list[str]], trials: Trials, today: date) -> ScreenRequest:
    """A POST /screen body: the patient document itself (native or FHIR Bundle) with options in the query,
    or an envelope ``{"patient": ..., "trials": [...], "as_of": ..., "complete": [...]}``."""
    text = decode_body(body)
    data = decode_body_json(text) if text.strip() else _empty()
    if isinstance(data, dict) and "patient" in data and "resourceType" not in data:
        unknown = sorted(set(data) - ENVELOPE_KEYS)
        if unknown:
            at = locate(text, (unknown[0],))
            raise BadRequest(f"request body{_at(at)}: error: unknown field {unknown[0]!r} "
                             f"(expected {', '.join(sorted(ENVELOPE_KEYS))})")
        patient = patient_in_envelope(text, data)
        ids = parse_trial_ids(data.get("trials"), "trials")
        as_of = parse_date(data.get("as_of"), "as_of", today)
        complete = parse_parts(data.get("complete"), "complete")
    else:
        patient = patient_at(text, "request body")
        ids = parse_trial_ids(query.get("trial", []) + query.get("trials", []), "query trial")
        as_of = parse_date((query.get("as_of") or [None])[-1], "query as_of", today)
        complete = parse_parts(query.get("complete"), "query complete")
    selected = trials.select(ids)
    return ScreenRequest(patient, selected, as_of, complete, one=len(ids) == 1)


def _empty():
    raise BadRequest("request body: error: empty body (expected a patient profile or a FHIR Bundle as JSON)")


def _at(where: tuple[int, int] | None) -> str:
    return f":{where[0]}:{where[1]}" if where else ""


def decode_body_json(text: str) -> Any:
    """The JSON of a request body; BadRequest with the line and column of a syntax error."""
    try:
        return decode_json(text, "request body")
    except PatientError as err:
        raise from_input_error(err) from None


def decode_body(body: bytes) -> str:
    """UTF-8 text of a body (a leading byte-order mark dropped); BadRequest locating the bad byte."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = body.count(b"\n", 0, err.start) + 1
        column = err.start - (body.rfind(b"\n", 0, err.start) + 1) + 1
        raise BadRequest(f"request body:{line}:{column}: error: not UTF-8 text (byte 0x{body[err.start]:02x})") from None


def patient_at(text: str, name: str) -> Patient:
    """The patient in a JSON text (native or FHIR Bundle), read as the command line reads a file."""
    try:
        return patient_from_text(text, name)
    except PatientError as err:
        raise from_input_error(err) from None


def patient_in_envelope(text: str, data: dict) -> Patient:
    """The ``patient`` member of an envelope, with problems located in the whole body."""
    value = data["patient"]
    start = _offset(text, ("patient",))
    if not isinstance(value, dict) or start is None:
        raise BadRequest(f"request body{_at(locate(text, ('patient',)))}: error: patient: expected a JSON object "
                         "(a native profile or a FHIR Bundle)")
    _, end = json.JSONDecoder().raw_decode(text, start)
    try:
        return patient_from_text(text[start:end], "request body")
    except PatientError as err:
        line0 = text.count("\n", 0, start)
        col0 = start - (text.rfind("\n", 0, start) + 1)
        shifted = [Problem(p.message, p.file, None if p.line is None else p.line + line0,
                           None if p.column is None else (p.column + col0 if p.line == 1 else p.column), p.severity)
                   for p in err.problems]
        raise from_input_error(PatientError(shifted)) from None


def _offset(text: str, loc: tuple) -> int | None:
    where = locate(text, loc)
    if where is None:
        return None
    line, column = where
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + column - 1


# ---------------------------------------------------------------------------------------------------- screening

def screen_all(request: ScreenRequest) -> list[ScreeningResult]:
    """The library's ``screen`` for each trial asked for: the same call the command line makes."""
    return [screen(request.patient, t, as_of=request.as_of, complete=request.complete) for t in request.trials]


def with_confirmations(patient: Patient, confirmations: Iterable[Fact]) -> Patient:
    """The patient with a person's confirmations added as facts (the profile's own facts kept)."""
    extra = list(confirmations)
    if not extra:
        return patient
    return patient.model_copy(update={"facts": list(patient.facts) + extra})
