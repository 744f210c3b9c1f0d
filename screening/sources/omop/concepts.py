"""OMOP concepts and the profile's codes: the one place that knows how they map, both ways.

A concept (vocabulary_id, concept_code) is the code ``prefix:concept_code`` where
``omop-mapping.yaml`` gives the vocabulary's prefix (SNOMED -> snomed, ICD10CM -> icd10 ...).
A record's codes are its concept's code, its source concept's code, and the codes of their
ancestors in concept_ancestor (a clinical drug's RxNorm ingredient and ATC classes, a SNOMED
finding's parents) where the database has that table. The SQL path uses the inverse:
``concept_set_sql`` selects the concepts a rule file's codes denote, with their descendants, so
a row matches when its concept or source concept is among them: the same semantics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Iterable

import yaml

from .database import OmopDatabase

_CHUNK = 5000  # concept ids per IN list


@dataclass(frozen=True)
class Mapping:
    """``omop-mapping.yaml``: vocabularies, coded values, operators, genders, completeness."""

    prefix_of: dict[str, str]  # vocabulary_id -> prefix
    vocabulary_of: dict[str, str]  # prefix -> vocabulary_id
    record_vocabulary: str
    immunization_vocabularies: frozenset[str]
    immunization_code_prefixes: tuple[str, ...]
    coded_values: dict[str, str]
    yes_no_values: dict[str, bool]
    presence_vocabularies: frozenset[str]
    semantic_tag: re.Pattern
    operator_vocabulary: str
    operators: dict[int, str]
    gender_vocabulary: str
    gender_codes: dict[str, str]
    genders: dict[int, str]
    death_codes: tuple[str, ...]
    death_name: str
    complete_within_observation_period: tuple[str, ...]
    raw: dict = field(repr=False, default_factory=dict)

    def profile_code(self, vocabulary_id: str | None, concept_code: str | None) -> str | None:
        """'loinc:2890-2' for (LOINC, 2890-2); None if the vocabulary is not mapped."""
        if vocabulary_id is None or concept_code is None:
            return None
        prefix = self.prefix_of.get(vocabulary_id)
        if prefix is None:
            return None
        return f"{prefix}:{concept_code}" if prefix else concept_code

    def omop_code(self, code: str) -> tuple[str, str]:
        """(vocabulary_id, concept_code) of a profile code; codes of no known prefix keep their whole text."""
        prefix, sep, rest = code.partition(":")
        if sep and rest and prefix and prefix.lower() in self.vocabulary_of:
            return self.vocabulary_of[prefix.lower()], rest
        return self.vocabulary_of[""], code


@lru_cache(maxsize=1)
def mapping() -> Mapping:
    """The OMOP mapping table shipped with screening (read once; YAML loaded safely)."""
    text = resources.files(__package__).joinpath("data", "omop-mapping.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    vocabularies = raw["vocabularies"]
    tags = "|".join(re.escape(t) for t in raw.get("semantic_tags", []))
    return Mapping(
        prefix_of={v["vocabulary"]: v["prefix"] for v in vocabularies},
        vocabulary_of={v["prefix"]: v["vocabulary"] for v in vocabularies},
        record_vocabulary=raw["record_vocabulary"],
        immunization_vocabularies=frozenset(raw.get("immunization_vocabularies", [])),
        immunization_code_prefixes=tuple(p.lower() for p in raw.get("immunization_code_prefixes", [])),
        coded_values={k.lower(): v for k, v in raw.get("coded_values", {}).items()},
        yes_no_values={k.lower(): bool(v) for k, v in raw.get("yes_no_values", {}).items()},
        presence_vocabularies=frozenset(raw.get("presence_vocabularies", [])),
        semantic_tag=re.compile(rf"\s*\((?:{tags})\)\s*$", re.I) if tags else re.compile(r"(?!x)x"),
        operator_vocabulary=raw["operator_vocabulary"],
        operators={int(k): v for k, v in raw["operators"].items()},
        gender_vocabulary=raw["gender_vocabulary"],
        gender_codes=dict(raw["gender_codes"]),
        genders={int(k): v for k, v in raw["genders"].items()},
        death_codes=tuple(raw["death"]["codes"]),
        death_name=raw["death"]["name"],
        complete_within_observation_period=tuple(raw["complete_within_observation_period"]),
        raw=raw,
    )


@dataclass(frozen=True)
class Concept:
    """One row of the concept table, with its profile code and its ancestors' profile codes."""

    id: int
    name: str | None
    vocabulary: str | None
    code: str | None  # concept_code
    domain: str | None
    standard: str | None
    concept_class: str | None
    profile_code: str | None  # 'loinc:2890-2'; None for a vocabulary that is not mapped
    ancestors: tuple[str, ...] = ()  # profile codes of its ancestors (concept_ancestor), nearest first

    @property
    def label(self) -> str:
        """How reasons name it: 'LOINC 2890-2 "Protein/Creatinine ..."'."""
        return f"{self.vocabulary} {self.code} {self.name!r}" if self.name else f"{self.vocabulary} {self.code}"


