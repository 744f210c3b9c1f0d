"""Values read from a concept set's records rather than from observations: days since an event
(the first onset of a diagnosis, the first start or the last stop of a drug, the last procedure),
days between two such events, and counts (distinct drugs of a class, distinct conditions, procedures);
and one count over observations: values meeting a test on days at least an interval apart.

Never a guess: a part of the record not declared complete gives a bound ("at least 2 drugs",
"diagnosed at least 200 days ago"), records that could count but may not (a provisional diagnosis,
a drug of unknown status, a record of a complete part the vocabularies cannot place) widen the
interval, and a comparison decides only where every value in it agrees.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Callable

from ..rules import ir as X
from ..rules.compiled import CompiledTrial
from ..terms.codes import code_key
from ..terms.names import words
from ..terms.vocabulary import Recognised, terminology
from ..values.bounds import Bounded
from ..values.units import format_number
from .atoms import (COMPARISONS, MAYBE, NEG, NO_EVENT, YES, Program, compile_compare, complete_blockers, constant_text,
                    filter_found, record_test, record_text)
from .items import Env, Resolved, evidence_of, read_record
from .records import onset_span

# the record function whose verdicts say whether a record is an event of the set at all
_EXISTS = {"conditions": "history_of", "medications": "ever_taken", "procedures": "had_procedure"}
# ... and, for counts with a window, whether it falls in the window
_IN_WINDOW = {"conditions": "history_of", "medications": "taking", "procedures": "had_procedure"}
_WHAT = {"days_since_onset": "first onset", "days_since_start": "first start", "days_since_stop": "last dose",
         "days_since_procedure": "last procedure"}


EVENT_SOURCES = (X.Elapsed, X.Count, X.Between, X.Spaced)  # the value sources this module reads


def compile_event_compare(trial: CompiledTrial, node: X.Compare) -> Program:
    """A comparison of ``days_since_...(set)``, ``days_between(...)``, ``count_...(set)`` or
    ``count_apart(...)`` with a constant."""
    return compile_compare(trial, node, event_value(trial, node.source))


def event_value(trial: CompiledTrial, src: Any) -> Callable[[Env], Resolved]:
    """A closure giving the value of one of ``EVENT_SOURCES`` for a patient."""
    if isinstance(src, X.Elapsed):
        return _elapsed(trial, src)
    if isinstance(src, X.Between):
        return _between(trial, src)
    if isinstance(src, X.Spaced):
        return _spaced(trial, src)
    return _count(trial, src)


def _found(trial: CompiledTrial, concept: Any, category: str, test: Callable, env: Env):
    """The set's records by verdict (YES / MAYBE), with questions about those it cannot tell."""
    matched = env.view.find(category, concept.matcher)
    left_out: list[str] = []
    questions: dict[int, str] = {}
    found = filter_found(category, concept, matched, env, left_out, questions) \
        if concept.excluded is not None or concept.route is not None else matched
    yes, maybe = [], []
    for r in found:
        v = test(r, env.as_of)
        if v == YES and id(r) not in questions:
            yes.append(r)
        elif v in (YES, MAYBE):
            maybe.append(r)
    return matched, yes, maybe, questions


def _evidence(name: str, category: str, rs: list) -> tuple:
    field = {"conditions": "onset", "medications": "start"}.get(category, "date")
    return tuple(evidence_of(name, r, r.status, None, day=r.__dict__[field]) for r in rs)


def _value(lo: float, hi: float) -> float | Bounded:
    return float(lo) if lo == hi else Bounded(float(lo), float(hi), False, False)


def _interval_text(lo: float, hi: float, unit: str) -> str:
    if lo == hi:
        return f"{format_number(lo)}{unit}"
    if math.isinf(hi):
        return f"at least {format_number(lo)}{unit}"
    if lo == 0:
        return f"at most {format_number(hi)}{unit}"
    return f"between {format_number(lo)} and {format_number(hi)}{unit}"


