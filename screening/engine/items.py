"""Data items: a patient's value for each named item of a trial, or why there is none.

Resolution applies the item's definition (codes, canonical unit, look-back window, which
value wins, formula) to the patient's records as of the screening date, and says in words
what it used: the value and unit as recorded and as converted, its date and the window.
"""

from __future__ import annotations

import math
import operator
from datetime import date
from typing import Any

from ..errors import UnitError
from ..model.result import Evidence, build
from ..model.rulefile import DataType, Pick
from ..rules import ir as X
from ..rules.compiled import CompiledTrial, Equation, ItemSpec
from ..terms.codes import code_key
from ..terms.names import words
from ..terms.results import is_negative, normalise_code, uncertain_words
from ..values.bounds import Bounded, Several, extreme, split_bound
from ..values.durations import Window, age_in_years
from ..values.logic import PASS, UNKNOWN
from ..values.titers import read_titer
from ..values.units import conversion, conversion_factor, format_number
from .records import PatientView


class Resolved:
    """A data item's value for one patient, or why there is none (value None)."""

    __slots__ = ("value", "text", "evidence", "missing", "date", "unrecognised")

    def __init__(self, value: Any, text: str, evidence: tuple = (), missing: tuple = (), day: date | None = None,
                 unrecognised: tuple = ()):
        self.value, self.text, self.evidence, self.missing, self.date = value, text, evidence, missing, day
        self.unrecognised = unrecognised  # records of a complete part that could count (counts, days since)


class Env:
    """Per-screen state: the patient's view, a memo of resolved items, and the closures of the trial's
    inferred facts (item -> ((program, value when it holds, expression text), ...))."""

    __slots__ = ("view", "as_of", "complete", "memo", "trial", "inferences")

    def __init__(self, trial: CompiledTrial, view: PatientView, inferences: dict | None = None):
        self.trial, self.view, self.as_of, self.complete = trial, view, view.as_of, view.complete
        self.memo: dict[str, Resolved] = {}
        self.inferences = inferences or {}


def format_reasons(reasons: Any) -> str:
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




def _unknown(text: str, name: str, evidence: tuple = ()) -> Resolved:
    return Resolved(None, text, evidence, (name,))


def _label(spec: ItemSpec, r: Any) -> str:
    """The item's label, and the record's own name when the record was found by a phrase inside a longer
    name ('body weight (Weight, standing)'), so that the chart entry can be checked."""
    name = getattr(r, "name", None)
    if not name or _by_code(spec, r):
        return spec.label
    toks = words(name)
    return spec.label if toks == words(spec.label) or toks in spec.matcher.phrases else f"{spec.label} ({name})"


def _by_code(spec: ItemSpec, r: Any) -> bool:
    codes = spec.matcher.codes
    return (r.code is not None and code_key(r.code) in codes) or any(code_key(c) in codes for c in r.codes)


def source_suffix(r: Any) -> str:
    return f" [{r.source}]" if getattr(r, "source", None) else ""


