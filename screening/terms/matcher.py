"""Concept-set matching: the compiled ``Matcher`` of a concept set or data item, and the
``RecordIndex`` that finds the records of one category a matcher selects.

Codes match exactly, except a class prefix of a hierarchical system ('icd10:C50*'), which
matches every code under it. Names match by words, so the concept name 'cyclophosphamide'
finds the charted 'Cyclophosphamide 500 mg IV', except where that would guess: facts (yes/no
assertions) match only a whole name, and so does a guarded charted name (see ``names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .codes import HIERARCHICAL, code_key, family_keys, prefix_key
from .names import name_tokens, ratio_joins, words


@dataclass(frozen=True)
class Matcher:
    """Compiled membership test of a concept set or data item: codes, class prefixes and name phrases."""

    codes: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    # Codes that outrank the rest: when a record has one of them, only such records are found
    # (a confirmation fact under '<trial id>/<criterion>' beats a bare '<criterion>').
    preferred: frozenset[str] = frozenset()
    # Class prefixes of hierarchical systems ('icd10:c50' from 'icd10:C50*'), compared by prefix_key.
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
                   tuple(sorted({prefix_key(c[:-1]) for c in codes if c.endswith("*")})),
                   tuple(need[p] for p in phrases))


class RecordIndex:
    """Records of one category, indexed by code and by the words of their names."""

    __slots__ = ("by_code", "by_word", "by_name", "order", "_by_prefix")

    def __init__(self, records: Iterable[Any], whole_names_only: bool = False, observation: bool = False):
        self._by_prefix: dict[str, list[Any]] | None = None  # built on the first class-prefix look-up
        self.by_code: dict[str, list[Any]] = {}
        # word -> (the name's words, record, position of the word, ratio joins, joins that end a phrase)
        self.by_word: dict[str, list[tuple[tuple[str, ...], Any, int, frozenset[int], frozenset[int]]]] = {}
        self.by_name: dict[tuple[str, ...], list[tuple[Any, frozenset[int]]]] = {}
        self.order: dict[int, int] = {}  # chart position of each record
        for r in records:
            self.order[id(r)] = len(self.order)
            keys = {code_key(c) for c in ((r.code,) if r.code else ()) + tuple(r.codes)}
            for code in keys | {f for k in keys for f in family_keys(k)}:
                self.by_code.setdefault(code, []).append(r)
            if r.name:
                toks, guarded = name_tokens(r.name, observation, getattr(r, "status", None) == "planned")
                joins = ratio_joins(r.name)
                self.by_name.setdefault(toks, []).append((r, joins))
                if not (guarded or whole_names_only):
                    sides = joins if observation else frozenset()  # one side of a ratio is not the measurement
                    for i, tok in enumerate(toks):  # entries share the name's one tuple: the index stays linear
                        self.by_word.setdefault(tok, []).append((toks, r, i, joins, sides))

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
            for toks, r, at, joins, sides in self.by_word.get(phrase[0], ()):
                if toks[at:at + n] == phrase and not (at in sides or at + n in sides) \
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
                key = prefix_key(code)
                for end in range(len(system) + 2, len(key) + 1):
                    out.setdefault(key[:end], []).extend(records)
        self._by_prefix = out
        return out
