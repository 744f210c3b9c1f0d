"""Atoms of a rule compiled to closures: comparisons of data items, record functions, facts.

Each closure takes the per-screen ``Env`` and gives an ``Outcome``: a Kleene status with the
reasons, evidence and missing items behind it.
"""

from __future__ import annotations

import operator
from datetime import date
from typing import Any, Callable

from ..model.result import UnrecognisedRecord
from ..model.rulefile import DataType
from ..rules import ir as X
from ..rules.compiled import CompiledTrial
from ..values.bounds import Bounded, Several
from ..values.durations import Window
from ..terms.vocabulary import (DRUG_CATEGORIES, Footprint, Unrecognised, blockers, personal_history, route_check,
                                terminology)
from ..values.logic import FAIL, PASS, UNKNOWN, Status
from ..values.units import format_against, format_number
from .items import Env, change, evidence_of, reference_ratio, resolve, source_suffix, unit_suffix
from .records import DATE_FIELD, abatement_span, date_words, onset_span


class Outcome:
    """Status of an expression with the reasons, evidence and missing items behind it, and the
    records of complete parts that stood in the way of "no record" (``UnrecognisedRecord``)."""

    __slots__ = ("status", "reasons", "evidence", "missing", "unrecognised")

    def __init__(self, status: Status, reasons: tuple = (), evidence: tuple = (), missing: tuple = (),
                 unrecognised: tuple = ()):
        self.status, self.reasons, self.evidence, self.missing = status, reasons, evidence, missing
        self.unrecognised = unrecognised


Program = Callable[[Env], Outcome]


# ---------------------------------------------------------------- comparisons

_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge, "in": lambda a, b: a in b}


COMPARISONS = _CMP  # the comparison operators of rule files, as the engine applies them


class _NoEvent:
    """The value of days_since_...() when there is no such record and its part is complete: every
    comparison with it is false ("diagnosed at least 180 days ago" fails without a diagnosis)."""

    def __repr__(self) -> str:
        return "NO_EVENT"


NO_EVENT = _NoEvent()


def _constant_text(trial: CompiledTrial, node: X.Compare) -> str:
    src = node.source
    name = src.name if isinstance(src, X.Item) else src.item
    if isinstance(src, (X.Elapsed, X.Between)):
        return f"{format_number(node.constant)} days" if node.op != "in" else str(node.constant)
    if isinstance(src, (X.Count, X.Spaced)):
        return format_number(node.constant) if node.op != "in" else str(node.constant)
    if isinstance(src, X.Change) and src.percent:
        return f"{format_number(node.constant)}%" if node.op != "in" else str(node.constant)
    if name == "age":
        return f"{format_number(node.constant)} years"
    if name == "sex":
        return repr(node.constant) if node.op != "in" else "[" + ", ".join(node.constant) + "]"
    spec = trial.items[name]
    if spec.dtype is DataType.TITER:
        show = lambda c: f"1:{format_number(c)}"  # noqa: E731
    elif isinstance(src, X.RefRatio):
        abbrev = "ULN" if src.limit == "high" else "LLN"
        show = lambda c: f"{format_number(c)} x {abbrev}"  # noqa: E731
    elif spec.dtype is DataType.QUANTITY or isinstance(src, X.Change):
        unit = unit_suffix(spec.unit)
        show = lambda c: f"{format_number(c)}{unit}"  # noqa: E731
    else:
        show = lambda c: f"'{c}'"  # noqa: E731
    written = node.written if node.written is not None else node.constant
    if spec.dtype is DataType.TITER:
        written = node.constant  # titers read back as 1:<dilution>
    if node.op == "in":
        return "[" + ", ".join(show(c) for c in written) + "]"
    return show(written)


