"""Screening: a compiled trial, a patient and a reference date in; a result with a verdict out.

``screen`` is a pure function of its arguments: no clock, no I/O, no shared mutable state
(the trial's evaluation program, ``program.py``, is built once per trial and reused). Here
the criteria results are summed up into the verdict and the summary line.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from ..model.patient import Category, Patient
from ..model.result import BulletPart, BulletResult, CriterionResult, ScreeningResult, Verdict, build
from ..model.rulefile import Kind
from ..rules.compiled import CompiledTrial
from ..values.logic import FAIL, PASS, UNKNOWN, Status, and_, not_, or_
from .items import Env
from .program import inferences_of, program_of
from .records import PatientView


def verdict_of(results: list[CriterionResult] | list[BulletResult]) -> Verdict:
    """Ineligible if any bullet (or criterion) fails; eligible if all pass; otherwise undetermined."""
    statuses = [r.status for r in results]
    if FAIL in statuses:
        return Verdict.INELIGIBLE
    if UNKNOWN in statuses:
        return Verdict.UNDETERMINED
    return Verdict.ELIGIBLE


def bullets_of(trial: CompiledTrial, runs: list[tuple[CriterionResult, Status, Status]]) -> list[BulletResult]:
    """The trial record's bullets, in rule-file order: a criterion without a parent is its own bullet; the parts
    of a split bullet combine with the bullet's and/or (``bullets:`` in the rule file, else the kind's default).

    A part counts towards an 'and' inclusion bullet when it does not apply or holds; otherwise (an 'or', or an
    exclusion) when it applies and holds: two alternative routes whose rules both fail make the bullet fail
    even when which route applies is unknown.
    """
    groups: dict[str, list[tuple[CriterionResult, Status, Status]]] = {}
    for run in runs:
        groups.setdefault(run[0].parent or run[0].id, []).append(run)
    specs = trial.rules.bullets
    out = []
    for key, members in groups.items():
        first = members[0][0]
        kind = first.kind
        spec = specs.get(key)
        combine = (spec.combine if spec is not None else None) or ("and" if kind is Kind.INCLUSION else "or")
        if combine == "and" and kind is Kind.INCLUSION:
            counts = [or_((not_(a), r)) for _, a, r in members]
        else:
            counts = [and_((a, r)) for _, a, r in members]
        met = and_(counts) if combine == "and" else or_(counts)
        status = met if kind is Kind.INCLUSION else not_(met)
        parts = [build(BulletPart, id=c.id, status=c.status, applicable=a.as_bool(), holds=r.as_bool())
                 for c, a, r in members]
        out.append(build(BulletResult, bullet=key, kind=kind, text=first.bullet or first.text, combine=combine,
                         status=status, met=met.as_bool(), parts=parts,
                         reason=_bullet_reason(status, combine, kind, members)))
    return out


def _bullet_reason(status: Status, combine: str, kind: Kind, members: list) -> str:
    """Which parts decide the bullet, in a line: 'inc-2c fails', 'inc-3a and inc-3b both fail (or)'."""
    if len(members) == 1:
        return f"{members[0][0].id}: {members[0][0].status.value}"
    ids = lambda rows: ", ".join(c.id for c, _, _ in rows)  # noqa: E731
    by = {s: [m for m in members if m[0].status is s] for s in (PASS, FAIL, UNKNOWN)}
    alternatives = combine == "or" and kind is Kind.INCLUSION
    if status is FAIL and alternatives and not by[FAIL]:
        def why(a: Status, r: Status) -> str:
            if a is FAIL:
                return "does not apply"
            return "fails" if a is PASS else "fails, whether or not it applies"
        return "no route holds: " + "; ".join(f"{c.id} {why(a, r)}" for c, a, r in members)
    if status is FAIL:
        return f"{ids(by[FAIL])} {'fail' if len(by[FAIL]) > 1 else 'fails'}"
    if status is PASS:
        if alternatives:
            held = [m for m in members if m[1] is PASS and m[2] is PASS]
            return f"{ids(held)} {'hold' if len(held) > 1 else 'holds'}"
        return f"all {len(members)} parts pass"
    return f"undecided: {ids(by[UNKNOWN]) or ids(members)}"


def _summary(verdict: Verdict, results: list[CriterionResult], missing: list[str], pending: list[str],
             bullets: list[BulletResult] = ()) -> str:
    if verdict is Verdict.INELIGIBLE:
        named = []
        for b in bullets:
            if b.status is not FAIL:
                continue
            failing = [p.id for p in b.parts if p.status is FAIL]
            if failing:
                named += [("excluded by " if b.kind is Kind.EXCLUSION else "fails ") + p for p in failing]
            else:
                named.append(("excluded by " if b.kind is Kind.EXCLUSION else "fails ") + f"{b.bullet} ({b.reason})")
        return "ineligible: " + ", ".join(named)
    if verdict is Verdict.ELIGIBLE:
        return f"eligible: all {len(results)} criteria pass" if all(r.status is PASS for r in results) else \
            f"eligible: all {len(bullets)} bullets pass"
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
    runs = [run(env) for run in program_of(trial)]
    results = [r for r, _, _ in runs]
    bullets = bullets_of(trial, runs)
    verdict = verdict_of(bullets)
    passed = {p.id for b in bullets if b.status is PASS for p in b.parts}  # decided by the bullet: not open
    unknown = [r for r in results if r.status is UNKNOWN and r.id not in passed]
    missing = list(dict.fromkeys(m for r in unknown for m in r.missing))
    pending = [r.id for r in unknown if r.needs_confirmation and not r.missing]  # nothing but a person's word
    summary = _summary(verdict, unknown if verdict is Verdict.UNDETERMINED else results, missing, pending,
                       bullets)
    dead = patient.deceased and (patient.deceased_date is None or patient.deceased_date <= as_of)
    if dead:  # never screened as alive: the criteria are still shown, the verdict is not theirs
        verdict = Verdict.INELIGIBLE
        when = f"on {patient.deceased_date}" if patient.deceased_date else "(date not recorded)"
        summary = f"ineligible: the patient is recorded as deceased {when}; the criteria read: {summary}"
    return build(ScreeningResult,
        trial=trial.id, patient=patient.id, as_of=as_of, verdict=verdict, criteria=results, bullets=bullets,
        failed=[r.id for r in results if r.status is FAIL] + [b.bullet for b in bullets if b.status is FAIL and
                                                               not any(p.status is FAIL for p in b.parts)],
        unknown=[r.id for r in unknown],
        missing=missing, pending_confirmation=pending, complete=sorted(parts),
        summary=summary, unmapped=list(patient.unmapped), deceased=dead,
    )