def _ends(category: str, r: Any, as_of: date, which: str) -> tuple[float, float]:
    """Days from the record's first (start) or last (end) day to ``as_of``, as an interval [lo, hi]."""
    if which == "first":
        if category == "conditions":  # an onset known only to an interval: the days its two ends give
            lo, hi = onset_span(r)
            if lo is None and hi is None:
                return math.inf, math.inf
            return (0 if hi is None else max(0, (as_of - hi).days)), (math.inf if lo is None else (as_of - lo).days)
        day = r.start if category == "medications" else r.date
        return (math.inf, math.inf) if day is None else ((as_of - day).days, (as_of - day).days)
    # last: an ongoing episode ends on the screening date; a stop not dated lies between start and today
    if category == "medications":
        ongoing = r.status == "active" and r.stop is None
        end, start = r.stop, r.start
    else:
        ongoing = r.status == "in-progress" and r.end is None
        end, start = (r.end or r.date), r.date
    if ongoing or (end is not None and end >= as_of):
        return 0, 0
    if end is not None:
        return (as_of - end).days, (as_of - end).days
    return 0, (math.inf if start is None else (as_of - start).days)


def _elapsed(trial: CompiledTrial, src: X.Elapsed) -> Callable[[Env], Resolved]:
    category, which = X.ELAPSED_FUNCTIONS[src.function]
    concept = trial.concepts[src.concept]
    name = src.concept
    test = record_test(category, _EXISTS[category], None)
    what = _WHAT[src.function]

    def run(env: Env) -> Resolved:
        as_of = env.as_of
        matched, yes, maybe, questions = _found(trial, concept, category, test, env)
        complete = category in env.complete
        unrec = complete_blockers(trial, concept, category, test, env, matched) if complete else ()
        if not yes:
            if maybe:
                return Resolved(None, f"{concept.label}: cannot tell whether any record counts: "
                                + "; ".join(record_text(category, r) + questions.get(id(r), "") for r in maybe),
                                _evidence(name, category, maybe), (name,))
            if unrec:
                return Resolved(None, f"no record of {concept.label}; {category} declared complete, but "
                                + "; ".join(f"{u.record}: {u.why}" for u in unrec)
                                + f": does it count as {concept.label}?", (), (name,), unrecognised=unrec)
            if complete:
                return Resolved(NO_EVENT, f"no record of {concept.label}; {category} declared complete")
            return Resolved(None, f"no record of {concept.label} ({category} not declared complete)", (), (name,))
        spans = [_ends(category, r, as_of, which) for r in yes]
        others = [_ends(category, r, as_of, which) for r in maybe] + [(0, math.inf)] * len(unrec)
        if which == "first":  # the earliest start: more records can only make it earlier
            lo = max([s[0] for s in spans if not math.isinf(s[0])] or [0])  # an undated record: at least
            hi = max([s[1] for s in spans] + [s[1] for s in others])
            if not complete:
                hi = math.inf
        else:  # the latest end: more records can only make it later
            lo, hi = min(s[0] for s in spans), min(s[1] for s in spans)
            lo = min([lo] + [s[0] for s in others])
            if not complete:
                lo = 0
        shown = "; ".join(record_text(category, r) for r in yes)
        text = f"{concept.label} {what} {_interval_text(lo, hi, ' days')} before {as_of} ({shown})"
        if not complete and lo != hi:
            text += f" ({category} not declared complete)"
        if maybe or unrec:
            text += "; could also count: " + "; ".join(
                [record_text(category, r) + questions.get(id(r), "") for r in maybe] + [u.record for u in unrec])
        return Resolved(_value(lo, hi), text, _evidence(name, category, yes + maybe), () if lo == hi else (name,),
                        unrecognised=unrec)

    return run