def _compile_compare(trial: CompiledTrial, node: X.Compare, value_of: Any = None) -> Program:
    """A comparison of a value source with a constant; ``value_of`` (env -> Resolved) reads sources this module
    does not (days since an event, counts: ``events``)."""
    src, op, const = node.source, node.op, node.constant
    test = _CMP[op]
    words = "in" if op == "in" else op
    bound = f"{words} {_constant_text(trial, node)}"
    if isinstance(src, X.Change):
        name = src.item
        get = lambda env: change(src.item, src.window, env, src.percent)  # noqa: E731
    elif isinstance(src, X.RefRatio):
        name = src.item
        get = lambda env: reference_ratio(src.item, src.limit, env)  # noqa: E731
    elif value_of is not None:
        name = src.item
        get = value_of
    else:
        name = src.name
        get = lambda env: resolve(name, env)  # noqa: E731
    spec = trial.items.get(name)
    unit = unit_suffix(spec.unit) if spec is not None else ""
    abbrev = ("ULN" if src.limit == "high" else "LLN") if isinstance(src, X.RefRatio) else None
    exact = isinstance(const, (int, float)) and not isinstance(const, bool) and op != "in"

    def run(env: Env) -> Outcome:
        r = get(env)
        value = r.value
        if value is None:
            return Outcome(UNKNOWN, (r.text,), r.evidence, r.missing, r.unrecognised)
        if value is NO_EVENT:  # no such record, and its part of the record is complete: nothing to compare
            return Outcome(FAIL, ((r.text, f"not {bound}"),), r.evidence)
        if isinstance(value, Bounded):
            holds = value.decide(op, const)
        elif isinstance(value, Several):
            holds = value.decide(op, const, test)
        else:
            holds = test(value, const)
        if holds is None:  # a bound such as '<1:40' that straddles the threshold
            return Outcome(UNKNOWN, (f"{r.text}: cannot tell whether {bound}",), r.evidence, r.missing or (name,),
                           r.unrecognised)
        text = r.text
        if exact and isinstance(value, float):
            text = _digits_that_read_true(text, value, const, test, unit, abbrev)
        if holds:
            return Outcome(PASS, ((text, bound),), r.evidence)
        return Outcome(FAIL, ((text, f"not {bound}"),), r.evidence)

    return run


def _digits_that_read_true(text: str, value: float, const: float, test, unit: str, abbrev: str | None) -> str:
    """``text`` with the value it shows converted, computed or as a ratio rounded no further than the
    comparison allows: 'P/F ratio 199.5 mmHg computed as ...' against < 200, not '200 mmHg'."""
    shown = format_number(value)
    better = format_against(value, const, test)
    if better == shown:
        return text
    if abbrev is not None:
        places = (f"= {shown} x {abbrev}",)
    else:
        places = (f"({shown}{unit})", f"({shown}{unit}, ", f" {shown}{unit} computed as ")
    for place in places:
        if place in text:
            return text.replace(place, place.replace(shown, better, 1), 1)
    return text


# ---------------------------------------------------------------- record functions

YES, NO, NEG, MAYBE, SKIP = "yes", "no", "neg", "maybe", "skip"
_ACTIVE_CONDITION = {"active", "recurrence", "relapse"}


def _overlaps(first: date | None, last: date | None, ongoing: bool, start: date, as_of: date) -> str:
    """Does an episode [first, last] (last None: ongoing if `ongoing`, else unknown) meet [start, as_of]?"""
    if first is not None and first > as_of:
        return SKIP
    if last is not None:
        if last < start:
            return NO
        return YES if first is not None or ongoing else MAYBE
    if ongoing:
        return YES
    if first is not None and first >= start:
        return YES
    return MAYBE


