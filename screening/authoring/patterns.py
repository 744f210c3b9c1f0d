"""Proposed rules for bullets that match a well-known pattern (for the author to accept).

A proposal is never applied: ``screening new`` writes it as a YAML comment under the
draft criterion. Patterns: an age range or bound; a lab or vital sign from
``data/patterns.yaml`` compared with a number and an optional unit; a performance status
(ECOG, Karnofsky) with grades; pregnancy, breastfeeding and a pregnancy test; a washout
("within 3 months", "in the past 30 days") with the record function its words suggest.
Bullets are read with markdown escapes removed (``\\>= 18`` reads as ``>= 18``); the
text written into the rule file stays verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~=])")
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_OPS = [  # longest first: words and symbols for comparison operators
    (r">=|=>|≥|⩾|at least|no less than|not less than|minimum of|greater than or equal to|equal to or greater than", ">="),
    (r"<=|=<|≤|⩽|at most|no more than|not more than|up to|maximum of|less than or equal to|equal to or less than", "<="),
    (r">|greater than|more than|higher than|above|over|exceeding", ">"),
    (r"<|less than|lower than|below|under", "<"),
]
_OP_RE = "|".join(f"(?:{p})" for p, _ in _OPS)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30}
_PERIOD = {"day": "D", "week": "W", "month": "M", "year": "Y"}


@dataclass(frozen=True)
class Proposal:
    """A rule (and the data items it reads) proposed for a bullet, with what it was read from."""

    pattern: str  # age | lab | scale | fact | pregnancy-test | washout
    rule: str
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    applies_if: str | None = None
    note: str | None = None


def unescape(text: str) -> str:
    """The bullet with markdown backslash escapes removed (for reading, never for writing)."""
    return _ESCAPE.sub(r"\1", text)


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """The proposals' vocabulary (data/patterns.yaml)."""
    text = resources.files("screening.authoring").joinpath("data/patterns.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _op(word: str) -> str:
    w = word.lower().strip()
    for pattern, op in _OPS:
        if re.fullmatch(pattern, w):
            return op
    raise ValueError(word)


def _num(text: str) -> str:
    value = float(text.replace(",", "."))
    return str(int(value)) if value.is_integer() else repr(value)


def _words(names: list[str]) -> re.Pattern[str]:
    alts = sorted((re.escape(n) for n in names), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE)


def propose(text: str, kind: str) -> list[Proposal]:
    """Proposals for one bullet (``kind`` is inclusion or exclusion; the rule states the text itself)."""
    plain = unescape(text)
    found: list[Proposal] = []
    for finder in (_age, _scale, _labs, _pregnancy, _washout):
        found.extend(finder(plain))
    return found


def _age(text: str) -> list[Proposal]:
    if not re.search(r"\b(?:age|aged|years? old|years? of age|year-old|adults?)\b", text, re.IGNORECASE):
        return []
    m = re.search(rf"(?:age[d]?\s*(?:of|between|from)?\s*|between\s+)?{_NUMBER}\s*(?:years?\s*)?"
                  rf"(?:to|-|–|and|through)\s*{_NUMBER}\s*years?", text, re.IGNORECASE)
    if m:
        lo, hi = _num(m.group(1)), _num(m.group(2))
        return [Proposal("age", f"age >= {lo} and age <= {hi}",
                         note=f"'{m.group(0).strip()}' read as both ends inclusive (age in completed years)")]
    m = re.search(rf"\bage[d]?\s*(?:must be|is|of)?\s*({_OP_RE})\s*{_NUMBER}", text, re.IGNORECASE) or \
        re.search(rf"\b({_OP_RE})\s*(?:the\s+)?age\s+(?:of\s+)?{_NUMBER}", text, re.IGNORECASE)
    if m:
        return [Proposal("age", f"age {_op(m.group(1))} {_num(m.group(2))}")]
    m = re.search(rf"{_NUMBER}\s*years?(?:\s+of\s+age|\s+old)?\s+(?:or|and)\s+(older|above|over|younger|below|under)",
                  text, re.IGNORECASE)
    if m:
        op = ">=" if m.group(2).lower() in ("older", "above", "over") else "<="
        return [Proposal("age", f"age {op} {_num(m.group(1))}")]
    m = re.search(rf"\b({_OP_RE})\s*{_NUMBER}\s*years?(?:\s+of\s+age|\s+old)?", text, re.IGNORECASE)
    if m:
        return [Proposal("age", f"age {_op(m.group(1))} {_num(m.group(2))}")]
    return []


_UNIT_TOKEN = r"(?!(?:and|or|to|x|times|the|for|in|at|uln)\b)(x\s*10\^?\s*\d+\s*/\s*[a-zµμ]+|[%a-zA-Zµμ²/\^0-9.{}_\[\]]*[%a-zA-Zµμ²][%a-zA-Zµμ²/\^0-9.{}_\[\]]*)"


def _unit(written: str | None, default: str, molar_mass: str | None = None) -> tuple[str, str | None]:
    """The item unit for a written unit: as written when it converts to the default (through a molar mass)."""
    if not written:
        return default, None
    from ..values.units import conversion_factor
    from ..values.units import molar_mass as parse_molar_mass

    mm = parse_molar_mass(molar_mass) if molar_mass else None

    written = vocabulary().get("unit_spellings", {}).get(written, written)
    candidate = written.replace(" ", "").replace("²", "2").replace("μ", "u").replace("µ", "u")
    if re.fullmatch(r"x10\^?\d+/\w+", candidate, re.IGNORECASE):
        candidate = candidate[1:].replace("10", "10^", 1) if "^" not in candidate else candidate[1:]
    for spelling in (written, candidate):
        try:
            conversion_factor(spelling, default, None, mm)
            return spelling, None
        except Exception:  # noqa: BLE001 - any unreadable unit is reported below, never guessed
            continue
    return default, f"the unit written, {written!r}, was not read: thresholds assumed in {default}; check"


def _comparisons(tail: str) -> list[tuple[str, str, str | None, str]]:
    """(op, number, unit, joiner) for each 'op number [unit]' in the text after a name."""
    out = []
    pos = 0
    pattern = re.compile(rf"({_OP_RE})\s*{_NUMBER}\s*{_UNIT_TOKEN}?", re.IGNORECASE)
    while True:
        m = pattern.search(tail, pos)
        if not m:
            break
        between = tail[pos:m.start()]
        if out and not re.fullmatch(r"[\s,]*(?:and/or|and|or)?[\s,]*", between, re.IGNORECASE):
            break  # another clause ("..., systolic blood pressure <= 140"): not this item's
        if not out and (len(between) > 40 or re.search(r"\d", re.sub(r"\([^)]*\)", "", between))):
            break  # the number is too far from the name to be its threshold
        joiner = "or" if re.search(r"\bor\b", between, re.IGNORECASE) else "and"
        unit = m.group(3).rstrip(".,;:)") if m.group(3) else None
        out.append((_op(m.group(1)), _num(m.group(2)), unit or None, joiner))
        pos = m.end()
    return out


def _labs(text: str) -> list[Proposal]:
    found = []
    labs = vocabulary()["labs"]
    spans = {item: [(m.start(), m.end()) for m in _words(spec["names"]).finditer(text)] for item, spec in labs.items()}

    def inside_other(item: str, start: int, end: int) -> bool:
        return any(o != item and s <= start and end <= e and (e - s) > (end - start)
                   for o, ranges in spans.items() for s, e in ranges)

    for item, spec in labs.items():
        m = next((m for m in _words(spec["names"]).finditer(text) if not inside_other(item, m.start(), m.end())), None)
        if not m:
            continue
        tail = re.split(r"(?<=[.;])\s", text[m.end():], maxsplit=1)[0][:160]
        between = re.search(rf"(?:between|range(?:\s+of)?|from)\s+{_NUMBER}\s*"
                           rf"{_UNIT_TOKEN}?\s*(?:and|to|-|–)\s*{_NUMBER}\s*{_UNIT_TOKEN}?", tail[:80], re.IGNORECASE)
        if between:
            lo, hi = _num(between.group(1)), _num(between.group(3))
            unit, note = _unit((between.group(4) or between.group(2) or "").rstrip(".,;:)") or None, spec["unit"],
                               spec.get("molar_mass"))
            found.append(_lab_proposal(item, spec, unit, f"{item} >= {lo} and {item} <= {hi}", note))
            continue
        comps = _comparisons(tail)
        if not comps:
            continue
        if re.search(r"\b(?:x|×|times)\s*(?:the\s+)?(?:ULN|upper limit of normal)", tail, re.IGNORECASE):
            found.append(Proposal("lab", "", note=f"{spec['label']} relative to the upper limit of normal: "
                                  "see 'x ULN' in docs/rule-files.md"))
            continue
        unit_written = next((u for _, _, u, _ in reversed(comps) if u), None)
        unit, note = _unit(unit_written, spec["unit"], spec.get("molar_mass"))
        rule = ""
        for i, (op, number, _, joiner) in enumerate(comps):
            rule += (f" {joiner} " if i else "") + f"{item} {op} {number}"
        found.append(_lab_proposal(item, spec, unit, rule, note))
    return found


def _lab_proposal(item: str, spec: dict, unit: str, rule: str, note: str | None) -> Proposal:
    data = {"label": spec["label"], "codes": list(spec["codes"]), "names": list(spec["names"]), "unit": unit}
    if spec.get("molar_mass"):
        data["molar_mass"] = spec["molar_mass"]
    return Proposal("lab", rule, {item: data}, note=note)


def _scale(text: str) -> list[Proposal]:
    found = []
    for item, spec in vocabulary()["scales"].items():
        m = _words(spec["names"]).search(text)
        if not m:
            continue
        tail = text[m.end():m.end() + 120]
        data = {item: {"label": spec["label"], "codes": list(spec["codes"]), "names": list(spec["names"]),
                       "unit": spec["unit"], "range": list(spec["range"])}}
        r = re.search(rf"{_NUMBER}\s*(?:-|–|to)\s*{_NUMBER}", tail)
        grades = re.search(r"((?:\d\s*,\s*)*\d),?\s*(?:or|and)\s*(\d)", tail)
        comp = re.search(rf"({_OP_RE})\s*{_NUMBER}", tail, re.IGNORECASE)
        if r:
            found.append(Proposal("scale", f"{item} >= {_num(r.group(1))} and {item} <= {_num(r.group(2))}", data))
        elif grades:
            values = sorted({int(g) for g in re.findall(r"\d", grades.group(0))})
            if values == list(range(values[0], values[-1] + 1)):
                found.append(Proposal("scale", f"{item} >= {values[0]} and {item} <= {values[-1]}", data))
        elif comp:
            found.append(Proposal("scale", f"{item} {_op(comp.group(1))} {_num(comp.group(2))}", data))
    return found


def _pregnancy(text: str) -> list[Proposal]:
    vocab = vocabulary()
    found = []
    test = vocab["pregnancy_test"]
    if _words(test["words"]).search(text):
        item = test["item"]
        found.append(Proposal("pregnancy-test", f"{item} == 'positive'",
                              {item: {"label": test["label"], "type": "coded", "codes": list(test["codes"]),
                                      "names": list(test["names"]), "window": test["window"]}},
                              applies_if="sex == 'female'"))
        return found
    parts = []
    data: dict[str, dict[str, Any]] = {}
    for item, spec in vocab["facts"].items():
        if _words(spec["words"]).search(text):
            parts.append(item)
            data[item] = {"label": spec["label"], "type": "fact", "codes": list(spec["codes"]),
                          "names": list(spec["names"]), "window": spec["window"]}
    if parts:
        found.append(Proposal("fact", " or ".join(parts), data, applies_if="sex == 'female'"))
    return found


def _washout(text: str) -> list[Proposal]:
    m = re.search(r"\b(?:within\s+(?:the\s+)?(?:past|last|previous|preceding|prior)?|"
                  r"(?:in|during)\s+the\s+(?:past|last|previous|preceding))\s*"
                  r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|thirty)\s*"
                  r"(day|week|month|year)s?\b", text, re.IGNORECASE)
    if not m:
        return []
    n = m.group(1).lower()
    count = int(n) if n.isdigit() else _WORD_NUMBERS[n]
    window = f"P{count}{_PERIOD[m.group(2).lower()]}"
    function = "taking"
    for entry in vocabulary()["washout"]:
        if _words(entry["words"]).search(text):
            function = entry["function"]
            break
    return [Proposal("washout", f"{function}(CONCEPT, '{window}')",
                     note=f"'{m.group(0).strip()}': name the concept set (CONCEPT) under concepts:")]