def _identity(category: str, distinct: str, concept: Any, r: Any) -> str | None:
    """What makes two records the same for a count: the drug (ingredient) for drugs, the code or name for
    conditions, the record itself for procedures; None when it cannot be told."""
    if distinct == "record":
        return f"record:{id(r)}"
    if distinct == "drug":
        cls = terminology().classify(category, r)
        if isinstance(cls, Recognised) and cls.drugs:
            fp = concept.footprint
            mine = [d for d in cls.drugs if fp is None or not fp.drugs or d in fp.drugs] or list(cls.drugs)
            return "drug:" + "+".join(sorted(mine))
        return None
    if r.code:
        return "code:" + code_key(r.code)
    return "name:" + " ".join(words(r.name)) if r.name else None


def _count(trial: CompiledTrial, src: X.Count) -> Callable[[Env], Resolved]:
    category, distinct = X.COUNT_FUNCTIONS[src.function]
    concept = trial.concepts[src.concept]
    name = src.concept
    w = src.window
    test = record_test(category, _IN_WINDOW[category] if w is not None else _EXISTS[category], w)
    noun = {"drug": "distinct drugs", "condition": "distinct conditions", "record": "records"}[distinct]

    def run(env: Env) -> Resolved:
        as_of = env.as_of
        matched, yes, maybe, questions = _found(trial, concept, category, test, env)
        complete = category in env.complete
        unrec = complete_blockers(trial, concept, category, test, env, matched) if complete else ()
        keys: dict[str, list] = {}
        unknown_identity = []
        for r in yes:
            k = _identity(category, distinct, concept, r)
            if k is None:
                unknown_identity.append(r)
            else:
                keys.setdefault(k, []).append(r)
        n = len(keys)
        lo = n + (1 if unknown_identity and n == 0 else 0)
        hi = n + len(unknown_identity) + len(maybe) + len(unrec)
        if not complete:
            hi = math.inf
        span = f" within {w} before {as_of} (since {w.start(as_of)})" if w else ""
        parts = ["; ".join(record_text(category, r) for r in rs) for rs in keys.values()]
        text = f"{concept.label}: {_interval_text(lo, hi, '')} {noun}{span}"
        if parts:
            text += ": " + " | ".join(parts)
        if unknown_identity:
            text += "; cannot tell which drug: " + "; ".join(record_text(category, r) for r in unknown_identity)
        if maybe or unrec:
            text += "; could also count: " + "; ".join(
                [record_text(category, r) + questions.get(id(r), "") for r in maybe] + [u.record for u in unrec])
        if not complete:
            text += f" ({category} not declared complete)"
        return Resolved(_value(lo, hi), text, _evidence(name, category, yes + maybe), () if lo == hi else (name,),
                        unrecognised=unrec)

    return run


def _span(value: Any) -> tuple[float, float]:
    return (value.low, value.high) if isinstance(value, Bounded) else (value, value)


def _days_text(lo: float, hi: float) -> str:
    """An interval of signed days from one day to another: '22 days after', 'between 5 days before and 3 days after'."""
    def one(d: float) -> str:
        n = format_number(abs(d))
        return f"{n} day{'' if abs(d) == 1 else 's'} {'before' if d < 0 else 'after'}" if d else "on the same day as"
    if lo == hi:
        return one(lo)
    if math.isinf(lo) and math.isinf(hi):
        return "not known how long before or after"
    if math.isinf(hi):
        return f"no earlier than {one(lo)}"
    if math.isinf(lo):
        return f"no later than {one(hi)}"
    return f"between {one(lo)} and {one(hi)}"