class Concepts:
    """Concepts of one database, fetched on first use and kept (a run touches few distinct concepts)."""

    def __init__(self, db: OmopDatabase, table: Mapping | None = None):
        self.db = db
        self.mapping = table or mapping()
        self._known: dict[int, Concept | None] = {}

    def get(self, concept_id: int | None) -> Concept | None:
        """The concept (fetched by ``fetch`` before), or None for 0, NULL or an id not in the table."""
        if not concept_id:
            return None
        return self._known.get(concept_id)

    def fetch(self, ids: Iterable[int | None]) -> None:
        """Read the concepts ``ids`` that are not known yet, and their ancestors' codes."""
        todo = sorted({i for i in ids if i and i not in self._known})
        if not todo:
            return
        found: dict[int, tuple] = {}
        ancestors: dict[int, list[tuple[int, str]]] = {}
        if self.db.has("concept"):
            c = self.db.ref("concept")
            for part in _chunks(todo):
                for row in self.db.rows(
                        "SELECT concept_id, concept_name, vocabulary_id, concept_code, domain_id, standard_concept, "
                        f"concept_class_id FROM {c} AS c WHERE concept_id IN ({_ints(part)})"):
                    found[row[0]] = row
                if self.db.has("concept_ancestor"):
                    a = self.db.ref("concept_ancestor")
                    for desc, voc, code, level in self.db.rows(
                            "SELECT ca.descendant_concept_id, c.vocabulary_id, c.concept_code, "
                            f"ca.min_levels_of_separation FROM {a} AS ca JOIN {c} AS c "
                            "ON c.concept_id = ca.ancestor_concept_id "
                            f"WHERE ca.descendant_concept_id IN ({_ints(part)}) "
                            "AND ca.ancestor_concept_id <> ca.descendant_concept_id"):
                        pc = self.mapping.profile_code(voc, code)
                        if pc is not None:
                            ancestors.setdefault(desc, []).append((level or 0, pc))
        for i in todo:
            row = found.get(i)
            if row is None:
                self._known[i] = None
                continue
            anc = tuple(dict.fromkeys(pc for _, pc in sorted(ancestors.get(i, ()))))
            name = row[1].strip() if row[1] else None
            self._known[i] = Concept(i, name or None, row[2], row[3], row[4], row[5], row[6],
                                     self.mapping.profile_code(row[2], row[3]), anc)

    def __len__(self) -> int:
        return len(self._known)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _ints(ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def code_condition(codes: Iterable[str], alias: str = "c", table: Mapping | None = None) -> str:
    """SQL condition on concept ``alias`` true for the concepts that the profile ``codes`` denote.

    Codes compare as the engine compares them: case-insensitively, ICD-10 without its dot; a class
    prefix ('icd10:C50*', 'atc:L04A*') matches every code that starts with it. FALSE for no codes.
    """
    m = table or mapping()
    exact: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    for raw in codes:
        code = raw.strip()
        is_prefix = code.endswith("*")
        vocabulary, concept_code = m.omop_code(code[:-1] if is_prefix else code)
        key = concept_code.lower()
        dotless = vocabulary == m.vocabulary_of.get("icd10")
        if dotless:
            key = key.replace(".", "")
        (prefixes if is_prefix else exact).setdefault(vocabulary, set()).add(key)
    parts = []
    icd = m.vocabulary_of.get("icd10")
    for vocabulary in sorted(set(exact) | set(prefixes)):
        col = f"LOWER({alias}.concept_code)"
        if vocabulary == icd:
            col = f"REPLACE({col}, '.', '')"
        ors = []
        if exact.get(vocabulary):
            ors.append(f"{col} IN ({', '.join(_literal(k) for k in sorted(exact[vocabulary]))})")
        for p in sorted(prefixes.get(vocabulary, ())):
            ors.append(f"{col} LIKE {_literal(p.replace('%', '').replace('_', '') + '%')}")
        parts.append(f"({alias}.vocabulary_id = {_literal(vocabulary)} AND ({' OR '.join(ors)}))")
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


def concept_set_sql(db: OmopDatabase, codes: Iterable[str], table: Mapping | None = None) -> str:
    """SELECT of the concept_ids a concept set's codes denote, with their descendants (concept_ancestor).

    A clinical row belongs to the set when its concept_id or its source concept_id is in this
    result: exactly what the Python path sees as the record's codes.
    """
    c = db.ref("concept")
    cond = code_condition(codes, "c", table)
    sql = f"SELECT c.concept_id FROM {c} AS c WHERE {cond}"
    if db.has("concept_ancestor"):
        a = db.ref("concept_ancestor")
        sql += (f" UNION SELECT ca.descendant_concept_id FROM {a} AS ca JOIN {c} AS c "
                f"ON c.concept_id = ca.ancestor_concept_id WHERE {cond}")
    return sql