def _episode(first: tuple, last: tuple, ongoing: bool, start: date, as_of: date) -> str:
    """Does a condition's episode meet [start, as_of]? ``first`` and ``last`` are the (earliest, latest) days of
    its onset and abatement (a day twice when exact; None: open; (None, None): not known). As ``_overlaps`` for
    exact days; an interval decides only where all of it agrees."""
    f_lo, f_hi = first
    l_lo, l_hi = last
    if f_lo is not None and f_lo > as_of:
        return SKIP
    began = f_hi is not None and f_hi <= as_of  # certainly begun by the screening date
    if l_lo is not None or l_hi is not None:  # it ended, on a day known at least in part
        if l_hi is not None and l_hi < start:
            return NO
        if l_lo is not None and l_lo >= start:
            return YES if began or (ongoing and f_hi is None) else MAYBE
        return MAYBE  # it may have ended before the window
    if ongoing:  # an undated onset of an active condition counts as begun (an interval past today does not)
        return YES if began or f_hi is None else MAYBE
    if f_lo is not None and f_lo >= start and began:
        return YES
    return MAYBE


def _onset_verdict(r: Any, w: Window, as_of: date) -> str:
    """onset_within: did the event begin in [start, as_of]? Its onset decides, not whether it is still charted
    active nor when it abated: a stroke of 2010 charted active today began outside 12 months, an infarction
    8 months ago and resolved since began inside them. No onset date: cannot tell. An onset known only to an
    interval (an age, a year, a period, the recorded date) decides only when all of it is on one side of
    each end of the window."""
    start = w.start(as_of)
    lo, hi = onset_span(r)
    if personal_history(r):
        # 'Personal history of stroke' is dated when it was charted: the event began on or before that day (and
        # before its abatement), so one charted before the window began before it; one charted inside may not have
        if lo is not None and lo > as_of:
            return SKIP
        known = [d for d in (hi, abatement_span(r)[1]) if d is not None]
        return NO if known and min(known) < start else MAYBE
    if lo is not None and lo > as_of:
        return SKIP
    if hi is not None and hi < start:
        return NO
    if lo is not None and lo >= start and hi is not None and hi <= as_of:
        return YES
    return MAYBE


def _condition_test(fn: str, w: Window | None):
    def verdict(r: Any, as_of: date) -> str:
        if r.status == "refuted":
            return NEG
        if fn == "onset_within":
            return _onset_verdict(r, w, as_of)
        first, last = onset_span(r), abatement_span(r)
        if personal_history(r):
            # 'Personal history of pulmonary embolism' (or Z86.711): past, never active; it happened
            # on or before the date it was charted, so it is inside a window only if that date is
            if first[0] is not None and first[0] > as_of:
                return SKIP
            if fn == "has_condition":
                return NEG
            if w is None:
                return YES
            return _overlaps(None, last[1] if last != (None, None) else first[1], False, w.start(as_of), as_of)
        # a condition that abated after the screening date was present on it, whatever its status now
        abated = last != (None, None)
        if last[0] is not None and last[0] > as_of:
            abated_later: bool | None = True
        elif not abated or (last[1] is not None and last[1] <= as_of):
            abated_later = False
        else:
            abated_later = None  # its abatement, known to an interval, may be before or after the screening date
        active = abated_later is True or (r.status in _ACTIVE_CONDITION and not abated)
        if fn == "has_condition":
            if abated_later is None:
                return MAYBE
            if r.status == "unknown" and not abated_later:  # a diagnosis whose activity now the chart does not state
                return MAYBE
            return YES if active else NEG
        if w is None:
            return YES
        return _episode(first, last, active, w.start(as_of), as_of)

    def test(r: Any, as_of: date) -> str:
        v = verdict(r, as_of)
        if v in (YES, NEG):
            hi = onset_span(r)[1]
            if hi is not None and hi > as_of:  # an onset interval running past the screening date: it may have
                v = MAYBE                      # begun after it, when there was no such record to say yes or no
        # a provisional, differential or unconfirmed diagnosis is no evidence either way
        return MAYBE if r.verification is not None and v in (YES, NEG) else v
    return test


