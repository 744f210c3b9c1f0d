"""Evaluation: a compiled trial, a patient and a reference date in; a result with reasons out.

``screen`` is a pure function of its arguments: no clock, no I/O, no shared mutable state.
Each IR node is compiled once (per trial) into a closure; running a closure on a patient
gives an ``Outcome`` (a Kleene status with its reasons, evidence and missing items).
"""

from __future__ import annotations

import math
import operator
from datetime import date
from typing import Any, Callable, Iterable

from . import expressions as X
from .compiled import CompiledCriterion, CompiledTrial, ItemSpec
from .durations import Window, age_in_years
from .errors import UnitError
from .logic import FAIL, PASS, UNKNOWN, Status, and_, not_, or_
from .models.criteria import DataType, Kind, Pick
from .models.patient import Patient
from .models.result import CriterionResult, Evidence, ScreeningResult, Verdict, build
from .records import DATE_FIELD, PatientView
from .units import conversion_factor, format_number, parse_titer


class Outcome:
    """Status of an expression with the reasons, evidence and missing items behind it."""

    __slots__ = ("status", "reasons", "evidence", "missing")

    def __init__(self, status: Status, reasons: tuple = (), evidence: tuple = (), missing: tuple = ()):
        self.status, self.reasons, self.evidence, self.missing = status, reasons, evidence, missing


class Resolved:
    """A data item's value for one patient, or why there is none (value None)."""

    __slots__ = ("value", "text", "evidence", "missing", "date")

    def __init__(self, value: Any, text: str, evidence: tuple = (), missing: tuple = (), day: date | None = None):
        self.value, self.text, self.evidence, self.missing, self.date = value, text, evidence, missing, day


class Env:
    """Per-screen state: the patient's view and a memo of resolved items."""

    __slots__ = ("view", "as_of", "complete", "memo", "trial")

    def __init__(self, trial: CompiledTrial, view: PatientView):
        self.trial, self.view, self.as_of, self.complete = trial, view, view.as_of, view.complete
        self.memo: dict[str, Resolved] = {}


Program = Callable[[Env], Outcome]


# ---------------------------------------------------------------- item resolution


def _unknown(text: str, name: str, evidence: tuple = ()) -> Resolved:
    return Resolved(None, text, evidence, (name,))


def _src(r: Any) -> str:
    return f" [{r.source}]" if getattr(r, "source", None) else ""


def _evidence(name: str, r: Any, value: Any = None, unit: str | None = None,
              converted: float | None = None, converted_unit: str | None = None, day: date | None = None) -> Evidence:
    return build(Evidence, item=name, value=value, unit=unit, converted=converted,
                                    converted_unit=converted_unit, date=day, source=getattr(r, "source", None),
                                    record=getattr(r, "name", None) or getattr(r, "code", None))