def evidence_of(name: str, r: Any, value: Any = None, unit: str | None = None,
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


def _convert(spec: ItemSpec, r: Any) -> tuple[float | Bounded | None, str]:
    """A quantity record in the item's unit, with its description, or None and why not.

    A value recorded as a bound ('<0.5', as labs report below a detection limit) converts
    to a ``Bounded`` interval: comparisons decide only when the whole interval agrees.
    """
    bound = split_bound(r.value)
    raw = _number(r.value if bound is None else bound[1])
    shown = f"{r.value}{unit_suffix(r.unit)}"
    where = f"{_label(spec, r)} {shown} on {r.date}{source_suffix(r)}"
    if raw is None:
        return None, f"{where} is not a number"
    unit = r.unit if r.unit not in (None, "") else None
    if unit is None and spec.unit not in (None, "", "1", "dimensionless"):
        return None, f"{where} has no unit (expected {spec.unit})"
    factor, offset = spec.factors.get(unit or "1"), 0.0
    if factor is None:
        try:  # a factor, or an affine map for offset units and an analyte's own scales (HbA1c % <-> mmol/mol)
            factor, offset = conversion(unit or "dimensionless", spec.unit or "dimensionless", spec.context,
                                        spec.molar_mass)
        except UnitError as err:
            return None, f"{where}: {err}"
    value = float(f"{raw * factor + offset:.12g}")
    if not math.isfinite(value):
        return None, f"{where} is out of range in {spec.unit}"
    text = where
    if factor != 1.0 or offset != 0.0:
        converted = f"{bound[0] if bound else ''}{format_number(value)}{unit_suffix(spec.unit)}"
        text = f"{_label(spec, r)} {shown} ({converted}) on {r.date}{source_suffix(r)}"
    result = value if bound is None else Bounded.of(bound[0], value)
    why = spec.implausible(result)  # a physiologically impossible value is a charting error, never compared
    if why is not None:
        return None, f"{text} {why}"
    return result, text + _preliminary(r)


def _preliminary(r: Any) -> str:
    """A result not yet final is used, and the reason says so."""
    return _NOT_FINAL.get(r.status, "")


_NOT_FINAL = {"preliminary": " (preliminary)", "registered": " (registered, not final)"}


def unit_suffix(unit: str | None) -> str:
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
    return None, _unknown(f"{_label(spec, last)} {what}{source_suffix(last)} is outside the {spec.window} window "
                          f"(since {start})", name, (evidence_of(name, last, getattr(last, "value", None),
                                                                getattr(last, "unit", None), day=when),))


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
    resolved = _resolve_item(spec, env, name)
    unreadable = env.view.unreadable("observations", spec.matcher) if env.view.patient.unmapped else ()
    return _with_unreadable(spec, resolved, unreadable, env.as_of, name) if unreadable else resolved


def _with_unreadable(spec: ItemSpec, resolved: Resolved, unreadable: list, as_of: date, name: str) -> Resolved:
    """An item's value in the light of source records that could be it but could not be read (an invalid
    Observation): named in the reason when the value is unknown, and making it unknown when such a record
    could be the one the item's pick rule chooses (in the window, and as new, as old, as high or as low)."""
    start = spec.window.start(as_of) if spec.window is not None else None
    could = [u for u in unreadable if (u.date is None or u.date <= as_of) and (start is None or u.date is None
                                                                              or u.date >= start)]
    if not could:
        return resolved
    named = "; ".join(f"{u.resource}" + (f" ({u.name})" if u.name else "") + f" could not be read: {_why(u.reason)}"
                      for u in could)
    if resolved.value is None:
        return Resolved(None, f"{resolved.text}; {named}", resolved.evidence, resolved.missing or (name,))
    day = resolved.date
    if spec.pick is Pick.LATEST:
        blocking = [u for u in could if u.date is None or day is None or u.date >= day]
    elif spec.pick is Pick.EARLIEST:
        blocking = [u for u in could if u.date is None or day is None or u.date <= day]
    else:  # the highest or lowest: any of them could hold it
        blocking = could
    if not blocking:
        return resolved
    which = {Pick.LATEST: "newer", Pick.EARLIEST: "older"}.get(spec.pick, "the " + spec.pick.value)
    named = "; ".join(f"{u.resource}" + (f" ({u.name})" if u.name else "") + f" could not be read: {_why(u.reason)}"
                      for u in blocking)
    return Resolved(None, f"{resolved.text}; but {named}, and could be a {which} {spec.label}",
                    resolved.evidence, (name,))


def _why(reason: str) -> str:
    """An unmapped record's reason without the note on how screening went on ('...: not used (...)')."""
    return reason.split(": not used (", 1)[0]


def _resolve_item(spec: ItemSpec, env: Env, name: str) -> Resolved:
    records = env.view.find("observations", spec.matcher)
    if spec.running:
        return _resolve_running(spec, records, env, name)
    if records:
        inside, stale = _in_window(spec, records, env.as_of, name)
        if stale is not None and spec.formula is None:
            return stale
        if inside:
            return _resolve_observation(spec, inside, name)
    if spec.formula is not None:
        derived = _derive(spec, env)
        if derived.value is not None and spec.window is not None and derived.date is not None:
            start = spec.window.start(env.as_of)
            if derived.date < start:
                return Resolved(None, f"{derived.text}: newest value {derived.date} is outside the {spec.window} "
                                f"window (since {start})", derived.evidence, (name,))
        return derived
    return _unknown(f"no {spec.label} on record", name)


_TERM_DAYS = 280  # an estimated due date is 40 weeks of gestation (Naegele)


def _resolve_running(spec: ItemSpec, records: list, env: Env, name: str) -> Resolved:
    """A duration that grows with time (gestational age) on the screening date: the newest record, either
    the value as recorded plus the days since, or (due_date) 280 days minus the days until the due date."""
    from ..values.units import conversion_factor

    as_of = env.as_of
    dues = env.view.find("observations", spec.due_date) if spec.due_date is not None else []
    every = sorted(records + dues, key=lambda r: r.date)
    if not every:
        return _unknown(f"no {spec.label} on record" + (", and no estimated due date" if spec.due_date else ""), name)
    inside, stale = _in_window(spec, every, as_of, name)
    if stale is not None:
        return stale
    day = inside[-1].date
    per_day = conversion_factor("d", spec.unit)
    due_ids = {id(r) for r in dues}
    values, texts, evidence = [], [], []
    for r in (r for r in inside if r.date == day):
        if id(r) in due_ids:
            try:
                due = r.value if isinstance(r.value, date) else date.fromisoformat(str(r.value).strip()[:10])
            except ValueError:
                return _unknown(f"estimated due date {r.value!r} recorded {r.date}{source_suffix(r)} is not a date",
                                name, (evidence_of(name, r, r.value, None, day=r.date),))
            days = _TERM_DAYS - (due - as_of).days
            value = float(f"{days * per_day:.12g}")
            text = (f"{spec.label} {format_number(round(value, 1))}{unit_suffix(spec.unit)} on {as_of}: 280 days less "
                    f"the {(due - as_of).days} days until the estimated due date {due} (recorded {r.date}"
                    f"{source_suffix(r)})")
            ev = evidence_of(name, r, str(r.value), None, value, spec.unit, r.date)
        else:
            value, text, ev = _read(spec, r, name)
            if value is None:
                return _unknown(text, name, (ev,))
            shift = (as_of - r.date).days * per_day
            value = value.shifted(shift) if isinstance(value, Bounded) else float(f"{value + shift:.12g}")
            shown = f"{value.low if isinstance(value, Bounded) else value:.3g}"
            text = (f"{spec.label} on {as_of}: {text}, and {(as_of - r.date).days} days since "
                    f"(= {format_number(float(shown))}{unit_suffix(spec.unit)}{' or more' if isinstance(value, Bounded) else ''})")
        why = spec.implausible(value)
        if why is not None:
            return _unknown(f"{text} {why}", name, (ev,))
        values.append(value)
        texts.append(text)
        evidence.append(ev)
    distinct = tuple(dict.fromkeys(values))
    text = "; ".join(texts) + (f" (within {spec.window})" if spec.window is not None else "")
    return Resolved(distinct[0] if len(distinct) == 1 else Several(distinct), text, tuple(evidence), day=day)


def _read(spec: ItemSpec, r: Any, name: str) -> tuple[Any, str, Evidence]:
    """One record's value in the item's terms (None if unusable), its description and evidence."""
    if spec.dtype is DataType.QUANTITY:
        value, text = _convert(spec, r)
        converted = value if isinstance(value, float) else None
        return value, text, evidence_of(name, r, r.value, r.unit, converted, spec.unit, r.date)
    if spec.dtype is DataType.TITER:
        value = 0.0 if is_negative(r.value) else read_titer(r.value)  # a negative titer is below every titer
        shown = f"{r.value}" + (" (read as 1:" + format_number(value) + ")"
                                if isinstance(r.value, (int, float)) and value is not None else "")
        text = f"{_label(spec, r)} {shown} on {r.date}{source_suffix(r)}{_preliminary(r)}" + (
            "" if value is not None else " is not a titer")
        converted = value if isinstance(value, float) else None
        return value, text, evidence_of(name, r, r.value, r.unit, converted, "dilution", r.date)
    value = normalise_code(("positive" if r.value else "negative") if isinstance(r.value, bool) else r.value)
    unit = f" {r.unit}" if r.unit and not isinstance(r.value, bool) else ""  # a number is quoted with its unit
    text = f"{_label(spec, r)} {r.value}{unit} on {r.date}{source_suffix(r)}{_preliminary(r)}"
    if spec.vocabulary is not None and value not in spec.vocabulary:  # 'equivocal', 'Class IV': not a non-match
        text += f" is not a result the rules read ({', '.join(sorted(spec.vocabulary))})"
        value = None
    elif value == "positive" and (said := uncertain_words(r.name, r.value)):  # a VUS 'detected' is no positive
        text += (f" ({r.name})" if r.name and r.name not in text else "") + \
            f" says '{said}': not read as positive"
        value = None
    return value, text, evidence_of(name, r, r.value, r.unit, None, None, r.date)


read_record = _read  # one observation's value, description and evidence (engine.events counts values)


def read_value(spec: ItemSpec, record: Any) -> Any:
    """One observation's value in the item's terms (a number in its unit, a titer, a folded coded word, a
    ``Bounded`` interval), or None when it cannot be read: what the SQL path decides once per distinct value."""
    return _read(spec, record, spec.name)[0]


def _candidates(spec: ItemSpec, records: list) -> tuple[list, Any]:
    """The records (oldest first) the item's pick chooses among, and their day: every record for max and
    min (day None), else those of the latest (or earliest) date."""
    if spec.pick in (Pick.MAX, Pick.MIN):
        return records, None
    day = records[-1].date if spec.pick is Pick.LATEST else records[0].date
    return [r for r in records if r.date == day], day


def _resolve_observation(spec: ItemSpec, records: list, name: str) -> Resolved:
    """The winning value among records in the window (oldest first), by the item's pick rule."""
    return _pick(spec, records, name, lambda r: _read(spec, r, name), spec.label)


def _pick(spec: ItemSpec, records: list, name: str, read: Any, label: str) -> Resolved:
    """The value the item's pick rule selects among ``records`` (in its window, oldest first), each read by
    ``read`` (record -> (value or None, text, evidence)): its value, or its value as a multiple of a limit of
    its laboratory's range (``reference_ratio``). One record that cannot be read where it could be the one
    picked makes the item unknown.

    Latest and earliest are decided by date, never by the order of records in the file:
    different values on that date are kept together (``Several``) and decide a comparison
    only where they all agree.
    """
    candidates, day = _candidates(spec, records)
    values = []
    for r in candidates:
        value, text, ev = read(r)
        if value is None:
            return _unknown(text, name, (ev,))
        values.append((value, r, text, ev))
    if spec.pick in (Pick.MAX, Pick.MIN):
        return _extreme(spec, values)
    within = f" (within {spec.window})" if spec.window is not None else ""
    distinct = tuple(dict.fromkeys(v for v, _, _, _ in values))
    if len(distinct) > 1:  # same date, different values: decided only where they all agree
        text = f"{label}: {len(values)} values on {day}: " + "; ".join(t for _, _, t, _ in values) + within
        return Resolved(Several(distinct), text, tuple(e for _, _, _, e in values), day=day)
    value, r, text, ev = values[-1]
    return Resolved(value, text + within, (ev,), day=r.date)


def _extreme(spec: ItemSpec, values: list) -> Resolved:
    """The highest or lowest value; with bounds among them, the interval the extreme must lie in."""
    highest = spec.pick is Pick.MAX
    within = f" (within {spec.window})" if spec.window is not None else ""
    if not any(isinstance(v, Bounded) for v, _, _, _ in values):
        value, r, text, ev = (max if highest else min)(values, key=lambda v: v[0])
        return Resolved(value, text + within, (ev,), day=r.date)
    value = extreme([v for v, _, _, _ in values], highest)
    if not isinstance(value, Bounded):  # an exact value beyond every bound
        value, r, text, ev = next(v for v in values if v[0] == value and not isinstance(v[0], Bounded))
        return Resolved(value, text + within, (ev,), day=r.date)
    # the records that could hold the extreme: those whose values meet its interval
    could = [v for v in values if (v[0].high if isinstance(v[0], Bounded) else v[0]) >= value.low] if highest else \
            [v for v in values if (v[0].low if isinstance(v[0], Bounded) else v[0]) <= value.high]
    text = f"{'highest' if highest else 'lowest'} {spec.label} of: " + "; ".join(t for _, _, t, _ in could) + within
    return Resolved(value, text, tuple(e for _, _, _, e in could), day=max(r.date for _, r, _, _ in could))


class _Statement:
    """One record saying yes or no to a fact: a recorded fact, or an inference that holds."""

    __slots__ = ("day", "value", "text", "evidence")

    def __init__(self, day: date | None, value: bool, text: str, evidence: tuple):
        self.day, self.value, self.text, self.evidence = day, value, text, evidence


def _resolve_fact(spec: ItemSpec, env: Env) -> Resolved:
    name = spec.name
    records = env.view.find("facts", spec.matcher)
    statements: list[_Statement] = []
    stale = None
    if records:
        inside, stale = _in_window(spec, records, env.as_of, name)
        for f in inside or ():
            when = f" (recorded {f.date})" if f.date else ""
            statements.append(_Statement(f.date, bool(f.value), f"{_label(spec, f)}: {'yes' if f.value else 'no'}"
                                         f"{when}{source_suffix(f)}", (evidence_of(name, f, f.value, None, day=f.date),)))
    undecided, decided_false = [], []
    if spec.inferences:
        for program, then, text in env.inferences[name]:
            o = program(env)
            if o.status is PASS:
                days = [e.date for e in o.evidence if e.date is not None and e.date <= env.as_of]
                statements.append(_Statement(max(days) if days else None, then,
                                             f"{spec.label}: {'yes' if then else 'no'}, as {text} holds: "
                                             f"{format_reasons(o.reasons)}", o.evidence))
            elif o.status is UNKNOWN:
                undecided.append((text, o))
            else:
                decided_false.append((text, o))
    if statements:
        # the newest statement wins (undated ones rank below dated ones); one date saying yes and no is unknown
        newest = max(s.day or date.min for s in statements)
        top = [s for s in statements if (s.day or date.min) == newest]
        evidence = tuple(e for s in top for e in s.evidence)
        if len({s.value for s in top}) > 1:  # a yes and a no recorded on one date: not a coin toss
            return _unknown(f"{spec.label}: records disagree on {top[0].day or 'an undated record'}: "
                            + "; ".join(s.text for s in top), name, evidence)
        older = [s for s in statements if s not in top and s.value != top[0].value]
        text = "; ".join(dict.fromkeys(s.text for s in top))
        if older:
            text += "; newer than: " + "; ".join(s.text for s in older)
        return Resolved(top[0].value, text, evidence, day=top[0].day)
    if undecided:
        return Resolved(None, f"no record of {spec.label}, and to infer it: "
                        + "; ".join(f"{t}: {format_reasons(o.reasons)}" for t, o in undecided),
                        tuple(e for _, o in undecided for e in o.evidence),
                        tuple(dict.fromkeys([m for _, o in undecided for m in o.missing] + [name])))
    if stale is not None:
        return stale
    if spec.otherwise is not None and decided_false:
        return Resolved(spec.otherwise, f"{spec.label}: {'yes' if spec.otherwise else 'no'}, as none of these holds: "
                        + "; ".join(f"{t} ({format_reasons(o.reasons)})" for t, o in decided_false),
                        tuple(e for _, o in decided_false for e in o.evidence))
    if "facts" in env.complete and not name.startswith(X.CONFIRMATION):  # a person's word is never implied
        return Resolved(False, f"no record of {spec.label}; facts declared complete")
    return _unknown(f"no record of {spec.label}", name)


def _derive(spec: ItemSpec, env: Env) -> Resolved:
    f = spec.formula
    if isinstance(f, Equation):
        return _equation(spec, f, env)
    names = f.operands + f.patient
    parts = [resolve(o, env) for o in names] + ([resolve("sex", env)] if f.sex else [])
    unknown = [p for p in parts if p.value is None]
    if unknown:
        missing = tuple(m for p in unknown for m in p.missing) + (spec.name,)
        return Resolved(None, f"no {spec.label} on record, and to compute it ({f.text}): "
                              + "; ".join(p.text for p in unknown), tuple(e for p in parts for e in p.evidence),
                        tuple(dict.fromkeys(missing)))
    days = [p.date for p, o in zip(parts, names) if p.date is not None and o not in X.BUILTIN_SYMBOLS]
    evidence = tuple(e for p in parts for e in p.evidence)
    vague = [p for p in parts if isinstance(p.value, (Bounded, Several))]
    if vague:  # '<0.5', or two values on one day: no single value to compute with
        return Resolved(None, f"no {spec.label} on record, and to compute it ({f.text}): "
                        + "; ".join(f"{p.text} is " + ("a bound" if isinstance(p.value, Bounded) else "not one value")
                                    + ", not a value to compute with" for p in vague), evidence, (spec.name,))
    if days and f.max_spread.start(max(days)) > min(days):
        return Resolved(None, f"{spec.label}: the values to compute it are more than {f.max_spread} apart ("
                        + "; ".join(p.text for p in parts) + ")", evidence, (spec.name,))
    env_values = {o: p.value * scale for o, p, scale in zip(names, parts, f.scales)}
    if f.sex:
        sex = parts[-1].value
        if sex not in ("female", "male"):  # the formula's cases name female and male only: never the 'else'
            return Resolved(None, f"no {spec.label} on record, and {f.text} is defined for female and male, and the "
                            f"record says {sex!r}", evidence, (spec.name,))
        env_values["sex"] = sex
    try:
        value = float(f"{_arith(f.tree, env_values) * f.factor:.12g}")
    except ZeroDivisionError:
        return Resolved(None, f"{spec.label}: division by zero computing {f.text}", evidence, (spec.name,))
    except (OverflowError, TypeError, ValueError):  # huge values; a complex result of a fractional power
        value = math.nan
    if not math.isfinite(value):
        return Resolved(None, f"{spec.label}: {f.text} gives no finite number from "
                        + "; ".join(p.text for p in parts), evidence, (spec.name,))
    shown = f"{spec.label} {format_number(value)}{unit_suffix(spec.unit)} computed as {f.text}"
    why = spec.implausible(value)
    if why is not None:
        return Resolved(None, f"{shown} {why} (from " + "; ".join(p.text for p in parts) + ")", evidence, (spec.name,))
    text = f"{shown} from " + "; ".join(p.text for p in parts)
    return Resolved(value, text, evidence, day=max(days) if days else None)  # as recent as its newest operand


def _equation(spec: ItemSpec, eq: Equation, env: Env) -> Resolved:
    """A published equation from the latest value of each input item (within its window), age and sex."""
    from ..values.equations import EQUATIONS

    definition = EQUATIONS[eq.name]
    parts = [resolve(o, env) for o in eq.operands] + [resolve(p, env) for p in definition.patient]
    evidence = tuple(e for p in parts for e in p.evidence)
    head = f"no {spec.label} on record, and to compute it by {eq.label}"
    unknown = [p for p in parts if p.value is None]
    if unknown:
        missing = tuple(m for p in unknown for m in p.missing) + (spec.name,)
        return Resolved(None, f"{head}: " + "; ".join(p.text for p in unknown), evidence, tuple(dict.fromkeys(missing)))
    vague = [p for p in parts[:len(eq.operands)] if isinstance(p.value, (Bounded, Several))]
    if vague:
        return Resolved(None, f"{head}: " + "; ".join(f"{p.text} is " + ("a bound" if isinstance(p.value, Bounded)
                                                                          else "not one value")
                                                      + ", not a value to compute with" for p in vague),
                        evidence, (spec.name,))
    sex = parts[-1].value
    if "sex" in definition.patient and sex not in ("female", "male"):
        return Resolved(None, f"{head}: the equation is defined for female and male, and the record says "
                        f"{sex!r}", evidence, (spec.name,))
    days = [p.date for p in parts[:len(eq.operands)] if p.date is not None]
    if days and eq.max_spread.start(max(days)) > min(days):
        return Resolved(None, f"{spec.label}: the values to compute it are more than {eq.max_spread} apart ("
                        + "; ".join(p.text for p in parts[:len(eq.operands)]) + ")", evidence, (spec.name,))
    inputs = {role: p.value * scale for role, p, scale in zip(eq.roles, parts, eq.scales)}
    if any(v <= 0 for v in inputs.values()):
        return Resolved(None, f"{head}: an input is not above 0 (" + "; ".join(p.text for p in parts) + ")",
                        evidence, (spec.name,))
    age = parts[len(eq.operands)].value
    value = float(f"{definition.function(**inputs, age=age, sex=sex) * eq.factor:.12g}")
    shown = f"{spec.label} {format_number(round(value, 1))}{unit_suffix(spec.unit)} computed by {eq.label}"
    why = spec.implausible(value)
    if why is not None:
        return Resolved(None, f"{shown} {why} (from " + "; ".join(p.text for p in parts) + ")", evidence, (spec.name,))
    return Resolved(value, f"{shown} from " + "; ".join(p.text for p in parts), evidence,
                    day=max(days) if days else None)


_ARITH = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "tdiv": operator.truediv,
          "pow": operator.pow}