def _medication_test(fn: str, w: Window | None):
    def test(r: Any, as_of: date) -> str:
        if r.status == "not-taken":  # says it is not taken over its period, not that it never was
            current = r.stop is None or r.stop >= as_of
            return NEG if fn == "taking" and w is None and current else NO
        if r.status == "intended":
            return SKIP
        if r.status == "unknown":  # the chart does not say whether it was given: no evidence either way
            if w is not None and r.start is not None and r.stop is not None and r.stop < w.start(as_of):
                return NO
            return MAYBE
        if fn == "ever_taken":
            return YES
        if fn == "started_within":
            if r.start is None:
                return MAYBE
            if w.contains(r.start, as_of):
                return YES
            # an order's date is the earliest start: ordered before the window, it may have started inside it
            if r.start_is_earliest and r.start < w.start(as_of) and (r.stop is None or r.stop >= w.start(as_of)):
                return MAYBE
            return NO
        # taken on the screening date: active and not stopped, or (whatever its status now) stopped after it;
        # a paused (on-hold) drug is not known to be taken on any given day
        stops_later = r.stop is not None and r.stop >= as_of and r.start is not None and r.start <= as_of
        ongoing = r.status != "on-hold" and (stops_later or (r.status == "active" and (r.stop is None
                                                                                     or r.stop >= as_of)))
        if w is None:  # taking now
            if r.stop is not None and r.stop < as_of:
                return NO
            return YES if ongoing else MAYBE
        return _overlaps(r.start, r.stop, ongoing, w.start(as_of), as_of)
    return test


def _dated_test(fn: str, w: Window | None):
    def test(r: Any, as_of: date) -> str:
        if r.status == "not-done":
            return NEG
        if fn == "procedure_planned":
            return YES if r.status == "planned" else SKIP
        if r.status == "planned":
            return SKIP
        if w is None:
            return YES
        if r.date is None:
            return MAYBE
        end = getattr(r, "end", None)
        if end is not None or r.status == "in-progress":  # an episode (ventilation, trial participation)
            ongoing = r.status == "in-progress" and (end is None or end >= as_of)
            return _overlaps(r.date, end, ongoing, w.start(as_of), as_of)
        return YES if w.contains(r.date, as_of) else NO
    return test


def _allergy_test(fn: str, w: Window | None):
    def test(r: Any, as_of: date) -> str:
        if r.status == "refuted":
            return NEG
        if r.verification in ("unconfirmed", "presumed") or r.status == "unknown":
            return MAYBE  # suspected, not established: no evidence either way
        return YES  # an allergy that is inactive or resolved was still had: the criterion decides its reading
    return test


def _family_test(fn: str, w: Window | None):
    def test(r: Any, as_of: date) -> str:
        return MAYBE if r.status == "health-unknown" else YES
    return test


def _record_text(category: str, r: Any) -> str:
    label = r.name or r.code
    if category == "allergies":
        what = " ".join(x for x in (r.type or "allergy", f"({r.status}" + (f", {r.verification})" if r.verification
                                                                        else ")")) if x)
        rx = f", reactions: {', '.join(r.reactions)}" if r.reactions else ""
        when = f" since {r.onset}" if r.onset else ""
        return f"{label} {what}{when}{rx}{source_suffix(r)}"
    if category == "family_history":
        who = r.relationship or "a relative"
        age = f", onset at {format_number(r.onset_age)}" if r.onset_age is not None else ""
        return f"{label} in {who}{age}{'' if r.status == 'completed' else f' ({r.status})'}{source_suffix(r)}"
    if category == "conditions":
        onset = date_words(r.onset, *_bounds(r, "onset"))
        when = f" onset {onset}" if onset else " (no onset date)"
        abated = date_words(r.abatement, *_bounds(r, "abatement"))
        if abated:
            when += f", abated {abated}"
        status = "clinical status not recorded" if r.status == "unknown" else r.status
        if personal_history(r):
            status = "personal history"
        if getattr(r, "severity", None):
            status += f", {r.severity}"
        if r.verification is not None:
            status += f", {r.verification} diagnosis"
        return f"{label} ({status}){when}{source_suffix(r)}"
    if category == "medications":
        when = (f" ordered {r.start}" if r.start_is_earliest else f" started {r.start}") if r.start \
            else " (no start date)"
        if r.stop:
            when += f", stopped {r.stop}"
        status = "status unknown" if r.status == "unknown" else r.status
        return f"{label}{when}{'' if r.status == 'active' else f' ({status})'}{source_suffix(r)}"
    when = f" on {r.date}" if r.date else " (no date)"
    if getattr(r, "end", None):
        when += f", ended {r.end}"
    return f"{label}{when}{'' if r.status == 'completed' else f' ({r.status})'}{source_suffix(r)}"


