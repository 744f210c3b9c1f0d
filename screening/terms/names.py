"""Names as words: tokens of a charted or rule-file name, ratios inside names, and the guard
phrases (``data/name_guards.txt``) that make only a whole-name match safe.

A charted name in a negated or other-person context ('family history of', 'no', 'ruled
out', 'planned'), or an observation named with a qualifier that makes another quantity
('ideal', 'target', 'pattern'), matches only a concept name equal to all of it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case without accents ('Esclerosis Múltiple' -> 'esclerosis multiple', 'riñón' ->
    'rinon'): charts and vocabularies spell Spanish names with and without them, and an accented
    letter must not split a word."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def ratio_joins(name: str) -> frozenset[int]:
    """Word positions where a ratio joins two words ('PaO2/FiO2', 'PaO2 / FiO2', 'PaO2:FiO2'):
    position i means between words i-1 and i of ``words(name)``. A '/' before a unit
    ('Weight/kg', 'RBC /hpf') or between numbers ('HIV 1/2') is no ratio, nor is a label's
    colon ('EDSS: total score')."""
    text = fold(name)
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
    toks = _WORD.findall(fold(text))
    if any(t.startswith("non-") for t in toks):
        toks = [part for t in toks for part in (("non", t[4:]) if t.startswith("non-") else (t,))]
    return tuple(toks)


@lru_cache(maxsize=1)
def _guard_file() -> dict[str, list[str]]:
    """data/name_guards.txt by section ('' for the first): its lines, without comments and blanks."""
    text = resources.files(__package__).joinpath("data", "name_guards.txt").read_text(encoding="utf-8")
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


@lru_cache(maxsize=1)
def _history_phrases() -> tuple[tuple[str, ...], ...]:
    return tuple(words(p) for p in _guard_file().get("history", []) if words(p))


@lru_cache(maxsize=65536)
def says_history(name: str) -> bool:
    """Whether a condition's name says it is past ('Personal history of pulmonary embolism',
    'h/o DVT', 'antecedentes de cáncer de mama'); phrases in data/name_guards.txt [history]."""
    toks = words(name)
    if "family" in toks or "familiar" in toks or "familiares" in toks:  # someone else's history (guarded)
        return False
    if says_present(name):  # 'Personal history of breast cancer, now with metastatic recurrence'
        return False
    return any(_occurs(toks, p, i) for p in _history_phrases() for i in range(len(toks) - len(p) + 1))


@lru_cache(maxsize=65536)
def says_present(name: str) -> bool:
    """Whether a condition's name says the disease is present now ('recurrence', 'metastatic',
    'active'), which a history phrase in it does not overrule; phrases in data/name_guards.txt
    [history overruled]."""
    toks = words(name)
    return any(_occurs(toks, p, i) for p in _present_phrases() for i in range(len(toks) - len(p) + 1))


@lru_cache(maxsize=1)
def _present_phrases() -> tuple[tuple[str, ...], ...]:
    return tuple(words(p) for p in _guard_file().get("history overruled", []) if words(p))