def _arith(tree: Any, values: dict[str, float]) -> float:
    kind = tree[0]
    if kind == "item":
        return values[tree[1]]
    if kind in ("const", "qconst"):
        return tree[1]
    if kind == "sex":
        return _arith(tree[2] if values["sex"] in tree[1] else tree[3], values)
    return _ARITH[kind](_arith(tree[1], values), _arith(tree[2], values))


def change(item: str, window: Window, env: Env, percent: bool = False) -> Resolved:
    """Latest minus earliest value of a quantity item within the window; with ``percent``, that change
    as a percentage of the earliest value (unknown when the earliest is 0)."""
    spec = env.trial.items[item]
    start = window.start(env.as_of)
    records = [r for r in env.view.find("observations", spec.matcher) if r.date >= start]
    converted = [(_convert(spec, r), r) for r in records]
    bad = [text + ("" if value is None else " is a bound, not a value to compute a change from")
           for (value, text), _ in converted if not isinstance(value, float)]
    if bad:
        return _unknown("; ".join(bad), item)
    for end in (converted[:1], converted[-1:]):  # the first and the last date must each give one value
        day = end[0][1].date if end else None
        same = [(v, t) for (v, t), r in converted if r.date == day]
        if len({v for v, _ in same}) > 1:
            return _unknown(f"{len(same)} values of {spec.label} on {day}, not a value to compute a change from: "
                            + "; ".join(t for _, t in same), item)
    if len(converted) < 2:
        return _unknown(f"change in {spec.label} needs two values within {window} (since {start}); "
                        f"found {len(converted)}", item)
    (v0, t0), r0 = converted[0]
    (v1, t1), r1 = converted[-1]
    ev = (evidence_of(item, r0, r0.value, r0.unit, v0, spec.unit, r0.date),
          evidence_of(item, r1, r1.value, r1.unit, v1, spec.unit, r1.date))
    delta = v1 - v0
    if percent:
        if v0 == 0:
            return _unknown(f"percent change in {spec.label} from 0 is not a number ({t0} to {t1})", item, ev)
        pct = float(f"{100.0 * delta / v0:.12g}")
        return Resolved(pct, f"change in {spec.label} {pct:+.3g}% over {window} ({delta:+g}{unit_suffix(spec.unit)}: "
                        f"{t0} to {t1})", ev, day=r1.date)
    return Resolved(delta, f"change in {spec.label} {delta:+g}{unit_suffix(spec.unit)} over {window} ({t0} to {t1})",
                    ev, day=r1.date)