def qualified(q: Any, r: Any) -> tuple[str, str]:
    """Does a condition record say what the concept set also asks (clinical status, severity, note words)?
    YES, NO, or MAYBE when the chart does not say; with the words for the reason."""
    from ..terms.names import words

    verdicts, why = [], []
    if q.clinical_status:
        asked = "/".join(sorted(q.clinical_status))
        if r.status in q.clinical_status:
            verdicts.append(YES)
        elif r.status == "unknown" or (r.status == "active" and q.clinical_status & {"recurrence", "relapse"}):
            verdicts.append(MAYBE)  # FHIR's recurrence and relapse are kinds of active
            why.append(f"clinical status {'not recorded' if r.status == 'unknown' else 'active'}: cannot tell "
                       f"whether {asked}")
        else:
            verdicts.append(NO)
            why.append(f"clinical status {r.status}, not {asked}")
    if q.severity:
        asked = "/".join(sorted(q.severity))
        said = " ".join(r.severity.lower().split()) if r.severity else None
        span = set(said.split(" to ")) if said else set()
        if said is None:
            verdicts.append(MAYBE)
            why.append(f"severity not recorded: cannot tell whether {asked}")
        elif said in q.severity or (span and span <= q.severity):
            verdicts.append(YES)
        elif span & q.severity:
            verdicts.append(MAYBE)
            why.append(f"severity {r.severity}: cannot tell whether {asked}")
        else:
            verdicts.append(NO)
            why.append(f"severity {r.severity}, not {asked}")
    if q.note_words:
        toks = words(r.note) if r.note else ()
        said = any(toks[i:i + len(p)] == p for p in q.note_words for i in range(len(toks) - len(p) + 1))
        verdicts.append(YES if said else MAYBE)
        if not said:
            asked = " / ".join(" ".join(p) for p in q.note_words)
            why.append(("no note" if not r.note else "the note does not say") + f" '{asked}'")
    if NO in verdicts:
        return NO, "; ".join(w for w in why if ", not " in w)
    return (MAYBE if MAYBE in verdicts else YES), "; ".join(why)


def _filter(category: str, concept: Any, found: list, env: Env, left_out: list, questions: dict,
            notes: dict | None = None) -> list:
    """Found records less those the set excludes or that name another route (their texts go to
    ``left_out``); records it cannot tell about stay, with the question in ``questions``."""
    notes = {} if notes is None else notes
    excluded = {id(r) for r in env.view.find(category, concept.excluded)} if concept.excluded is not None else set()
    keep = []
    for r in found:
        if id(r) in excluded:
            verdict, cls = terminology().member(category, r, concept.footprint or Footprint())
            if category in DRUG_CATEGORIES and verdict == YES:  # another of its ingredients is in the set
                pass
            elif category in DRUG_CATEGORIES and verdict == MAYBE and isinstance(cls, Unrecognised):
                questions[id(r)] = " (matches an excluded set too: cannot tell which)"
            else:
                left_out.append(f"{_record_text(category, r)} (excluded)")
                continue
        if concept.route is not None and category in DRUG_CATEGORIES:
            # the record's own route when it has one, else the route words of its name
            verdict, said = route_check(getattr(r, "route", None) or r.name, concept.route)
            if verdict == NO:
                left_out.append(f"{_record_text(category, r)} ({said}, not {concept.route})")
                continue
            if verdict == MAYBE:
                questions[id(r)] = f" ({said})"
        if concept.attributes and category == "medications":
            verdict, said = attributes_check(concept, r, found, env.as_of)
            if verdict == NO:
                left_out.append(f"{_record_text(category, r)} ({said})")
                continue
            if verdict == MAYBE:
                questions[id(r)] = questions.get(id(r), "") + f" ({said})"
            elif said:
                notes[id(r)] = f" ({said})"
        keep.append(r)
    return keep


