"""Condition: the diagnosis with its clinical status (or 'unknown' where an encounter diagnosis
gives none), how sure it is (provisional, differential, unconfirmed) and its onset and
abatement days (ages converted with the birth date)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ....model.patient import Condition
from ..parse import Entry
from .context import MappingContext, Skip, num, status_code

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
    onset = ctx.day(r.onsetDateTime or (r.onsetPeriod.start if r.onsetPeriod else None), where, "onset")
    if r.onsetAge is not None:
        onset = age_day(ctx, r.onsetAge, where, "onsetAge", last=False)
    for other in ("onsetRange", "onsetString"):
        if getattr(r, other, None) is not None:
            ctx.note(where, f"{other} is not a date: kept without an onset date")
    abatement = ctx.day(r.abatementDateTime or (r.abatementPeriod.start if r.abatementPeriod else None),
                        where, "abatement")
    if r.abatementAge is not None:
        abatement = age_day(ctx, r.abatementAge, where, "abatementAge", last=True)
    for other in ("abatementRange", "abatementString"):
        if getattr(r, other, None) is not None:
            ctx.note(where, f"{other} is not a date: kept without an abatement date")
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
        onset=onset, abatement=abatement, status=status,
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


def age_day(ctx: MappingContext, age: Any, where: str, field: str, last: bool) -> dt.date | None:
    """The day an age (onsetAge, abatementAge) falls on: the first day of that year of age, or the last."""
    per_year = ctx.m["condition"]["age_units"].get(age.code or age.unit or "")
    if age.value is None or per_year is None or ctx.birth is None:
        why = "no birth date to convert it with" if ctx.birth is None else f"unit {age.code or age.unit!r}"
        ctx.note(where, f"{field} {num(age.value) if age.value is not None else '?'}: {why}: kept without "
                        f"{'an abatement' if last else 'an onset'} date")
        return None
    from dateutil.relativedelta import relativedelta

    months = int(Decimal(age.value) * 12 / per_year)  # whole months of age
    start = ctx.birth + relativedelta(months=months)
    return start + relativedelta(months=12 // per_year) - dt.timedelta(days=1) if last else start
