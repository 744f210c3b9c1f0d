"""Consent: research consent given or refused, and for each study it names (by the ResearchStudy
it references, or by a registry id in its policy) the generic facts consent-given/<study id> and
consent-refused/<study id>, which a trial's rule file reads (``confirmed_by``)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ....model.patient import Fact
from ..parse import Entry
from .context import MappingContext, Skip

RESOURCE_TYPES = ("Consent",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    spec = ctx.m["consent"]
    scopes = [c.code for c in (r.scope.coding or ()) if c.system == spec["scope_system"]] if r.scope else []
    if not any(s in spec["scopes"] for s in scopes):
        raise Skip(f"a consent of scope {', '.join(scopes) or '(none)'}: only research consent is used")
    value = spec["values"].get(r.status)
    if value is None:
        raise Skip(f"status {r.status}: consent neither given nor refused")
    if value and r.provision is not None and r.provision.type == "deny":
        value = False
    codes = list(spec["codes"])
    day = ctx.day(r.dateTime, where, "dateTime")
    ctx.lists["facts"].append(Fact(code=codes[0], codes=codes[1:], name=spec["name"], value=bool(value),
                                   date=day, source=where))
    refused = r.status == "rejected" or (r.status == "active" and value is False)
    given_code, refused_code = spec["study_facts"]["given"], spec["study_facts"]["refused"]
    for study in studies(ctx, r, where):
        ctx.lists["facts"].append(Fact(code=f"{given_code}/{study}", name=f"{spec['name']} ({study})",
                                       value=bool(value), date=day, source=where))
        if r.status in ("active", "rejected"):  # withdrawn (inactive) is not a refusal to give it
            ctx.lists["facts"].append(Fact(code=f"{refused_code}/{study}", name=f"refusal of consent ({study})",
                                           value=refused, date=day, source=where))


def studies(ctx: MappingContext, r: Any, where: str) -> list[str]:
    """Ids of the studies a Consent names: every identifier and the id of the ResearchStudy it
    references, and the trial registry ids its policy holds."""
    spec = ctx.m["consent"]
    out: list[str] = []
    for ext in r.extension or ():
        if ext.url != spec["study_extension"] or ext.valueReference is None:
            continue
        ref = ext.valueReference
        target = ctx.by_ref.get(ref.reference) if ref.reference else None
        if target is not None and target.type == "ResearchStudy":
            ctx.used.add(target.index)
            study = target.resource
            out += [i.value for i in study.identifier or () if i.value] + ([study.id] if study.id else [])
        elif ref.identifier is not None and ref.identifier.value:
            out.append(ref.identifier.value)
        else:
            ctx.note(where, f"research study {ref.reference or ref.display!r} is not in the bundle")
    # a policy naming the trial: its URI or authority ('https://clinicaltrials.gov/study/NCT04348461'),
    # or the policy rule's text or code
    said = [x for pol in r.policy or () for x in (pol.uri, pol.authority) if x]
    if r.policyRule is not None:
        said += [r.policyRule.text or ""] + [c.code or "" for c in r.policyRule.coding or ()]
    pattern = _registry_ids(tuple(spec["registry_ids"]))
    out += [m.group(0) for x in said for m in pattern.finditer(x)]
    return list(dict.fromkeys(out))


@lru_cache(maxsize=4)
def _registry_ids(shapes: tuple[str, ...]) -> re.Pattern:
    """One pattern for the registry id shapes of the table, each standing alone (not inside a longer id)."""
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(shapes) + r")(?![A-Za-z0-9])")