def attributes_check(concept: Any, r: Any, found: list, as_of: date) -> tuple[str, str]:
    """Whether a drug record has the set's attributes (dose, daily dose, exposure, stable dose,
    stop reason): no at the first it lacks, maybe when one cannot be told (saying what would tell)."""
    from ..terms import doses

    said, open_ = [], []
    for kind, value, text in concept.attributes:
        if kind in ("dose", "daily_dose"):
            verdict, why = doses.dose_test(r, value[0], kind == "daily_dose", value[1])
        elif kind in ("exposure", "stable_dose"):
            days = (as_of - value.start(as_of)).days
            if kind == "exposure":
                verdict, why = doses.exposure_test(r, days, str(value), as_of)
            else:
                verdict, why = doses.stable_test(r, found, days, str(value), as_of)
        else:
            verdict, why = doses.stop_reason_test(r, value, text.removeprefix("stopped for "))
        if verdict == NO and kind in ("dose", "daily_dose") and concept.ask_if_named:
            named = _named_as(concept.ask_if_named, r)
            if named:  # the chart calls it what the trial names: only the threshold says no
                open_.append(f"{why}, below {text}, but charted as '{named}': does it count as {concept.label}?")
                continue
        if verdict == NO:
            return NO, f"{why}: not {text}"
        (open_ if verdict == MAYBE else said).append(why)
    if open_:
        return MAYBE, "; ".join(said + open_)
    return YES, "; ".join(said)


def _named_as(phrases: tuple, r: Any) -> str | None:
    """The first of ``phrases`` (word tuples) that a drug record's name or route says, as written."""
    from ..terms.names import words

    for text in (r.name, getattr(r, "route", None)):
        toks = words(text) if text else ()
        for p in phrases:
            if any(toks[i:i + len(p)] == p for i in range(len(toks) - len(p) + 1)):
                return " ".join(p)
    return None


def _placed(trial: CompiledTrial, concept: Any, category: str, candidates: list, env: Env) -> dict:
    """Where the trial's other concept sets place each candidate: the ICD-10 codes of the sets that
    found a condition ('portador de marcapasos' found by the pacemaker set lies under Z95.0), the
    footprints of the sets that found a procedure (an invasive ventilation charted in Spanish)."""
    if category not in ("conditions", "procedures") or not candidates:
        return {}
    wanted = {id(r) for r, _ in candidates}
    out: dict[int, tuple] = {}
    for other in trial.concepts.values():
        fp = other.footprint
        if other is concept or fp is None:
            continue
        what = tuple(fp.icd10) if category == "conditions" else ((fp,) if fp.procedures else ())
        if not what:
            continue
        for r in env.view.find(category, other.matcher):
            if id(r) in wanted:
                out[id(r)] = out.get(id(r), ()) + what
    return out


def _unrecognised(b: Any, concept: Any) -> UnrecognisedRecord:
    return UnrecognisedRecord(category=b.category, record=b.record, why=b.why, concept=concept.name,
                              question=f"{b.record}: does it count as {concept.label}?", source=b.source,
                              date=b.date if isinstance(b.date, date) else None)


