"""AllergyIntolerance: the substance (its code), clinical and verification status, type, category, criticality,
onset (else the recorded date) and the reactions' manifestations."""

from __future__ import annotations

from ....model.patient import Allergy
from ..parse import Entry
from .context import MappingContext, Skip, status_code

RESOURCE_TYPES = ("AllergyIntolerance",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    table = ctx.m["allergy"]
    ver = status_code(r.verificationStatus)
    if ver == "entered-in-error":
        ctx.note(where, "verificationStatus entered-in-error: not used")
        return
    verification = table["verification_status"].get(ver) if ver else None
    if ver and verification is None:
        raise Skip(f"verificationStatus {ver} is not in the mapping table")
    clin = status_code(r.clinicalStatus)
    status = "refuted" if verification == "refuted" else (table["clinical_status"].get(clin) if clin else "unknown")
    if status is None:
        raise Skip(f"clinicalStatus {clin} is not in the mapping table")
    onset = ctx.day(r.onsetDateTime or (r.onsetPeriod.start if r.onsetPeriod else None), where, "onset")
    if onset is None and r.recordedDate is not None:
        onset = ctx.day(r.recordedDate, where, "recordedDate")
    for other in ("onsetAge", "onsetRange", "onsetString"):
        if getattr(r, other, None) is not None:
            ctx.note(where, f"{other} is not read: kept with " + ("its recorded date" if onset else "no date"))
    reactions = []
    for reaction in r.reaction or ():
        for m in reaction.manifestation or ():
            text = m.text or next((c.display for c in (m.coding or ()) if c.display), None)
            if text:
                reactions.append(text)
    ctx.lists["allergies"].append(Allergy(
        onset=onset, status=status, verification=verification if verification in ("unconfirmed", "presumed") else None,
        type=r.type if r.type in ("allergy", "intolerance") else None,
        category=list(dict.fromkeys(c for c in r.category or () if c in ("food", "medication", "environment",
                                                                          "biologic"))),
        criticality=r.criticality if r.criticality in ("low", "high", "unable-to-assess") else None,
        reactions=list(dict.fromkeys(reactions)), **ctx.identity(r.code, where, "code (substance)")))
