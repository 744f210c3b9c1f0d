"""Condition: the diagnosis with its clinical status (or 'unknown' where an encounter diagnosis
gives none), how sure it is (provisional, differential, unconfirmed) and its onset and
abatement: a day when the chart gives one, else an interval of days with the chart's words
(an age or a range of ages converted with the birth date, a year or a month, a period; the
recorded date bounds the onset from above), never one day of such an interval."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, NamedTuple

from ....model.patient import Condition
from ..parse import Entry
from .context import MappingContext, Skip, clip, num, shown_date, status_code

RESOURCE_TYPES = ("Condition",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    table = ctx.m["condition"]
    ver = status_code(r.verificationStatus)
    if ver == "entered-in-error":  # an error, not a diagnosis: no record
        ctx.note(where, "verificationStatus entered-in-error: not used")
        return
    verification = table["verification_status"].get(ver) if ver else None
    if ver and verification is None:
        raise Skip(f"verificationStatus {ver} is not in the mapping table: cannot tell how sure the diagnosis is")
    onset = when(ctx, r, "onset", where)
    if r.recordedDate is not None:
        onset = bounded_by_recorded(ctx, onset, r.recordedDate, where)
    abatement = when(ctx, r, "abatement", where)
    ended = r.abatementDateTime or r.abatementPeriod or r.abatementAge or r.abatementRange or r.abatementString
    if verification == "refuted":
        status = "refuted"
    else:
        clin = status_code(r.clinicalStatus)
        if clin is None:  # allowed for encounter diagnoses: a diagnosis all the same
            status = "resolved" if ended is not None else "unknown"
        else:
            status = table["clinical_status"].get(clin)
            if status is None:
                raise Skip(f"clinicalStatus {clin} is not in the mapping table")
    ctx.lists["conditions"].append(Condition(
        onset=onset.day, onset_earliest=onset.earliest, onset_latest=onset.latest, onset_text=onset.text,
        abatement=abatement.day, abatement_earliest=abatement.earliest, abatement_latest=abatement.latest,
        abatement_text=abatement.text, status=status,
        verification=verification if verification in ("provisional", "differential", "unconfirmed") else None,
        severity=severity_word(ctx, r.severity, where), note=note_text(r.note),
        **ctx.identity(r.code, where)))


def severity_word(ctx: MappingContext, cc: Any, where: str) -> str | None:
    """The severity as a word of the mapping table (by code, else by its text); one the table does not
    have is noted and left out (a rule asking for a severity then cannot tell)."""
    if cc is None:
        return None
    table = ctx.m["condition"]["severity"]
    for c in cc.coding or ():
        prefix = ctx.t.prefix_of.get(c.system or "")
        if prefix and c.code and f"{prefix}:{c.code}" in table:
            return table[f"{prefix}:{c.code}"]
    texts = [cc.text] + [c.display for c in cc.coding or ()]
    for t in filter(None, texts):
        word = table.get(" ".join(t.lower().split()))
        if word is not None:
            return word
    shown = cc.text or ", ".join(f"{c.system}|{c.code}" for c in cc.coding or ())
    ctx.note(where, f"severity {shown!r} is not in the mapping table: kept without a severity")
    return None


def note_text(notes: Any) -> str | None:
    """The texts of a resource's notes (Annotation.text), one after another."""
    texts = [" ".join(n.text.split()) for n in notes or () if getattr(n, "text", None)]
    return " | ".join(texts)[:20000] if texts else None


class When(NamedTuple):
    """An onset or abatement: the day, or the first and last days it can have been with the chart's words."""

    day: dt.date | None = None
    earliest: dt.date | None = None
    latest: dt.date | None = None
    text: str | None = None


def interval(lo: dt.date | None, hi: dt.date | None, text: str) -> When:
    """A day when both ends are the same day, else the interval with its words (nothing when neither end is known:
    the words alone)."""
    if lo is not None and lo == hi:
        return When(day=lo)
    return When(None, lo, hi, clip(text))