def complete_blockers(trial: CompiledTrial, concept: Any, category: str, test: Callable, env: Env, matched: list,
                      sibling_sets: tuple = ()) -> tuple[UnrecognisedRecord, ...]:
    """Fail-safe completeness: "complete" means every record is there, not that every record was
    understood. The records of a declared-complete part that could be one of the set's (those ``test``
    does not rule out) and are not known not to be (unrecognised, or unmapped from the source)."""
    as_of = env.as_of
    found_ids = {id(r) for r in matched}
    for sibling in sibling_sets:
        found_ids |= {id(r) for r in env.view.find(category, sibling.matcher)}
    candidates = [(r, _record_text(category, r)) for r in env.view.records(category)
                  if id(r) not in found_ids and test(r, as_of) in (YES, MAYBE)]
    unmapped = env.view.patient.unmapped
    blocking = blockers(category, candidates, concept.footprint or Footprint(), unmapped,
                        kept=(r.source for r in getattr(env.view.patient, category) if r.source),
                        placed=_placed(trial, concept, category, candidates, env)
                        ) if candidates or unmapped else []
    return tuple(_unrecognised(b, concept) for b in blocking)


def record_test(category: str, function: str, w: Window | None) -> Callable:
    """The verdict of one record for a record function (YES, NO, NEG, MAYBE or SKIP)."""
    return {"conditions": _condition_test, "medications": _medication_test, "allergies": _allergy_test,
            "family_history": _family_test}.get(category, _dated_test)(function, w)


def _compile_records(trial: CompiledTrial, node: X.Records, siblings: tuple[str, ...] = ()) -> Program:
    category, _ = X.RECORD_FUNCTIONS[node.function]
    concept = trial.concepts[node.concept]
    w = node.window
    test = record_test(category, node.function, w)
    phrase = {
        "has_condition": "active", "history_of": "history", "onset_within": "onset", "taking": "taking",
        "ever_taken": "ever taken", "started_within": "started", "had_procedure": "done",
        "procedure_planned": "planned", "vaccinated": "vaccinated", "allergic_to": "allergy on record",
        "family_history_of": "in the family history",
    }[node.function]
    name = node.concept
    day_field = DATE_FIELD[category]
    # other concept sets the same criterion reads: a record one of them finds has its own reading
    # in the rule ('started_within(methylprednisolone) and methylprednisolone_bolus'), not a question here
    sibling_sets = tuple(trial.concepts[s] for s in siblings if s in trial.concepts and s != node.concept)

    def run(env: Env) -> Outcome:
        as_of = env.as_of
        span = f" within {w} before {as_of} (since {w.start(as_of)})" if w else ""
        verdicts: dict[str, list] = {YES: [], NO: [], NEG: [], MAYBE: []}
        matched = found = env.view.find(category, concept.matcher)
        left_out: list[str] = []  # found by words or codes, but excluded or by another route
        questions: dict[int, str] = {}  # found, but cannot tell whether excluded or by the route
        notes: dict[int, str] = {}  # found and counted: the attributes that made it count (its dose)
        if concept.excluded is not None or concept.route is not None or concept.attributes:
            found = _filter(category, concept, found, env, left_out, questions, notes)
        qualifiers = concept.qualifiers if category == "conditions" else None
        for r in found:
            v = test(r, as_of)
            if qualifiers and v in (YES, MAYBE):  # the set asks a clinical status, a severity, note words
                q, why = qualified(qualifiers, r)
                if q == NO:
                    left_out.append(f"{_record_text(category, r)} ({why})")
                    continue
                if q == MAYBE:
                    v = MAYBE
                    questions[id(r)] = questions.get(id(r), "") + f" ({why})"
            if v != SKIP:
                if id(r) in questions and v == YES:
                    v = MAYBE
                verdicts[v].append(r)

        def ev(rs):
            return tuple(evidence_of(name, r, r.status, None, day=r.__dict__[day_field]) for r in rs)
        if verdicts[YES]:
            rs = verdicts[YES]
            return Outcome(PASS, (f"{concept.label} {phrase}{span}: "
                                  + "; ".join(_record_text(category, r) + notes.get(id(r), "") for r in rs),), ev(rs))
        if verdicts[MAYBE]:
            rs = verdicts[MAYBE]
            return Outcome(UNKNOWN, (f"{concept.label}: cannot tell if {phrase}{span}: "
                                     + "; ".join(_record_text(category, r) + questions.get(id(r), "") for r in rs),),
                           ev(rs), (name,))
        if verdicts[NEG]:
            rs = verdicts[NEG]
            more = ("; not counted: " + "; ".join(left_out)) if left_out else ""
            return Outcome(FAIL, (f"{concept.label} not {phrase}: " + "; ".join(_record_text(category, r) for r in rs)
                                  + more,), ev(rs))
        others = verdicts[NO]
        seen = _latest_onset(others) if node.function == "onset_within" else ""
        seen += ("; records outside it: " + "; ".join(_record_text(category, r) for r in others)) if others else ""
        if left_out:
            seen += "; not counted: " + "; ".join(left_out)
        if category in env.complete:
            items = complete_blockers(trial, concept, category, test, env, matched, sibling_sets)
            if items:
                asked = "; ".join(f"{u.record}: {u.why}" for u in items)
                return Outcome(UNKNOWN, (f"no record of {concept.label} {phrase}{span}{seen}; {category} declared "
                                         f"complete, but {len(items)} record{'s' if len(items) > 1 else ''} there "
                                         f"could be one: {asked}: does it count as {concept.label}?",),
                               ev(others), (name,), items)
            return Outcome(FAIL, (f"no record of {concept.label} {phrase}{span}{seen}; {category} declared complete",), ev(others))
        return Outcome(UNKNOWN, (f"no record of {concept.label} {phrase}{span}{seen} ({category} not declared complete)",),
                       ev(others), (name,))

    return run