def _between(trial: CompiledTrial, src: X.Between) -> Callable[[Env], Resolved]:
    """Days from the first record's day to the second's (negative: the second came first), from the two
    days-since values: exact when both are, else the interval both intervals allow (an undated record, a
    part of the record not declared complete: an earlier onset or a later dose may be missing)."""
    first, second = _elapsed(trial, src.first), _elapsed(trial, src.second)
    what = [f"{trial.concepts[e.concept].label} ({_WHAT[e.function]})" for e in (src.first, src.second)]

    def run(env: Env) -> Resolved:
        a, b = first(env), second(env)
        evidence = a.evidence + b.evidence
        unrec = a.unrecognised + b.unrecognised
        head = f"days from {what[0]} to {what[1]}"
        open_ = [r for r in (a, b) if r.value is None]
        if open_:
            return Resolved(None, f"{head}: " + "; ".join(r.text for r in open_), evidence,
                            tuple(dict.fromkeys(m for r in open_ for m in r.missing)), unrecognised=unrec)
        if a.value is NO_EVENT or b.value is NO_EVENT:  # one of the two never happened (its part is complete)
            return Resolved(NO_EVENT, f"{head}: " + "; ".join(r.text for r in (a, b) if r.value is NO_EVENT), evidence)
        (alo, ahi), (blo, bhi) = _span(a.value), _span(b.value)
        lo, hi = alo - bhi, ahi - blo  # days since the first less days since the second; both lows are finite
        text = f"{what[1]} {_days_text(lo, hi)} {what[0]} ({a.text}; {b.text})"
        missing = () if lo == hi else tuple(dict.fromkeys(a.missing + b.missing)) or (src.first.concept,)
        return Resolved(_value(lo, hi), text, evidence, missing, unrecognised=unrec)

    return run


def _spaced(trial: CompiledTrial, src: X.Spaced) -> Callable[[Env], Resolved]:
    """How many values of an item meet its test on days at least ``apart`` from each other: the most
    such days (chosen earliest first, which is the most there can be). A day counts when every value on
    it meets the test; a day with a value that cannot be read, a bound that straddles the threshold or
    values that disagree could count. Observations are never known to be complete, so the count is "at
    least n": it decides ``>= n`` when enough values are on record, and otherwise stays unknown."""
    test = src.test
    name = src.item
    spec = trial.items[name]
    window = src.window or spec.window
    holds = COMPARISONS[test.op]
    shown_test = f"{spec.label} {test.op} {constant_text(trial, test)}"
    apart = src.apart

    def verdict(value: Any) -> bool | None:
        if value is None:
            return None
        if isinstance(value, Bounded):
            return value.decide(test.op, test.constant)
        return bool(holds(value, test.constant))

    def run(env: Env) -> Resolved:
        as_of = env.as_of
        start = window.start(as_of) if window is not None else None
        days: dict[date, list] = {}
        for r in env.view.find("observations", spec.matcher):
            if r.date > as_of or (start is not None and r.date < start):
                continue
            value, text, ev = read_record(spec, r, name)
            days.setdefault(r.date, []).append((verdict(value), text, ev))
        yes = sorted(d for d, vs in days.items() if all(v is True for v, _, _ in vs))
        could = sorted(d for d, vs in days.items() if d not in yes and any(v is not False for v, _, _ in vs))
        chosen: list[date] = []
        for d in yes:
            if not chosen or apart.start(d) >= chosen[-1]:
                chosen.append(d)
        n = len(chosen)
        span = f" within {window} before {as_of} (since {start})" if window is not None else f" up to {as_of}"
        if chosen:
            text = (f"{shown_test}: at least {n} value{'' if n == 1 else 's'} at least {apart} apart{span}: "
                    + "; ".join(t for d in chosen for v, t, _ in days[d]))
        else:
            text = f"{shown_test}: no such value on record{span}"
        close = [d for d in yes if d not in chosen]
        if close:
            text += "; less than " + str(apart) + " after a counted one: " + "; ".join(
                t for d in close for _, t, _ in days[d])
        if could:
            text += "; cannot tell: " + "; ".join(t for d in could for v, t, _ in days[d] if v is not False)
        text += " (more results may exist than are on record)"
        evidence = tuple(e for d in chosen + close + could for _, _, e in days[d])
        unreadable = env.view.unreadable("observations", spec.matcher) if env.view.patient.unmapped else ()
        if unreadable:
            text += "; could not be read: " + "; ".join(u.resource + (f" ({u.name})" if u.name else "")
                                                      for u in unreadable)
        return Resolved(Bounded(float(n), math.inf, False, True), text, evidence, (name,))

    return run
