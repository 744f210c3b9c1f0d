"""A patient's records indexed for look-up by code and name, as seen on a reference date.

Records dated after the reference date are invisible: a screen on 2026-11-23 gives the
same answer tomorrow. Planned records are the exception: a plan is dated when it is to
happen, normally after the reference date, and is visible whatever its date. Codes match
exactly, except a class prefix of a hierarchical system ('icd10:C50*', 'atc:L04A*'),
which matches every code under it. Codes match exactly. Names match by words, so the concept name
'cyclophosphamide' finds the charted 'Cyclophosphamide 500 mg IV', except where that
would guess: facts (yes/no assertions) match only a whole name, and a charted name in a
negated or other-person context (data/name_guards.txt: 'family history of', 'no', 'ruled
out', 'planned'), or an observation named with a qualifier that makes another quantity
('ideal', 'target', 'pattern'), matches only a concept name equal to all of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

from .models.patient import Patient

_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")


@lru_cache(maxsize=65536)
def ratio_joins(name: str) -> frozenset[int]:
    """Word positions where a ratio joins two words ('PaO2/FiO2', 'PaO2 / FiO2', 'PaO2:FiO2'):
    position i means between words i-1 and i of ``words(name)``. A '/' before a unit
    ('Weight/kg', 'RBC /hpf') or between numbers ('HIV 1/2') is no ratio, nor is a label's
    colon ('EDSS: total score')."""
    text = name.lower()
    joins, position, previous = set(), 0, None
    for m in _WORD.finditer(text):
        token = m.group()
        between = text[previous.end():m.start()] if previous is not None else ""
        if (between.strip() == "/" or between == ":") \
                and not (token in _unit_words() or (token.isdigit() and previous.group().isdigit())):
            joins.add(position)
        position += 2 if token.startswith("non-") else 1
        previous = m
    return frozenset(joins)


@lru_cache(maxsize=65536)
def words(text: str) -> tuple[str, ...]:
    """Lower-case word tokens used for name matching.

    A hyphenated 'non-' is a word of its own, so 'Non-invasive ventilation' reads like 'Non
    invasive ventilation' (and meets the same guards). Other hyphenated words stay whole:
    'anti-dsDNA' is not 'dsDNA', 'pre-diabetes' is not diabetes.
    """
    toks = _WORD.findall(text.lower())
    if any(t.startswith("non-") for t in toks):
        toks = [part for t in toks for part in (("non", t[4:]) if t.startswith("non-") else (t,))]
    return tuple(toks)


# Code systems whose codes are hierarchical by prefix (C50.911 is under C50, under C): only
# these may be matched by a class prefix such as 'icd10:C50*'. ICD-10 (and ICD-10-CM) codes
# are a letter, two characters of category, then an optional dot and up to four characters;
# the dot carries no meaning, so prefixes are compared without it. ATC prefixes must end on
# one of its levels: L (anatomical group), L04 (therapeutic), L04A (pharmacological), L04AA
# (chemical subgroup).
HIERARCHICAL = {
    "icd10": (re.compile(r"[a-z](?:[0-9](?:[0-9a-z](?:\.?[0-9a-z]{0,4})?)?)?"),
              "a letter, then up to two category characters, a dot and four more (C*, C50*, C50.9*)"),
    "atc": (re.compile(r"[a-z](?:[0-9]{2}(?:[a-z][a-z]?)?)?"),
            "a whole ATC level: L*, L04*, L04A* or L04AA*"),
}


def _prefix_key(code: str) -> str:
    """A code or class prefix ('icd10:C50.9') as compared for prefixes: lower case, no ICD-10 dot."""
    return code.replace(".", "") if code.startswith("icd10:") else code


def code_key(code: str) -> str:
    """A code as matched: trimmed, lower case, and without the ICD-10 dot (C80.1 and C801 are one code)."""
    return _prefix_key(code.strip().lower())


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


@dataclass(frozen=True)
class Matcher:
    """Compiled membership test of a concept set or data item: codes, class prefixes and name phrases."""

    codes: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    # Codes that outrank the rest: when a record has one of them, only such records are found
    # (a confirmation fact under '<trial id>/<criterion>' beats a bare '<criterion>').
    preferred: frozenset[str] = frozenset()
    # Class prefixes of hierarchical systems ('icd10:c50' from 'icd10:C50*'), compared by _prefix_key.
    prefixes: tuple[str, ...] = ()
    # For each phrase, the ratio joins a charted name must have where the phrase has them
    # ('PaO2/FiO2' finds "PaO2/FiO2 ratio", not "PaO2 (FiO2 0.4)").
    joins: tuple[frozenset[int], ...] = ()

    @classmethod
    def build(cls, codes: Iterable[str], names: Iterable[str], preferred: Iterable[str] = ()) -> "Matcher":
        """``codes`` ending in '*' are class prefixes (checked by the compiler: class_prefix_problem)."""
        codes = [c.strip().lower() for c in codes]
        need: dict[tuple[str, ...], frozenset[int]] = {}
        for n in names:
            toks = words(n)
            if toks:  # two spellings of one phrase: a join is required only if both have it
                need[toks] = need[toks] & ratio_joins(n) if toks in need else ratio_joins(n)
        phrases = tuple(sorted(need))
        return cls(frozenset(code_key(c) for c in codes if not c.endswith("*")), phrases,
                   frozenset(c.strip().lower() for c in preferred),
                   tuple(sorted({_prefix_key(c[:-1]) for c in codes if c.endswith("*")})),
                   tuple(need[p] for p in phrases))


@lru_cache(maxsize=1)
def _guard_file() -> dict[str, list[str]]:
    """data/name_guards.txt by section ('' for the first): its lines, without comments and blanks."""
    text = resources.files("screening.data").joinpath("name_guards.txt").read_text(encoding="utf-8")
    sections: dict[str, list[str]] = {"": []}
    current = sections[""]
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif line:
            current.append(line)
    return sections


@lru_cache(maxsize=1)
def _guards() -> tuple[tuple, tuple, tuple]:
    """(guards for every name, exceptions, further guards for observation names) from data/name_guards.txt."""
    sections = _guard_file()
    general = tuple(words(g) for g in sections[""] if not g.startswith("!") and words(g))
    exceptions = tuple(words(g[1:]) for g in sections[""] + sections.get("observations", []) if g.startswith("!"))
    observations = tuple(words(g) for g in sections.get("observations", []) if not g.startswith("!") and words(g))
    return general, exceptions, observations


@lru_cache(maxsize=1)
def _unit_words() -> frozenset[str]:
    """Words that after a '/' in an observation's name are its unit, not a ratio's other side."""
    return frozenset(w for line in _guard_file().get("units after /", []) for w in words(line))


def _occurs(toks: tuple[str, ...], phrase: tuple[str, ...], at: int) -> bool:
    return toks[at:at + len(phrase)] == phrase


_PLAN_WORDS = {("planned",), ("plan",), ("intended",)}


@lru_cache(maxsize=65536)
def name_tokens(name: str, observation: bool = False, planned: bool = False) -> tuple[tuple[str, ...], bool]:
    """Word tokens of a charted name, and whether only a whole-name match is safe for it.

    A name is guarded when a guard phrase occurs in it, unless an exception starts at the same
    word ('Non-Hodgkin lymphoma' is a lymphoma). Observation names are also guarded by the
    qualifiers that make a different quantity ('Ideal body weight' is not a body weight).
    For a record whose status is planned, 'planned' in its name says nothing more ('ECMO planned').
    """
    toks = words(name)
    general, exceptions, qualifiers = _guards()
    guards = general + qualifiers if observation else general
    if planned:
        guards = tuple(g for g in guards if g not in _PLAN_WORDS)
    guarded = any(_occurs(toks, g, i) and not any(_occurs(toks, e, i) for e in exceptions)
                  for g in guards for i in range(len(toks) - len(g) + 1))
    return toks, guarded


class _Index:
    """Records of one category, indexed by code and by the words of their names."""

    __slots__ = ("by_code", "by_word", "by_name", "order", "_by_prefix")

    def __init__(self, records: Iterable[Any], whole_names_only: bool = False, observation: bool = False):
        self._by_prefix: dict[str, list[Any]] | None = None  # built on the first class-prefix look-up
        self.by_code: dict[str, list[Any]] = {}
        # word -> (the name's words from it on, record, position, ratio joins, joins that end a phrase)
        self.by_word: dict[str, list[tuple[tuple[str, ...], Any, int, frozenset[int], frozenset[int]]]] = {}
        self.by_name: dict[tuple[str, ...], list[tuple[Any, frozenset[int]]]] = {}
        self.order: dict[int, int] = {}  # chart position of each record
        for r in records:
            self.order[id(r)] = len(self.order)
            for code in {code_key(c) for c in ((r.code,) if r.code else ()) + tuple(r.codes)}:
                self.by_code.setdefault(code, []).append(r)
            if r.name:
                toks, guarded = name_tokens(r.name, observation, getattr(r, "status", None) == "planned")
                joins = ratio_joins(r.name)
                self.by_name.setdefault(toks, []).append((r, joins))
                if not (guarded or whole_names_only):
                    sides = joins if observation else frozenset()  # one side of a ratio is not the measurement
                    for i in range(len(toks)):
                        self.by_word.setdefault(toks[i], []).append((toks[i:], r, i, joins, sides))

    def find(self, m: Matcher) -> list[Any]:
        seen: dict[int, Any] = {}
        if m.preferred:
            for code in m.preferred:
                for r in self.by_code.get(code, ()):
                    seen[id(r)] = r
            if seen:
                return [seen[k] for k in sorted(seen, key=self.order.__getitem__)]
        for code in m.codes:
            for r in self.by_code.get(code, ()):
                seen[id(r)] = r
        if m.prefixes:
            by_prefix = self._by_prefix if self._by_prefix is not None else self._index_prefixes()
            for prefix in m.prefixes:
                for r in by_prefix.get(prefix, ()):
                    seen[id(r)] = r
        for phrase, need in zip(m.phrases, m.joins or ((frozenset(),) * len(m.phrases))):
            for r, joins in self.by_name.get(phrase, ()):
                if need <= joins:
                    seen[id(r)] = r
            n = len(phrase)
            for tail, r, at, joins, sides in self.by_word.get(phrase[0], ()):
                if tail[:n] == phrase and not (at in sides or at + n in sides) \
                        and (not need or all(at + j in joins for j in need)):
                    seen[id(r)] = r
        if len(seen) < 2:
            return list(seen.values())
        order = self.order  # chart order: iterating m.codes (a frozenset) follows the per-process string hash
        return [seen[k] for k in sorted(seen, key=order.__getitem__)]

    def _index_prefixes(self) -> dict[str, list[Any]]:
        """Records of hierarchical systems under every prefix of their codes: a class look-up is a dict hit."""
        out: dict[str, list[Any]] = {}
        for code, records in self.by_code.items():
            system, _, rest = code.partition(":")
            if system in HIERARCHICAL and rest:
                key = _prefix_key(code)
                for end in range(len(system) + 2, len(key) + 1):
                    out.setdefault(key[:end], []).extend(records)
        self._by_prefix = out
        return out


# The field that dates a record of each category (when it happened or began).
DATE_FIELD = {
    "observations": "date", "conditions": "onset", "medications": "start",
    "procedures": "date", "immunizations": "date", "facts": "date",
}


def _planned(record: Any) -> bool:
    """A plan (a procedure with status planned) is dated when it is to happen: seen whatever its date."""
    return getattr(record, "status", None) == "planned"


class PatientView:
    """Everything the evaluator may see of one patient on ``as_of``."""

    def __init__(self, patient: Patient, as_of: date, complete: frozenset[str]):
        self.patient = patient
        self.as_of = as_of
        self.complete = complete
        self._indexes: dict[str, _Index] = {}
        for category, field in DATE_FIELD.items():
            records = getattr(patient, category)
            self._indexes[category] = _Index(
                (r for r in records if (d := r.__dict__[field]) is None or d <= as_of or _planned(r)),
                whole_names_only=category == "facts", observation=category == "observations")

    def find(self, category: str, matcher: Matcher) -> list[Any]:
        """Visible records of ``category`` matching ``matcher``, oldest first (undated first)."""
        found = self._indexes[category].find(matcher)
        if len(found) > 1:
            field = DATE_FIELD[category]
            found.sort(key=lambda r: r.__dict__[field] or date.min)
        return found