def _bounds(r: Any, what: str) -> tuple:
    """A condition's interval and words for its onset or abatement (records read from OMOP have none)."""
    return (getattr(r, f"{what}_earliest", None), getattr(r, f"{what}_latest", None), getattr(r, f"{what}_text", None))


def _latest_onset(records: list) -> str:
    """The newest onset among condition records outside a window, for the reason ('latest onset 2019-01-26
    (Stroke)', or 'no later than 2013-02-28' for an onset known to an interval): it is what a later
    screening date would have to be within."""
    dated = [(hi, r) for r in records if (hi := onset_span(r)[1]) is not None]
    if not dated:
        return ""
    hi, r = max(dated, key=lambda d: d[0])
    return f"; latest onset {hi if r.onset is not None else f'no later than {hi}'} ({r.name or r.code})"


def _compile_fact(trial: CompiledTrial, node: X.FactIs) -> Program:
    name = node.item

    def run(env: Env) -> Outcome:
        r = resolve(name, env)
        if r.value is None:
            return Outcome(UNKNOWN, (r.text,), r.evidence, r.missing)
        return Outcome(PASS if r.value else FAIL, (r.text,), r.evidence)

    return run


compile_compare = _compile_compare  # for value sources read elsewhere (engine.events)
constant_text = _constant_text  # a comparison's constant as the reasons show it ('126 mg/dL', "'positive'")
record_text = _record_text  # a record as the reasons show it
filter_found = _filter  # found records less those a set excludes or that name another route


def compile_atom(trial: CompiledTrial, node: Any, siblings: tuple[str, ...] = ()) -> Program:
    """A closure for one leaf of the IR: a comparison, a record function or a fact."""
    if isinstance(node, X.Compare):
        return _compile_compare(trial, node)
    if isinstance(node, X.Records):
        return _compile_records(trial, node, siblings)
    if isinstance(node, X.FactIs):
        return _compile_fact(trial, node)
    raise TypeError(f"unknown IR node {node!r}")  # pragma: no cover - the converter emits only these
