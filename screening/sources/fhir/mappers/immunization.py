"""Immunization: the vaccine, its status and its day."""

from __future__ import annotations

from ....model.patient import Immunization
from ..parse import Entry
from .context import MappingContext, Skip

RESOURCE_TYPES = ("Immunization",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    status = ctx.m["immunization"]["status"].get(r.status)
    if status is None:
        raise Skip(f"status {r.status}: not used")
    day = ctx.day(r.occurrenceDateTime, where, "occurrenceDateTime")
    if r.occurrenceString is not None:
        ctx.note(where, f"occurrenceString {r.occurrenceString!r} is not a date: kept without a date")
    ctx.lists["immunizations"].append(Immunization(date=day, status=status,
                                                   **ctx.identity(r.vaccineCode, where, "vaccineCode")))