def _number(value: Any) -> float | None:
    """A finite number from a recorded value; None for text, booleans, NaN and infinities."""
    if isinstance(value, bool):
        return None
    try:
        x = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except (ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _convert(spec: ItemSpec, r: Any) -> tuple[float | None, str]:
    """A quantity record in the item's unit, with its description, or None and why not."""
    raw = _number(r.value)
    shown = f"{r.value}" + (f" {r.unit}" if r.unit else "")
    where = f"{spec.label} {shown} on {r.date}{_src(r)}"
    if raw is None:
        return None, f"{where} is not a number"
    unit = r.unit if r.unit not in (None, "") else None
    if unit is None and spec.unit not in (None, "", "1", "dimensionless"):
        return None, f"{where} has no unit (expected {spec.unit})"
    factor = spec.factors.get(unit or "1")
    if factor is None:
        try:
            factor = conversion_factor(unit or "dimensionless", spec.unit or "dimensionless", spec.context)
        except UnitError as err:
            return None, f"{where}: {err}"
    value = float(f"{raw * factor:.12g}")
    if not math.isfinite(value):
        return None, f"{where} is out of range in {spec.unit}"
    text = where
    if factor != 1.0:
        text = f"{spec.label} {shown} ({format_number(value)}{_unit_suffix(spec.unit)}) on {r.date}{_src(r)}"
    return value, text + _preliminary(r)


def _preliminary(r: Any) -> str:
    """A result not yet final is used, and the reason says so."""
    return " (preliminary)" if r.status == "preliminary" else ""


def _unit_suffix(unit: str | None) -> str:
    return "" if unit in (None, "", "1", "dimensionless") else f" {unit}"


def _in_window(spec: ItemSpec, records: list, as_of: date, name: str, day=lambda r: r.date):
    """Records inside the item's window, or a Resolved explaining that they are stale."""
    if spec.window is None:
        return records, None
    start = spec.window.start(as_of)
    inside = [r for r in records if day(r) is not None and day(r) >= start]
    if inside:
        return inside, None
    last = records[-1]
    when = day(last)
    what = f"last on {when}" if when else "recorded with no date"
    return None, _unknown(f"{spec.label} {what}{_src(last)} is outside the {spec.window} window "
                          f"(since {start})", name, (_evidence(name, last, getattr(last, "value", None),
                                                                getattr(last, "unit", None), day=when),))


def _pick(spec: ItemSpec, values: list[tuple[Any, Any, str]]) -> tuple[Any, Any, str]:
    """(value, record, text) chosen by the item's pick rule from oldest-first candidates."""
    if spec.pick is Pick.LATEST:
        return values[-1]
    if spec.pick is Pick.EARLIEST:
        return values[0]
    chooser = max if spec.pick is Pick.MAX else min
    return chooser(values, key=lambda v: v[0])


def resolve(name: str, env: Env) -> Resolved:
    """The value of data item ``name`` for this patient (memoised per screen)."""
    hit = env.memo.get(name)
    if hit is None:
        hit = env.memo[name] = _resolve(name, env)
    return hit


def _resolve(name: str, env: Env) -> Resolved:
    if name == "age":
        birth = env.view.patient.birth_date
        if birth is None:
            return _unknown("no birth date on record", "birth_date")
        if birth > env.as_of:  # not born yet on the screening date: the data or the date is wrong
            return _unknown(f"birth date {birth} is after the screening date {env.as_of}", "birth_date")
        age = age_in_years(birth, env.as_of)
        ev = build(Evidence, item="age", value=age, unit="years", date=birth, source=None,
                                      converted=None, converted_unit=None, record="birth_date")
        return Resolved(float(age), f"age {age} (born {birth})", (ev,), day=birth)
    if name == "sex":
        sex = env.view.patient.sex
        if sex in (None, "unknown"):
            return _unknown("sex not recorded", "sex")
        ev = build(Evidence, item="sex", value=sex, unit=None, date=None, source=None,
                                      converted=None, converted_unit=None, record="sex")
        return Resolved(sex, f"sex {sex}", (ev,))
    spec = env.trial.items[name]
    if spec.dtype is DataType.FACT:
        return _resolve_fact(spec, env)
    records = env.view.find("observations", spec.matcher)
    if records:
        inside, stale = _in_window(spec, records, env.as_of, name)
        if stale is not None and spec.formula is None:
            return stale
        if inside:
            return _resolve_observation(spec, inside, name)
    if spec.formula is not None:
        return _derive(spec, env)
    return _unknown(f"no {spec.label} on record", name)


def _resolve_observation(spec: ItemSpec, records: list, name: str) -> Resolved:
    candidates = records if spec.pick in (Pick.MAX, Pick.MIN) else [_pick(spec, [(0, r, "") for r in records])[1]]
    values = []
    for r in candidates:
        if spec.dtype is DataType.QUANTITY:
            value, text = _convert(spec, r)
            ev = _evidence(name, r, r.value, r.unit, value, spec.unit, r.date)
        elif spec.dtype is DataType.TITER:
            value = parse_titer(r.value)
            text = f"{spec.label} {r.value} on {r.date}{_src(r)}{_preliminary(r)}" + (
                "" if value is not None else " is not a titer")
            ev = _evidence(name, r, r.value, r.unit, value, "dilution", r.date)
        else:  # coded
            value = X.normalise_code(("positive" if r.value else "negative") if isinstance(r.value, bool) else r.value)
            text = f"{spec.label} {r.value} on {r.date}{_src(r)}{_preliminary(r)}"
            ev = _evidence(name, r, r.value, r.unit, None, None, r.date)
        if value is None:
            return _unknown(text, name, (ev,))
        values.append((value, r, text, ev))
    value, r, text = _pick(spec, [(v, rec, t) for v, rec, t, _ in values])
    ev = next(e for _, rec, _, e in values if rec is r)
    if spec.window is not None:
        text += f" (within {spec.window})"
    return Resolved(value, text, (ev,), day=r.date)


def _resolve_fact(spec: ItemSpec, env: Env) -> Resolved:
    name = spec.name
    records = env.view.find("facts", spec.matcher)
    if records:
        inside, stale = _in_window(spec, records, env.as_of, name)
        if stale is not None:
            return stale
        r = inside[-1]
        when = f" (recorded {r.date})" if r.date else ""
        text = f"{spec.label}: {'yes' if r.value else 'no'}{when}{_src(r)}"
        return Resolved(bool(r.value), text, (_evidence(name, r, r.value, None, day=r.date),), day=r.date)
    if "facts" in env.complete:
        return Resolved(False, f"no record of {spec.label}; facts declared complete")
    return _unknown(f"no record of {spec.label}", name)


def _derive(spec: ItemSpec, env: Env) -> Resolved:
    f = spec.formula
    parts = [resolve(o, env) for o in f.operands]
    unknown = [p for p in parts if p.value is None]
    if unknown:
        missing = tuple(m for p in unknown for m in p.missing) + (spec.name,)
        return Resolved(None, f"no {spec.label} on record, and to compute it ({f.text}): "
                              + "; ".join(p.text for p in unknown), tuple(e for p in parts for e in p.evidence),
                        tuple(dict.fromkeys(missing)))
    days = [p.date for p in parts if p.date is not None]
    evidence = tuple(e for p in parts for e in p.evidence)
    if days and f.max_spread.start(max(days)) > min(days):
        return Resolved(None, f"{spec.label}: the values to compute it are more than {f.max_spread} apart ("
                        + "; ".join(p.text for p in parts) + ")", evidence, (spec.name,))
    env_values = {o: p.value for o, p in zip(f.operands, parts)}
    try:
        value = float(f"{_arith(f.tree, env_values) * f.factor:.12g}")
    except ZeroDivisionError:
        return Resolved(None, f"{spec.label}: division by zero computing {f.text}", evidence, (spec.name,))
    except (OverflowError, TypeError, ValueError):  # huge values; a complex result of a fractional power
        value = math.nan
    if not math.isfinite(value):
        return Resolved(None, f"{spec.label}: {f.text} gives no finite number from "
                        + "; ".join(p.text for p in parts), evidence, (spec.name,))
    text = f"{spec.label} {format_number(value)}{_unit_suffix(spec.unit)} computed as {f.text} from " + "; ".join(p.text for p in parts)
    return Resolved(value, text, evidence, day=min(days) if days else None)


_ARITH = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "tdiv": operator.truediv,
          "pow": operator.pow}


