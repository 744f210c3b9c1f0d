"""FHIR R4 resources -> the native patient profile.

Only what a resource states is carried over: a status, date or value the tables in
``data/fhir-mapping.yaml`` do not cover is not guessed. Whatever cannot be used (a resource
type screening has no use for, an observation without a usable value, a coding from a code
system not in ``data/fhir-systems.yaml``, a partial date) is listed in ``Patient.unmapped``
with the reason, and every record's ``source`` cites its resource ('Observation/abc').

This module is the bundle loop: the Patient first, then each entry dispatched by its
resourceType to its mapper in ``mappers/`` (one module per resource type).
"""

from __future__ import annotations

from pydantic import ValidationError

from ...errors import PatientError, Problem
from ...model.patient import Patient
from ..location import error_message
from .mappers import MAPPERS
from .mappers.context import UCUM, MappingContext, Skip
from .mappers.patient import read_patient
from .parse import ParsedBundle

__all__ = ["UCUM", "map_bundle"]


def map_bundle(bundle: ParsedBundle, file: str | None = None) -> Patient:
    """The native profile a parsed bundle maps to (records cite their resources; the rest is in ``unmapped``)."""
    ctx = MappingContext(bundle, file)
    b = bundle
    head = read_patient(ctx)
    if b.has_next_page:
        ctx.note(f"Bundle/{b.id}" if b.id else "Bundle", "one page of a search: the next page (link 'next') "
                 "is not in the file, so its records are not seen")
    seen: dict[str, int] = {}
    for e in b.entries:
        if e.invalid is not None:
            ctx.drop(e, f"not a valid FHIR R4 {e.type}: {e.invalid}: not used (screened without it; "
                        "--strict refuses the bundle)")
            continue
        if e.resource is None:
            ctx.note(e.ref, "entry without a resource")
            continue
        if e.type == "Patient":
            continue
        if getattr(e.resource, "id", None):
            if e.ref in seen:  # the same resource twice (merged exports, _include): counted once
                ctx.note(f"{e.ref} (Bundle.entry[{e.index}])",
                         f"the same resource as Bundle.entry[{seen[e.ref]}]: counted once")
                continue
            seen[e.ref] = e.index
        if e.type == "OperationOutcome":
            issues = "; ".join(f"{i.severity}: {i.diagnostics or (i.details.text if i.details else '') or i.code}"
                               for i in (e.resource.issue or ()))
            ctx.note(e.ref, f"OperationOutcome from the server: {issues}")
            continue
        handler = MAPPERS.get(e.type)
        if handler is None:
            if e.type not in ("Medication", "ResearchStudy"):  # reported at the end unless referenced
                ctx.note(e.ref, f"{e.type} resources are not used for screening")
            continue
        status = getattr(e.resource, "status", None)
        if status == "entered-in-error":
            ctx.note(e.ref, "status entered-in-error: not used")
            continue
        if not ctx.about_patient(e):
            continue
        try:
            handler(ctx, e)
        except Skip as why:
            ctx.drop(e, str(why))
        except ValidationError as err:  # a value the native profile refuses (a 5,000-character name...)
            first = err.errors()[0]
            ctx.note(e.ref, f"{'.'.join(str(p) for p in first['loc']) or 'record'}: {error_message(first)}: not used")
    for e in b.entries:
        if e.type == "Medication" and e.index not in ctx.used:
            ctx.note(e.ref, "Medication not referenced by any medication record of the bundle")
        elif e.type == "ResearchStudy" and e.index not in ctx.used:
            ctx.note(e.ref, "ResearchStudy not named by any Consent of the bundle")
    try:
        return Patient(**head, unmapped=ctx.unmapped, **ctx.lists)
    except ValidationError as err:  # the patient's own fields (an id from a subject reference) refused
        first = err.errors()[0]
        raise PatientError(Problem(f"Patient: {'.'.join(str(p) for p in first['loc'])}: {error_message(first)}",
                                   file)) from None
