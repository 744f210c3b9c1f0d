"""FamilyMemberHistory: one record per condition of the relative, with the relationship, the relative's
age at onset (in years) and the date the history was recorded."""

from __future__ import annotations

from ....model.patient import FamilyHistory
from ..parse import Entry
from .context import MappingContext, Skip, num

RESOURCE_TYPES = ("FamilyMemberHistory",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    status = ctx.m["family_history"]["status"].get(r.status)
    if status is None:
        raise Skip(f"status {r.status}: not used")
    relationship = None
    if r.relationship is not None:
        relationship = r.relationship.text or next(
            (c.display or c.code for c in (r.relationship.coding or ()) if c.display or c.code), None)
    day = ctx.day(r.date, where, "date")
    if not r.condition:
        if status == "health-unknown":
            return  # nothing known of this relative: no record (and no evidence either way)
        raise Skip("no condition listed: nothing about the relative's health to screen with")
    per_year = ctx.m["condition"]["age_units"]
    for i, c in enumerate(r.condition):
        age = None
        if c.onsetAge is not None and c.onsetAge.value is not None:
            years = per_year.get(c.onsetAge.code or c.onsetAge.unit or "")
            if years is None:
                ctx.note(where, f"condition[{i}].onsetAge {num(c.onsetAge.value)}: unit "
                                f"{c.onsetAge.code or c.onsetAge.unit!r} is not read: kept without an age")
            else:
                age = float(c.onsetAge.value) / years
        try:
            ident = ctx.identity(c.code, where, f"condition[{i}].code")
        except Skip as why:
            ctx.note(where, str(why))
            continue
        ctx.lists["family_history"].append(FamilyHistory(relationship=relationship, date=day, onset_age=age,
                                                         status=status, **ident))