def _arith(tree: Any, values: dict[str, float]) -> float:
    kind = tree[0]
    if kind == "item":
        return values[tree[1]]
    if kind == "const":
        return tree[1]
    return _ARITH[kind](_arith(tree[1], values), _arith(tree[2], values))


def _change(item: str, window: Window, env: Env) -> Resolved:
    spec = env.trial.items[item]
    start = window.start(env.as_of)
    records = [r for r in env.view.find("observations", spec.matcher) if r.date >= start]
    converted = [(_convert(spec, r), r) for r in records]
    bad = [text for (value, text), _ in converted if value is None]
    if bad:
        return _unknown("; ".join(bad), item)
    if len(converted) < 2:
        return _unknown(f"change in {spec.label} needs two values within {window} (since {start}); "
                        f"found {len(converted)}", item)
    (v0, t0), r0 = converted[0]
    (v1, t1), r1 = converted[-1]
    ev = (_evidence(item, r0, r0.value, r0.unit, v0, spec.unit, r0.date),
          _evidence(item, r1, r1.value, r1.unit, v1, spec.unit, r1.date))
    delta = v1 - v0
    return Resolved(delta, f"change in {spec.label} {delta:+g}{_unit_suffix(spec.unit)} over {window} ({t0} to {t1})",
                    ev, day=r1.date)


