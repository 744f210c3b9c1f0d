"""Code keys: how a 'system:code' is compared, and class prefixes of hierarchical systems.

Codes match exactly (trimmed, lower case; ICD-10's dot carries no meaning), except a class
prefix of a hierarchical system ('icd10:C50*', 'atc:L04A*'), which matches every code under it.
"""

from __future__ import annotations

import re

# Code systems whose codes are hierarchical by prefix (C50.911 is under C50, under C): only
# these may be matched by a class prefix such as 'icd10:C50*'. ICD-10 (and ICD-10-CM) codes
# are a letter, two characters of category, then an optional dot and up to four characters;
# the dot carries no meaning, so prefixes are compared without it. ATC prefixes must end on
# one of its levels: L (anatomical group), L04 (therapeutic), L04A (pharmacological), L04AA
# (chemical subgroup).
_ICD10 = (re.compile(r"[a-z](?:[0-9](?:[0-9a-z](?:\.?[0-9a-z]{0,4})?)?)?"),
          "a letter, then up to two category characters, a dot and four more (C*, C50*, C50.9*)")
# ICD-10 without saying the edition (icd10), ICD-10-CM (icd10cm) and WHO ICD-10 (icd10who): see terms.icd
ICD10_FAMILY = ("icd10", "icd10cm", "icd10who")
HIERARCHICAL = {
    "icd10": _ICD10, "icd10cm": _ICD10, "icd10who": _ICD10,
    "atc": (re.compile(r"[a-z](?:[0-9]{2}(?:[a-z][a-z]?)?)?"),
            "a whole ATC level: L*, L04*, L04A* or L04AA*"),
}


def prefix_key(code: str) -> str:
    """A code or class prefix ('icd10:C50.9') as compared for prefixes: lower case, no ICD-10 dot."""
    return code.replace(".", "") if code.split(":", 1)[0] in ICD10_FAMILY else code


def family_keys(key: str) -> tuple[str, ...]:
    """The keys a record's code is also found under: an ICD-10-CM or WHO ICD-10 code is an ICD-10
    code ('icd10cm:g35a' is found by a rule's 'icd10:G35.A' and 'icd10:G35*')."""
    system, _, rest = key.partition(":")
    return (f"icd10:{rest}",) if system in ("icd10cm", "icd10who") else ()


def code_key(code: str) -> str:
    """A code as matched: trimmed, lower case, and without the ICD-10 dot (C80.1 and C801 are one code)."""
    return prefix_key(code.strip().lower())


def class_prefix_problem(code: str) -> str | None:
    """Why a 'system:prefix*' class pattern is not usable, or None if it is."""
    system, _, rest = code.strip().lower().partition(":")
    body = rest[:-1]
    if "*" in body:
        return f"code {code!r}: '*' may appear only once, at the end (a class prefix such as icd10:C50*)"
    if system not in HIERARCHICAL:
        return (f"code {code!r}: a class prefix ('*') needs a hierarchical code system ("
                + ", ".join(sorted(HIERARCHICAL)) + f"); {system or 'no system'} codes match exactly")
    pattern, shape = HIERARCHICAL[system]
    if not body:
        return f"code {code!r} would match every {system} code: give a class ({shape})"
    if not pattern.fullmatch(body):
        return f"code {code!r} is not a class prefix of {system}: expected {shape}"
    return None
