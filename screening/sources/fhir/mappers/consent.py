"""Consent: research consent given or refused, and the trials it names (by the ResearchStudy
it references or by its policy)."""

from __future__ import annotations

import re
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
    for trial in studies(ctx, r, where):
        answers = spec.get("trials", {}).get(trial)
        if answers is None:
            ctx.note(where, f"consent for study {trial}: no confirmation criteria of that trial are listed "
                            "in the mapping table (kept as research consent only)")
            continue
        for cid in answers.get("given", ()):
            ctx.lists["facts"].append(Fact(code=f"{trial}/{cid}", name=f"{spec['name']} ({trial})",
                                           value=bool(value), date=day, source=where))
        if r.status in ("active", "rejected"):  # withdrawn (inactive) is not a refusal to give it
            for cid in answers.get("refused", ()):
                ctx.lists["facts"].append(Fact(code=f"{trial}/{cid}", name=f"refusal of consent ({trial})",
                                               value=refused, date=day, source=where))


def studies(ctx: MappingContext, r: Any, where: str) -> list[str]:
    """Ids a Consent gives for its trial: identifiers and id of the ResearchStudy it names."""
    out: list[str] = []
    for ext in r.extension or ():
        if ext.url != ctx.m["consent"]["study_extension"] or ext.valueReference is None:
            continue
        ref = ext.valueReference
        target = ctx.by_ref.get(ref.reference) if ref.reference else None
        if target is not None and target.type == "ResearchStudy":
            ctx.used.add(target.index)
            study = target.resource
            ids = [i.value for i in study.identifier or () if i.value] + ([study.id] if study.id else [])
        elif ref.identifier is not None and ref.identifier.value:
            ids = [ref.identifier.value]
        else:
            ctx.note(where, f"research study {ref.reference or ref.display!r} is not in the bundle")
            continue
        known = [i for i in ids if i in ctx.m["consent"].get("trials", {})]
        out += known or ids[:1]
    # a policy naming the trial: its URI or authority ('https://clinicaltrials.gov/study/NCT04348461'),
    # or the policy rule's text or code
    said = [x for pol in r.policy or () for x in (pol.uri, pol.authority) if x]
    if r.policyRule is not None:
        said += [r.policyRule.text or ""] + [c.code or "" for c in r.policyRule.coding or ()]
    for trial in ctx.m["consent"].get("trials", {}):
        if any(re.search(rf"(?<![A-Za-z0-9]){re.escape(trial)}(?![A-Za-z0-9])", x) for x in said):
            out.append(trial)
    return list(dict.fromkeys(out))