# ---------------------------------------------------------------- comparisons

_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge, "in": lambda a, b: a in b}


def _constant_text(trial: CompiledTrial, node: X.Compare) -> str:
    src = node.source
    name = src.name if isinstance(src, X.Item) else src.item
    if name == "age":
        return f"{format_number(node.constant)} years"
    if name == "sex":
        return repr(node.constant) if node.op != "in" else "[" + ", ".join(node.constant) + "]"
    spec = trial.items[name]
    if spec.dtype is DataType.TITER:
        show = lambda c: f"1:{format_number(c)}"  # noqa: E731
    elif spec.dtype is DataType.QUANTITY or isinstance(src, X.Change):
        unit = _unit_suffix(spec.unit)
        show = lambda c: f"{format_number(c)}{unit}"  # noqa: E731
    else:
        show = lambda c: f"'{c}'"  # noqa: E731
    written = node.written if node.written is not None else node.constant
    if spec.dtype is DataType.TITER:
        written = node.constant  # titers read back as 1:<dilution>
    if node.op == "in":
        return "[" + ", ".join(show(c) for c in written) + "]"
    return show(written)


def _compile_compare(trial: CompiledTrial, node: X.Compare) -> Program:
    src, op, const = node.source, node.op, node.constant
    test = _CMP[op]
    words = "in" if op == "in" else op
    bound = f"{words} {_constant_text(trial, node)}"
    if isinstance(src, X.Change):
        get = lambda env: _change(src.item, src.window, env)  # noqa: E731
    else:
        name = src.name
        get = lambda env: resolve(name, env)  # noqa: E731

    def run(env: Env) -> Outcome:
        r = get(env)
        if r.value is None:
            return Outcome(UNKNOWN, (r.text,), r.evidence, r.missing)
        if test(r.value, const):
            return Outcome(PASS, ((r.text, bound),), r.evidence)
        return Outcome(FAIL, ((r.text, f"not {bound}"),), r.evidence)

    return run


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


def _condition_test(fn: str, w: Window | None):
    def test(r: Any, as_of: date) -> str:
        if r.status == "refuted":
            return NEG
        active = r.status in _ACTIVE_CONDITION and (r.abatement is None or r.abatement > as_of)
        if fn == "has_condition":
            return YES if active else NEG
        if w is None:
            return YES
        return _overlaps(r.onset, r.abatement, active, w.start(as_of), as_of)
    return test


def _medication_test(fn: str, w: Window | None):
    def test(r: Any, as_of: date) -> str:
        if r.status == "not-taken":
            return NEG
        if r.status == "intended":
            return SKIP
        if fn == "ever_taken":
            return YES
        if fn == "started_within":
            if r.start is None:
                return MAYBE
            return YES if w.contains(r.start, as_of) else NO
        ongoing = r.status in ("active", "on-hold") and (r.stop is None or r.stop >= as_of)
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


def _record_text(category: str, r: Any) -> str:
    label = r.name or r.code
    if category == "conditions":
        when = f" onset {r.onset}" if r.onset else " (no onset date)"
        if r.abatement:
            when += f", abated {r.abatement}"
        return f"{label} ({r.status}){when}{_src(r)}"
    if category == "medications":
        when = f" started {r.start}" if r.start else " (no start date)"
        if r.stop:
            when += f", stopped {r.stop}"
        return f"{label}{when}{'' if r.status == 'active' else f' ({r.status})'}{_src(r)}"
    when = f" on {r.date}" if r.date else " (no date)"
    if getattr(r, "end", None):
        when += f", ended {r.end}"
    return f"{label}{when}{'' if r.status == 'completed' else f' ({r.status})'}{_src(r)}"




