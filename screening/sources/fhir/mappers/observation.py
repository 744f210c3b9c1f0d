"""Observation: a value (quantity with its unit, bound, text, yes/no, coded word, titer) per
code and per component, with its reference range; yes/no observations and those listed in
``fact_observations`` are facts too."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ....model.patient import Fact, Observation, ReferenceRange
from ..parse import Entry
from .context import UCUM, MappingContext, Skip, num, status_code

RESOURCE_TYPES = ("Observation",)


def map_resource(ctx: MappingContext, e: Entry) -> None:
    r, where = e.resource, e.ref
    status = ctx.m["observation"]["status"].get(r.status)
    if status is None:
        raise Skip(f"status {r.status}: not a result to use")
    when = r.effectiveDateTime or (r.effectivePeriod.start if r.effectivePeriod else None) or r.effectiveInstant
    field = "effectiveDateTime" if r.effectiveDateTime else "effectivePeriod.start" if r.effectivePeriod else "effectiveInstant"
    if when is None and r.issued is not None:  # no time of the sample: the report's date is the nearest known
        when, field = r.issued, "issued"
    day = ctx.day(when, where, field)
    if day is None:
        if when is None:
            raise Skip("no date (effectiveDateTime, effectivePeriod.start, effectiveInstant or issued)")
        return  # a partial date: noted by day()
    genes = genes_studied(ctx, r)
    significance = component_texts(ctx, r, "significance_components")
    parts = [("code", r.code, r)] + [(f"component[{k}]", c.code, c) for k, c in enumerate(r.component or ())]
    for label, cc, holder in parts:
        try:
            value, unit = read_value(ctx, holder, where)
        except Skip as why:
            if label == "code" and r.component:
                continue  # a panel: its components carry the values
            ctx.note(where, (f"{label}: " if label != "code" else "") + str(why))
            continue
        ident = ctx.identity(cc, where, label)
        if genes and label == "code":  # a variant or mutation result: about the gene studied
            ident["codes"] = ident["codes"] + [f"gene:{g}" for g in genes]
            ident["name"] = f"{ident['name'] or ident['code']} ({', '.join(genes)})"
        if significance and label == "code":  # 'Present' of a variant of uncertain significance is no mutation
            ident["name"] = f"{ident['name'] or ident['code']} (clinical significance: {'; '.join(significance)})"
        ranges = getattr(holder, "referenceRange", None) or ()
        ctx.lists["observations"].append(Observation(value=value, unit=unit, date=day, status=status,
                                                     reference_range=reference_range(ctx, ranges, where),
                                                     **ident))
        if not (label == "code" and fact_from_observation(ctx, holder, ident, day, where)) \
                and isinstance(value, bool):  # a yes/no observation is a fact too
            ctx.lists["facts"].append(Fact(value=value, date=day, **ident))


def genes_studied(ctx: MappingContext, r: Any) -> list[str]:
    """The HGNC symbols of the genes a genomics result is about (its gene-studied components)."""
    return list(dict.fromkeys(text.split()[0] for text in component_texts(ctx, r, "gene_components")))


def component_texts(ctx: MappingContext, r: Any, key: str) -> list[str]:
    """The texts of the coded values of a result's components whose code is listed under ``key`` of the
    observation mapping (a variant's clinical significance, LOINC 53037-8: 'Uncertain significance')."""
    wanted = set(ctx.m["observation"].get(key, ()))
    out = []
    for c in r.component or ():
        codes = {f"{ctx.t.prefix_of.get(x.system or '', '')}:{x.code}" for x in (c.code.coding or ())} if c.code else set()
        if not codes & wanted or c.valueCodeableConcept is None:
            continue
        v = c.valueCodeableConcept
        text = v.text or next((x.display for x in (v.coding or ()) if x.display), None)
        if text:
            out.append(text.strip())
    return list(dict.fromkeys(out))


def reference_range(ctx: MappingContext, ranges: Any, where: str) -> ReferenceRange | None:
    """The first reference range with a numeric low or high (its unit: the quantity's code, else unit)."""
    for k, rr in enumerate(ranges):
        low, high = rr.low, rr.high
        if (low is None or low.value is None) and (high is None or high.value is None):
            continue
        units = {q.code or q.unit for q in (low, high) if q is not None and q.value is not None}
        if len(units) > 1:
            ctx.note(where, f"referenceRange[{k}]: low and high in different units {sorted(map(str, units))}")
            return None
        return ReferenceRange(low=num(low.value) if low is not None and low.value is not None else None,
                              high=num(high.value) if high is not None and high.value is not None else None,
                              unit=next(iter(units)), text=rr.text)
    return None


def read_value(ctx: MappingContext, o: Any, where: str) -> tuple[Any, str | None]:
    """(value, unit) of an Observation or component; Skip when there is no usable value."""
    q = o.valueQuantity
    if q is not None:
        if q.value is None:
            raise Skip("valueQuantity without a value")
        unit = q.code if (q.system == UCUM and q.code) else (q.unit or q.code)
        if unit and unit.startswith("{") and unit.endswith("}") and "}" not in unit[:-1]:
            unit = "1"  # in UCUM a bare annotation ({score}, {titer}) is the unit one
        number = num(q.value)
        if q.comparator:
            return f"{q.comparator}{number}", unit  # a bound: decides only where the whole interval agrees
        return number, unit
    if o.valueString is not None:
        return o.valueString, None
    if o.valueBoolean is not None:
        return bool(o.valueBoolean), None
    if o.valueInteger is not None:
        return int(o.valueInteger), None
    if o.valueCodeableConcept is not None:
        cc = o.valueCodeableConcept
        words = ctx.m["observation"]["coded_values"]
        for c in cc.coding or ():
            prefix = ctx.t.prefix_of.get(c.system or "")
            if prefix and f"{prefix}:{c.code}" in words:
                return words[f"{prefix}:{c.code}"], None
        text = cc.text or next((c.display for c in cc.coding or () if c.display), None) \
            or next((c.code for c in cc.coding or () if c.code), None)
        if text is None:
            raise Skip("valueCodeableConcept with no text, display or code")
        return text, None
    if o.valueRatio is not None:
        n, d = o.valueRatio.numerator, o.valueRatio.denominator
        if n is not None and d is not None and n.value == 1 and d.value is not None and d.value > 0:
            return f"1:{num(d.value)}", None  # a titer
        raise Skip("valueRatio that is not a titer (1:n)")
    for other in ("valueRange", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"):
        if getattr(o, other, None) is not None:
            raise Skip(f"{other} values are not supported")
    reason = o.dataAbsentReason
    if reason is not None:
        raise Skip(f"no value (dataAbsentReason: {reason.text or status_code(reason)})")
    raise Skip("no value")


def fact_from_observation(ctx: MappingContext, o: Any, ident: dict, day: dt.date, where: str) -> bool:
    """Record the fact of an observation listed in fact_observations; False when it is not listed."""
    table = ctx.m.get("fact_observations", {})
    codes = [ident["code"], *ident["codes"]]
    spec = next((table[c] for c in codes if c in table), None)
    if spec is None:
        return False
    value = None
    if o.valueBoolean is not None:
        value = bool(o.valueBoolean)
    elif o.valueCodeableConcept is not None:
        for c in o.valueCodeableConcept.coding or ():
            key = f"{ctx.t.prefix_of.get(c.system or '', '?')}:{c.code}"
            if key in spec["values"]:
                value = spec["values"][key]
                break
    if value is None:
        ctx.note(where, f"{spec['name']}: the value is not a yes/no answer listed in the mapping table: "
                        "no fact recorded")
        return True
    fcodes = list(spec["codes"])
    ctx.lists["facts"].append(Fact(code=fcodes[0], codes=fcodes[1:], name=spec["name"], value=bool(value),
                                   date=day, source=where))
    return True
