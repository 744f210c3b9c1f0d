"""Patient: the id, birth date, sex (gender, else the US Core sex extensions) and death of
the bundle's one Patient resource; it also fixes whose records the other resources must be."""

from __future__ import annotations

from typing import Any

from ....errors import PatientError, Problem
from ..references import resolve_reference
from .context import SUBJECT_FIELD, MappingContext


def read_patient(ctx: MappingContext) -> dict:
    """The profile's own fields (id, birth_date, sex, deceased, deceased_date) from the bundle's Patient.

    Raises PatientError when the bundle holds no Patient or more than one.
    """
    b = ctx.bundle
    patients = [e for e in b.entries if e.type == "Patient"]
    if len(patients) > 1:
        refs = ", ".join(e.ref for e in patients)
        raise PatientError(Problem(f"the bundle holds {len(patients)} Patient resources ({refs}): "
                                   "a screen is about one patient", ctx.file))
    if not patients:
        raise PatientError(Problem("the bundle holds no Patient resource: a screen is about one patient, "
                                   "and whose records these are cannot be told", ctx.file))
    e = ctx.patient_entry = patients[0]
    p = e.resource
    pid = p.id or subject_id(ctx) or b.id or "unknown"
    if p.id:
        ctx.patient_ids.append(resolve_reference(f"Patient/{p.id}", e.full_url))
        ctx.patient_label = f"Patient/{p.id}"
    if e.full_url:
        ctx.patient_ids.append(resolve_reference(e.full_url))
        ctx.patient_label = ctx.patient_label or e.full_url
    ctx.birth = birth = ctx.day(p.birthDate, e.ref, "birthDate")
    sex = p.gender if p.gender in ("female", "male", "other", "unknown") else None
    if p.gender is None:
        sex = sex_from_extensions(ctx, p, e.ref)
    deceased = bool(p.deceasedBoolean) or p.deceasedDateTime is not None
    deceased_date = ctx.day(p.deceasedDateTime, e.ref, "deceasedDateTime") if p.deceasedDateTime else None
    return {"id": pid, "birth_date": birth, "sex": sex, "deceased": deceased, "deceased_date": deceased_date}


def sex_from_extensions(ctx: MappingContext, p: Any, where: str) -> str | None:
    """Sex from the US Core individual-sex or birth-sex extension (in the table's order), when gender is absent."""
    by_url = {x.url: x for x in p.extension or ()}
    for spec in ctx.m["patient"]["sex_extensions"]:
        x = by_url.get(spec["url"])
        if x is None:
            continue
        keys = []
        if x.valueCoding is not None:
            prefix = ctx.t.prefix_of.get(x.valueCoding.system or "")
            keys = [f"{prefix}:{x.valueCoding.code}" if prefix else None, x.valueCoding.code]
        elif x.valueCode is not None:
            keys = [x.valueCode]
        sex = next((spec["values"][k] for k in keys if k in spec["values"]), None)
        if sex is not None:
            return sex
        ctx.note(where, f"extension {spec['url'].rsplit('/', 1)[-1]}: value {keys[-1] if keys else None!r} "
                        "is not in the mapping table: sex not taken from it")
    return None


def subject_id(ctx: MappingContext) -> str | None:
    """The patient id the other resources' subjects name, for a Patient resource without an id."""
    for e in ctx.bundle.entries:
        ref = getattr(e.resource, SUBJECT_FIELD.get(e.type, "subject"), None) if e.resource is not None else None
        target = getattr(ref, "reference", None) if ref is not None else None
        if target and "Patient/" in target:
            subject = resolve_reference(target, e.full_url)
            ctx.patient_ids.append(subject)
            ctx.patient_label = target
            return subject.id
    return None