def _compile_records(trial: CompiledTrial, node: X.Records) -> Program:
    category, _ = X.RECORD_FUNCTIONS[node.function]
    concept = trial.concepts[node.concept]
    w = node.window
    test = {"conditions": _condition_test, "medications": _medication_test}.get(category, _dated_test)(
        node.function, w)
    phrase = {
        "has_condition": "active", "history_of": "history", "taking": "taking",
        "ever_taken": "ever taken", "started_within": "started", "had_procedure": "done",
        "procedure_planned": "planned", "vaccinated": "vaccinated",
    }[node.function]
    name = node.concept
    day_field = DATE_FIELD[category]

    def run(env: Env) -> Outcome:
        as_of = env.as_of
        span = f" within {w} before {as_of} (since {w.start(as_of)})" if w else ""
        verdicts: dict[str, list] = {YES: [], NO: [], NEG: [], MAYBE: []}
        for r in env.view.find(category, concept.matcher):
            v = test(r, as_of)
            if v != SKIP:
                verdicts[v].append(r)
        def ev(rs):
            return tuple(_evidence(name, r, r.status, None, day=r.__dict__[day_field]) for r in rs)
        if verdicts[YES]:
            rs = verdicts[YES]
            return Outcome(PASS, (f"{concept.label} {phrase}{span}: " + "; ".join(_record_text(category, r) for r in rs),), ev(rs))
        if verdicts[MAYBE]:
            rs = verdicts[MAYBE]
            return Outcome(UNKNOWN, (f"{concept.label}: cannot tell if {phrase}{span}: "
                                     + "; ".join(_record_text(category, r) for r in rs),), ev(rs), (name,))
        if verdicts[NEG]:
            rs = verdicts[NEG]
            return Outcome(FAIL, (f"{concept.label} not {phrase}: " + "; ".join(_record_text(category, r) for r in rs),), ev(rs))
        others = verdicts[NO]
        seen = ("; records outside it: " + "; ".join(_record_text(category, r) for r in others)) if others else ""
        if category in env.complete:
            return Outcome(FAIL, (f"no record of {concept.label} {phrase}{span}{seen}; {category} declared complete",), ev(others))
        return Outcome(UNKNOWN, (f"no record of {concept.label} {phrase}{span}{seen} ({category} not declared complete)",),
                       ev(others), (name,))

    return run


def _compile_fact(trial: CompiledTrial, node: X.FactIs) -> Program:
    name = node.item

    def run(env: Env) -> Outcome:
        r = resolve(name, env)
        if r.value is None:
            return Outcome(UNKNOWN, (r.text,), r.evidence, r.missing)
        return Outcome(PASS if r.value else FAIL, (r.text,), r.evidence)

    return run


# ---------------------------------------------------------------- logic


def _merge(outcomes: Iterable[Outcome], status: Status) -> Outcome:
    reasons, evidence, missing = [], {}, []
    for o in outcomes:
        reasons.extend(o.reasons)
        for e in o.evidence:
            evidence[id(e)] = e
        missing.extend(o.missing)
    return Outcome(status, tuple(reasons), tuple(evidence.values()), tuple(dict.fromkeys(missing)))


def format_reasons(reasons: Iterable) -> str:
    """Join reasons; comparisons on the same value read once: 'age 40 (born ...) >= 18 years and <= 75 years'."""
    parts: list[str] = []
    subject = None
    for r in reasons:
        if isinstance(r, tuple):
            if r[0] == subject:
                parts[-1] += f" and {r[1]}"
            else:
                subject = r[0]
                parts.append(f"{r[0]}{',' if r[1].startswith('not ') else ''} {r[1]}")
        else:
            subject = None
            parts.append(r)
    return "; ".join(dict.fromkeys(parts))


def _compile_junction(programs: list[Program], is_and: bool) -> Program:
    decisive = FAIL if is_and else PASS
    combine = and_ if is_and else or_

    def run(env: Env) -> Outcome:
        outs = [p(env) for p in programs]
        status = combine(o.status for o in outs)
        if status is decisive:
            return _merge((o for o in outs if o.status is decisive), status)
        if status is UNKNOWN:
            return _merge((o for o in outs if o.status is UNKNOWN), status)
        return _merge(outs, status)

    return run


