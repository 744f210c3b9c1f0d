"""MedicationStatement, MedicationRequest, MedicationAdministration: an exposure (or an order
not to give, withdrawn before any dose, only intended) with its drug, read from the concept
or the referenced Medication and its ingredients, its days, and its dosage (route, dose with
its unit, doses a day from the timing) and why it was stopped (statusReason)."""

from __future__ import annotations

from typing import Any

from ....model.patient import Medication
from ..parse import Entry
from .context import MEDICATION_TYPES, UCUM, MappingContext, Skip, num

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
                                               start_is_earliest=earliest, **dosage(ctx, r, kind, where),
                                               stop_reason=stop_reason(r)))


# timing.repeat.periodUnit (UCUM) in days
_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.4375, "a": 365.25}
# timing.code (HL7 v3 GTSAbbreviation) in doses a day
_TIMING_CODES = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "Q4H": 6.0, "Q6H": 4.0, "Q8H": 3.0, "Q12H": 2.0,
                 "QOD": 0.5, "WK": 1 / 7, "AM": 1.0, "PM": 1.0, "QHS": 1.0}


def _text(cc: Any) -> str | None:
    """What a CodeableConcept says in words: its text, else a coding's display, else a coding's code."""
    if cc is None:
        return None
    if cc.text:
        return cc.text
    for c in cc.coding or ():
        if c.display:
            return c.display
    return next((f"{c.code}" for c in cc.coding or () if c.code), None)


def _route(ctx: MappingContext, cc: Any) -> str | None:
    """The route in words (text, else a coding's display), else its code as 'snomed:47625008' (the
    route vocabulary knows the common SNOMED CT route codes)."""
    if cc is None:
        return None
    if cc.text or any(c.display for c in cc.coding or ()):
        return _text(cc)[:200]
    for c in cc.coding or ():
        prefix = ctx.t.prefix_of.get(c.system or "")
        if prefix and c.code:
            return f"{prefix}:{c.code}"[:200]
    return None


def _quantity(q: Any) -> tuple[float | int, str] | None:
    if q is None or q.value is None:
        return None
    unit = q.code if (q.system == UCUM and q.code) else (q.unit or q.code)
    return (num(q.value), unit) if unit else None


def dosage(ctx: MappingContext, r: Any, kind: str, where: str) -> dict:
    """Route, dose and doses a day of the first dosage (MedicationRequest.dosageInstruction,
    MedicationStatement.dosage, MedicationAdministration.dosage); a dose range or a rate is
    noted and not read (the dose is then unknown, never guessed)."""
    if kind == "MedicationAdministration":
        d = r.dosage
        if d is None:
            return {}
        out: dict = {}
        route = _route(ctx, d.route)
        if route:
            out["route"] = route
        q = _quantity(d.dose)
        if q:
            out["dose"], out["dose_unit"] = q
        elif d.rateQuantity is not None or d.rateRatio is not None:
            ctx.note(where, "dosage.rate without a dose: the dose is not read")
        return out
    doses = (r.dosageInstruction if kind == "MedicationRequest" else r.dosage) or ()
    if not doses:
        return {}
    d = doses[0]
    if len(doses) > 1:
        ctx.note(where, f"{len(doses)} dosages (a tapering or split regimen): only the first is read")
    out = {}
    route = _route(ctx, d.route)
    if route:
        out["route"] = route
    for dr in d.doseAndRate or ():
        q = _quantity(dr.doseQuantity)
        if q:
            out["dose"], out["dose_unit"] = q
            break
        if dr.doseRange is not None:
            ctx.note(where, "dosage doseRange: a range of doses is not read as a dose")
    timing = d.timing
    if timing is not None:
        rep = timing.repeat
        if rep is not None and rep.frequency is not None and rep.period is not None and rep.periodUnit in _PERIOD_DAYS \
                and rep.period > 0 and rep.frequencyMax is None and rep.periodMax is None:
            out["doses_per_day"] = float(rep.frequency) / (float(rep.period) * _PERIOD_DAYS[rep.periodUnit])
        elif timing.code is not None:
            codes = [c.code for c in timing.code.coding or () if c.code in _TIMING_CODES]
            if codes:
                out["doses_per_day"] = _TIMING_CODES[codes[0]]
    return out


def stop_reason(r: Any) -> str | None:
    """Why the drug was stopped or not given: statusReason (a list on MedicationStatement and
    MedicationAdministration, one concept on MedicationRequest), in words."""
    reason = r.statusReason
    if isinstance(reason, list):
        texts = [t for t in (_text(c) for c in reason) if t]
        return "; ".join(texts)[:2000] if texts else None
    return (_text(reason) or None) if reason is not None else None


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
