"""Procedure: what was done, its status and its days."""

from __future__ import annotations

from ....model.patient import Procedure
from ..parse import Entry
from .context import MappingContext, Skip

RESOURCE_TYPES = ("Procedure",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    status = ctx.m["procedure"]["status"].get(r.status)
    if status is None:
        raise Skip(f"status {r.status}: not used")
    start = end = None
    if r.performedPeriod is not None:
        start = ctx.day(r.performedPeriod.start, where, "performedPeriod.start")
        end = ctx.day(r.performedPeriod.end, where, "performedPeriod.end")
    elif r.performedDateTime is not None:
        start = ctx.day(r.performedDateTime, where, "performedDateTime")
    for other in ("performedString", "performedAge", "performedRange"):
        if getattr(r, other, None) is not None:
            ctx.note(where, f"{other} is not a date: kept without a date")
    ctx.lists["procedures"].append(Procedure(date=start, end=end, status=status, **ctx.identity(r.code, where)))