def compile_node(trial: CompiledTrial, node: Any) -> Program:
    """Turn an IR node into a closure over an Env."""
    if isinstance(node, X.And) or isinstance(node, X.Or):
        return _compile_junction([compile_node(trial, n) for n in node.items], isinstance(node, X.And))
    if isinstance(node, X.Not):
        inner = compile_node(trial, node.item)

        def negate(env: Env) -> Outcome:
            o = inner(env)
            return Outcome(not_(o.status), o.reasons, o.evidence, o.missing)

        return negate
    if isinstance(node, X.Compare):
        return _compile_compare(trial, node)
    if isinstance(node, X.Records):
        return _compile_records(trial, node)
    if isinstance(node, X.FactIs):
        return _compile_fact(trial, node)
    if isinstance(node, X.Const):
        out = Outcome(PASS if node.value else FAIL, ("constant " + ("true" if node.value else "false"),))
        return lambda env: out
    raise TypeError(f"unknown IR node {node!r}")  # pragma: no cover - the converter emits only these


# ---------------------------------------------------------------- criteria and verdict


def _compile_criterion(trial: CompiledTrial, cc: CompiledCriterion):
    c = cc.criterion
    rule = compile_node(trial, cc.rule)
    applies = compile_node(trial, cc.applies_if) if cc.applies_if is not None else None
    exclusion = c.kind is Kind.EXCLUSION
    note = f" [reading: {c.note}]" if c.note else ""

    def run(env: Env) -> CriterionResult:
        r = rule(env)
        a = applies(env) if applies is not None else None
        a_status = a.status if a is not None else PASS
        if exclusion:
            met = and_((a_status, r.status))
            status = not_(met)
        else:
            status = met = or_((not_(a_status), r.status))
        if a_status is FAIL:
            reason, evidence, missing = "not applicable: " + format_reasons(a.reasons), a.evidence, ()
        elif a_status is UNKNOWN and status is UNKNOWN:
            reason = "not known whether it applies (" + format_reasons(a.reasons) + "); " + format_reasons(r.reasons)
            evidence = tuple({id(e): e for e in a.evidence + r.evidence}.values())
            missing = tuple(dict.fromkeys(a.missing + r.missing))
        else:
            reason, evidence = format_reasons(r.reasons), r.evidence
            missing = r.missing if status is UNKNOWN else ()
        if c.confirm:
            missing = tuple(m for m in missing if not m.startswith("confirm:"))
        if status is UNKNOWN and c.confirm:
            reason = f"needs confirmation ({c.confirm}): {reason}"
        return build(CriterionResult, 
            id=c.id, kind=c.kind, text=c.text, bullet=c.bullet, status=status, met=met.as_bool(),
            reason=reason + note, evidence=list(evidence), missing=list(missing),
            needs_confirmation=c.confirm is not None, applicable=(a_status.as_bool()),
        )

    return run


def build_program(trial: CompiledTrial) -> tuple:
    """Closures for every criterion of a trial (built once, reused for every patient)."""
    return tuple(_compile_criterion(trial, cc) for cc in trial.criteria)


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
        from .patients import parse_patient

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
    from .models.patient import Category

    unknown_parts = parts - {c.value for c in Category}
    if unknown_parts:
        known = ", ".join(sorted(c.value for c in Category))
        raise ValueError(f"unknown record parts in complete: {sorted(unknown_parts)} (choose from {known})")
    env = Env(trial, PatientView(patient, as_of, parts))
    results = [run(env) for run in trial._program]
    verdict = verdict_of(results)
    unknown = [r for r in results if r.status is UNKNOWN]
    missing = list(dict.fromkeys(m for r in unknown for m in r.missing))
    pending = [r.id for r in unknown if r.needs_confirmation]
    return build(ScreeningResult, 
        trial=trial.id, patient=patient.id, as_of=as_of, verdict=verdict, criteria=results,
        failed=[r.id for r in results if r.status is FAIL], unknown=[r.id for r in unknown],
        missing=missing, pending_confirmation=pending, complete=sorted(parts),
        summary=_summary(verdict, results, missing, pending), unmapped=list(patient.unmapped),
    )
