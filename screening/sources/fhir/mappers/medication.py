"""MedicationStatement, MedicationRequest, MedicationAdministration: an exposure (or an order
not to give, withdrawn before any dose, only intended) with its drug, read from the concept
or the referenced Medication and its ingredients, and its days."""

from __future__ import annotations

from typing import Any

from ....model.patient import Medication
from ..parse import Entry
from .context import MEDICATION_TYPES, MappingContext, Skip

RESOURCE_TYPES = MEDICATION_TYPES


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where, kind = e.resource, e.ref, e.type
    table = ctx.m["medication"]
    status = table[kind].get(r.status)
    if status is None:
        if kind == "MedicationRequest" and r.status == "cancelled":
            raise Skip("status cancelled: withdrawn before any administration, not an exposure")
        raise Skip(f"status {r.status}: not an exposure screening can use")
    if kind == "MedicationRequest":
        if r.doNotPerform:
            raise Skip("doNotPerform: an order not to give the drug")
        if r.intent in table["planned_intents"] and status != "not-taken":
            status = "intended"
    codes, name = drug(ctx, r, where)
    start = stop = None
    earliest = False
    if kind == "MedicationRequest":
        bounds = [d.timing.repeat.boundsPeriod for d in r.dosageInstruction or ()
                  if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod]
        if bounds:
            start = ctx.day(bounds[0].start, where, "boundsPeriod.start")
            stop = ctx.day(bounds[0].end, where, "boundsPeriod.end")
        elif r.authoredOn is not None:  # ordered then: it started that day or later, if at all
            start = ctx.day(r.authoredOn, where, "authoredOn")
            earliest = start is not None
    else:
        if r.effectivePeriod is not None:
            start = ctx.day(r.effectivePeriod.start, where, "effectivePeriod.start")
            stop = ctx.day(r.effectivePeriod.end, where, "effectivePeriod.end")
        elif r.effectiveDateTime is not None:
            start = ctx.day(r.effectiveDateTime, where, "effectiveDateTime")
            if kind == "MedicationAdministration":
                stop = start  # one administration
    ctx.lists["medications"].append(Medication(code=codes[0] if codes else None, codes=codes[1:], name=name,
                                               source=where, start=start, stop=stop, status=status,
                                               start_is_earliest=earliest))


def drug(ctx: MappingContext, r: Any, where: str) -> tuple[list[str], str | None]:
    """Codes and name of the drug: medicationCodeableConcept, or the referenced Medication with its ingredients."""
    if r.medicationCodeableConcept is not None:
        return ctx.concept(r.medicationCodeableConcept, where, "medicationCodeableConcept")
    ref = r.medicationReference.reference if r.medicationReference is not None else None
    med = None
    if ref and ref.startswith("#"):
        med = next((c for c in r.contained or () if getattr(c, "id", None) == ref[1:]), None)
    elif ref:
        target = ctx.by_ref.get(ref)
        if target is not None and target.type == "Medication":
            ctx.used.add(target.index)
            med = target.resource
    if med is None:
        raise Skip(f"medicationReference {ref!r} is not a Medication in the bundle")
    mwhere = f"Medication/{med.id}" if med.id else where
    codes, name = [], None
    if med.code is not None:
        try:
            codes, name = ctx.concept(med.code, mwhere, "code")
        except Skip:
            pass
    for k, ing in enumerate(med.ingredient or ()):
        if ing.itemCodeableConcept is not None:
            try:
                more, ing_name = ctx.concept(ing.itemCodeableConcept, mwhere, f"ingredient[{k}]")
            except Skip:
                continue
            codes += [c for c in more if c not in codes]
            name = name or ing_name
    if not codes and not name:
        raise Skip(f"the medication {ref} has no code from a known code system and no name")
    return codes, name
