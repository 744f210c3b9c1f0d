"""Screening: a compiled trial, a patient and a reference date in; a result with a verdict out.

``screen`` is a pure function of its arguments: no clock, no I/O, no shared mutable state
(the trial's evaluation program, ``program.py``, is built once per trial and reused). Here
the criteria results are summed up into the verdict and the summary line.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from ..model.patient import Category, Patient
from ..model.result import CriterionResult, ScreeningResult, Verdict, build
from ..model.rulefile import Kind
from ..rules.compiled import CompiledTrial
from ..values.logic import FAIL, UNKNOWN
from .items import Env
from .program import inferences_of, program_of
from .records import PatientView


def verdict_of(results: list[CriterionResult]) -> Verdict:
    """Ineligible if any criterion fails; eligible if all pass; otherwise undetermined."""
    statuses = [r.status for r in results]
    if FAIL in statuses:
        return Verdict.INELIGIBLE
    if UNKNOWN in statuses:
        return Verdict.UNDETERMINED
    return Verdict.ELIGIBLE


def _summary(verdict: Verdict, results: list[CriterionResult], missing: list[str], pending: list[str]) -> str:
    if verdict is Verdict.INELIGIBLE:
        failed = [r for r in results if r.status is FAIL]
        parts = [("excluded by " if r.kind is Kind.EXCLUSION else "fails ") + r.id for r in failed]
        return "ineligible: " + ", ".join(parts)
    if verdict is Verdict.ELIGIBLE:
        return f"eligible: all {len(results)} criteria pass"
    unknown = [r.id for r in results if r.status is UNKNOWN]
    if len(pending) == len(unknown):
        return "eligible pending confirmation of: " + ", ".join(pending)
    text = f"undetermined: {len(unknown)} criteria unknown"
    if missing:
        text += "; missing: " + ", ".join(missing)
    if pending:
        text += "; to confirm: " + ", ".join(pending)
    return text


def screen(patient: Patient | dict, trial: CompiledTrial, as_of: date | str,
           complete: Iterable[str] | None = None) -> ScreeningResult:
    """Screen one patient against one compiled trial on the reference date ``as_of``.

    ``complete`` names parts of the record (conditions, medications, procedures,
    immunizations, facts) in which no record means absent; the profile's own
    ``complete`` field is added to it. Missing data never raises: it gives unknown.
    """
    if not isinstance(patient, Patient):
        from ..sources.native import parse_patient

        patient = parse_patient(patient)
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    elif not isinstance(as_of, date):
        raise TypeError("as_of must be a date (the screening date)")
    if hasattr(as_of, "date") and callable(as_of.date):  # a datetime: keep the calendar day
        as_of = as_of.date()
    if isinstance(complete, str):  # complete="medications" is one part, not its letters
        complete = [complete]
    parts = frozenset(str(c) for c in (complete or ())) | frozenset(str(c) for c in patient.complete)
    unknown_parts = parts - {c.value for c in Category}
    if unknown_parts:
        known = ", ".join(sorted(c.value for c in Category))
        raise ValueError(f"unknown record parts in complete: {sorted(unknown_parts)} (choose from {known})")
    env = Env(trial, PatientView(patient, as_of, parts), inferences_of(trial))
    results = [run(env) for run in program_of(trial)]
    verdict = verdict_of(results)
    unknown = [r for r in results if r.status is UNKNOWN]
    missing = list(dict.fromkeys(m for r in unknown for m in r.missing))
    pending = [r.id for r in unknown if r.needs_confirmation and not r.missing]  # nothing but a person's word
    summary = _summary(verdict, results, missing, pending)
    dead = patient.deceased and (patient.deceased_date is None or patient.deceased_date <= as_of)
    if dead:  # never screened as alive: the criteria are still shown, the verdict is not theirs
        verdict = Verdict.INELIGIBLE
        when = f"on {patient.deceased_date}" if patient.deceased_date else "(date not recorded)"
        summary = f"ineligible: the patient is recorded as deceased {when}; the criteria read: {summary}"
    return build(ScreeningResult,
        trial=trial.id, patient=patient.id, as_of=as_of, verdict=verdict, criteria=results,
        failed=[r.id for r in results if r.status is FAIL], unknown=[r.id for r in unknown],
        missing=missing, pending_confirmation=pending, complete=sorted(parts),
        summary=summary, unmapped=list(patient.unmapped), deceased=dead,
    )