def reference_ratio(item: str, limit: str, env: Env) -> Resolved:
    """A quantity item's value as a multiple of its laboratory's own limit of normal (x ULN, x LLN).

    The record that the item's pick rule selects is divided by the limit reported with it,
    both in the item's unit. No reference range, no such limit, a limit in a unit that
    cannot be converted, or a value recorded as a bound: unknown, with the reason.
    """
    spec = env.trial.items[item]
    abbrev = "ULN" if limit == "high" else "LLN"
    records = env.view.find("observations", spec.matcher)
    if not records:
        why = " (a computed value has no laboratory range)" if spec.formula is not None else ""
        return _unknown(f"no {spec.label} on record{why}", item)
    inside, stale = _in_window(spec, records, env.as_of, item)
    if stale is not None:
        return stale
    return _pick(spec, inside, item, lambda r: _ratio(spec, r, item, limit), f"{spec.label} x {abbrev}")


def _ratio(spec: ItemSpec, r: Any, item: str, limit: str) -> tuple[float | None, str, Evidence]:
    """One record's value divided by its laboratory's limit, both in the item's unit (None when it cannot
    be: unreadable, a bound, no such limit, a unit that cannot be converted, a limit that is not positive)."""
    abbrev = "ULN" if limit == "high" else "LLN"
    what = "upper" if limit == "high" else "lower"
    value, text = _convert(spec, r)
    ev = evidence_of(item, r, r.value, r.unit, value if isinstance(value, float) else None, spec.unit, r.date)
    if value is None:
        return None, text, ev
    if not isinstance(value, float):
        return None, f"{text} is a bound, not a value to compare with its {abbrev}", ev
    rr = getattr(r, "reference_range", None)
    bound = None if rr is None else (rr.high if limit == "high" else rr.low)
    if bound is None:
        has = "no reference range" if rr is None else f"a reference range without an {what} limit ({_range_text(rr, r)})"
        return None, f"{text} has {has}: {spec.label} x {abbrev} cannot be computed", ev
    unit = rr.unit if rr.unit not in (None, "") else r.unit
    try:
        factor = conversion_factor(unit or "dimensionless", spec.unit or "dimensionless", spec.context,
                                   spec.molar_mass)
    except UnitError as err:
        return None, f"{text}: its reference range ({_range_text(rr, r)}) cannot be read in {spec.unit}: {err}", ev
    limit_value = float(bound) * factor
    if not limit_value > 0:
        return None, f"{text}: the {abbrev} of its reference range is {bound}, not a limit to divide by", ev
    ratio = float(f"{value / limit_value:.12g}")
    return ratio, (f"{text} = {format_number(ratio)} x {abbrev} ({abbrev} {format_number(float(bound))}"
                   f"{unit_suffix(unit)} of the laboratory's range {_range_text(rr, r)})"), ev


def read_ratio(spec: ItemSpec, record: Any, limit: str) -> float | None:
    """One observation's value as a multiple of its laboratory's limit, or None when it cannot be computed:
    what the SQL path decides once per distinct value and range."""
    return _ratio(spec, record, spec.name, limit)[0]


def _range_text(rr: Any, r: Any) -> str:
    if rr.text:
        return rr.text
    unit = unit_suffix(rr.unit if rr.unit not in (None, "") else r.unit)
    low = "" if rr.low is None else format_number(float(rr.low))
    high = "" if rr.high is None else format_number(float(rr.high))
    if low and high:
        return f"{low}-{high}{unit}"
    return f">= {low}{unit}" if low else f"<= {high}{unit}"