def when(ctx: MappingContext, r: Any, what: str, where: str) -> When:
    """Condition.onset[x] or abatement[x] (``what``): onsetDateTime to the day, the year or the month;
    onsetAge; onsetPeriod (the onset happened within it); onsetRange (of ages); onsetString (words only)."""
    value = getattr(r, f"{what}DateTime", None)
    if value is not None:
        span = ctx.span(value, where, f"{what}DateTime")
        return When() if span is None else interval(*span, f"in {shown_date(value)}")
    period = getattr(r, f"{what}Period", None)
    if period is not None:
        start = ctx.span(period.start, where, f"{what}Period.start") if period.start is not None else None
        end = ctx.span(period.end, where, f"{what}Period.end") if period.end is not None else None
        lo, hi = (start[0] if start else None), (end[1] if end else None)
        if lo is not None and hi is not None and lo > hi:
            ctx.note(where, f"{what}Period starts after it ends: kept without {_a(what)} date")
            return When()
        if start and end:
            text = f"in the period {shown_date(period.start)} to {shown_date(period.end)}"
        elif start or end:
            text = (f"in the period from {shown_date(period.start)}" if start
                    else f"in the period up to {shown_date(period.end)}")
        else:
            return When()
        return interval(lo, hi, text)
    age = getattr(r, f"{what}Age", None)
    if age is not None:
        lo, hi = age_bounds(ctx, age, where, f"{what}Age", what)
        return interval(lo, hi, f"at age {age_words(ctx, age)}")
    rng = getattr(r, f"{what}Range", None)
    if rng is not None and (rng.low is not None or rng.high is not None):
        lo = age_bounds(ctx, rng.low, where, f"{what}Range.low", what, comparator=False)[0] if rng.low else None
        hi = age_bounds(ctx, rng.high, where, f"{what}Range.high", what, comparator=False)[1] if rng.high else None
        if rng.low is not None and rng.high is not None:
            text = f"at age {age_words(ctx, rng.low)} to {age_words(ctx, rng.high)}"
        elif rng.low is not None:
            text = f"at age {age_words(ctx, rng.low)} or older"
        else:
            text = f"at age {age_words(ctx, rng.high)} or younger"
        if lo is not None and hi is not None and lo > hi:
            ctx.note(where, f"{what}Range: its low is above its high: kept without {_a(what)} date")
            return When(text=clip(text))
        return interval(lo, hi, text)
    words = getattr(r, f"{what}String", None)
    if words is not None:
        ctx.note(where, f"{what}String {words!r} is not a date: kept as text, without {_a(what)} date")
        return When(text=clip(repr(words)))
    return When()


def bounded_by_recorded(ctx: MappingContext, onset: When, recorded: Any, where: str) -> When:
    """A condition cannot have begun after it was recorded: recordedDate is the onset's latest day when the
    chart gives no onset, or an interval that reaches past it. An exact onset is kept as charted (a note says
    when it is after the recorded date), and so is an interval that begins after it."""
    span = ctx.span(recorded, where, "recordedDate")
    if span is None:
        return onset
    last, shown = span[1], shown_date(recorded)
    if onset.day is not None or (onset.earliest is not None and onset.earliest > last):
        said = onset.day if onset.day is not None else onset.text
        if onset.day is None or onset.day > last:
            ctx.note(where, f"onset {said} is after recordedDate {shown}: the onset is kept as charted")
        return onset
    if onset.latest is not None and onset.latest <= last:
        return onset
    return When(None, onset.earliest, last, clip(f"{onset.text or 'not charted'}, recorded {shown}"))


def _a(what: str) -> str:
    return "an abatement" if what == "abatement" else "an onset"


def age_words(ctx: MappingContext, age: Any) -> str:
    """An age as the reasons show it: '54' (years), '18 months', '<40', '3 wk' (a unit the table does not have)."""
    per_year = ctx.m["condition"]["age_units"].get(age.code or age.unit or "")
    unit = "" if per_year == 1 else " months" if per_year == 12 else f" {age.code or age.unit}" \
        if (age.code or age.unit) else ""
    value = num(age.value) if age.value is not None else "?"
    return f"{getattr(age, 'comparator', None) or ''}{value}{unit}"


def age_bounds(ctx: MappingContext, age: Any, where: str, field: str, what: str,
               comparator: bool = True) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of an age (onsetAge, a bound of onsetRange) with the birth date: 54 years is from
    the 54th birthday to the day before the 55th (a fraction of a year is within that year of age); '<40' is
    before the 40th birthday, '>=40' from it. (None, None) when it cannot be converted (noted)."""
    per_year = ctx.m["condition"]["age_units"].get(age.code or age.unit or "")
    if age.value is None or per_year is None or ctx.birth is None:
        why = "no birth date to convert it with" if ctx.birth is None else f"unit {age.code or age.unit!r}"
        ctx.note(where, f"{field} {num(age.value) if age.value is not None else '?'}: {why}: kept without "
                        f"{_a(what)} date")
        return None, None
    from dateutil.relativedelta import relativedelta

    unit = 12 // per_year  # months in one unit of the age
    value = Decimal(age.value)
    n = math.floor(value)
    first = ctx.birth + relativedelta(months=n * unit)
    last = ctx.birth + relativedelta(months=(n + 1) * unit) - dt.timedelta(days=1)
    cmp = getattr(age, "comparator", None) if comparator else None
    if cmp == "<":  # younger than the age: before it is reached (a fraction: before the end of that year of age)
        return None, (first - dt.timedelta(days=1) if value == n else last)
    if cmp == "<=":
        return None, last
    if cmp in (">", ">="):
        return first, None
    return first, last
