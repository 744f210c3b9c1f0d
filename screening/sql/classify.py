"""Terminology, units and values decided in Python once per distinct concept or value, never per row.

The SQL path ships the answers to the database as small tables, so the database only joins,
filters by date, picks and combines. Every answer comes from the very functions the Python path
uses: the OMOP reader's own row mapping (``sources.omop.reader``), the concept-set ``Matcher``
and ``RecordIndex`` (``terms.matcher``), and the engine's reading of an observation against a
data item (``engine.items.read_value``: units, plausible range, titers, coded words, bounds). That
gives exact parity on names, brands, hierarchies, units and values by construction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from ..engine.atoms import COMPARISONS, attributes_check, qualified
from ..engine.items import read_ratio, read_value
from ..model.patient import UnmappedRecord
from ..model.rulefile import DataType
from ..rules import ir as X
from ..rules.compiled import CompiledTrial
from ..sources.omop.reader import OmopSource, row_mapper
from ..terms.matcher import RecordIndex
from ..terms.vocabulary import (DRUG_CATEGORIES, MAYBE, NO, YES, Footprint, Unrecognised, personal_history,
                                route_check, terminology, unmapped_blocks)
from ..values.bounds import Bounded, Several

_DAY = dt.date(2000, 1, 1)  # stands for "a date" when a row's mapping only asks whether it has one

# reader row layout (see sources.omop.reader): ID, PID, CONCEPT, SOURCE_CONCEPT, SOURCE_VALUE, START, END,
# then for measurement/observation: OPERATOR, NUMBER, VALUE_CONCEPT, VALUE_STRING, UNIT_CONCEPT, UNIT_SOURCE,
# VALUE_SOURCE
VALUE_TABLES = ("measurement", "observation")


def _builder(source: OmopSource, table: str, status: str | None):
    return row_mapper(source, table, status)


def map_row(source: OmopSource, table: str, row: tuple, status: str | None) -> tuple[str | None, Any]:
    """(category, record) the reader makes of one row (with a stand-in id and dates), or (None, None)."""
    category, record, _ = _mapped(source, table, row, status)
    return category, record


def _mapped(source: OmopSource, table: str, row: tuple, status: str | None) -> tuple[str | None, Any, list]:
    """(category, record, unmapped records) the reader makes of one row: a record, or what it reports instead."""
    b = _builder(source, table, status)
    getattr(b, "map_" + table)(row)
    for category, records in b.records.items():
        if records:
            return category, records[0], []
    return None, None, [UnmappedRecord(**u) for u in b.unmapped_records()]


class Matchers:
    """Every concept set and data item of the trials, by key ('<trial>/<name>'), with the IR node kinds."""

    def __init__(self, trials: Iterable[CompiledTrial]):
        self.sets: dict[str, Any] = {}  # key -> Matcher of a concept set
        self.items: dict[str, tuple[CompiledTrial, Any]] = {}  # key -> (trial, ItemSpec) of a data item
        for t in trials:
            for name, spec in t.concepts.items():
                self.sets[f"{t.id}/{name}"] = spec.matcher
            for name, spec in t.items.items():
                self.items[f"{t.id}/{name}"] = (t, spec)

    def members(self, category: str, record: Any) -> list[str]:
        """The keys whose matcher finds ``record`` among the records of ``category``."""
        index = RecordIndex([record], whole_names_only=category == "facts", observation=category == "observations")
        out = []
        if category in ("observations", "facts"):
            want = DataType.FACT
            for key, (_, spec) in self.items.items():
                if (spec.dtype is want) == (category == "facts") and index.find(spec.matcher):
                    out.append(key)
        else:
            for key, m in self.sets.items():
                if index.find(m):
                    out.append(key)
        return out


def identity_rows(source: OmopSource, matchers: Matchers, keys: list[tuple]) -> list[tuple]:
    """For each distinct (table, concept, source concept, recorded status, has end date): the category,
    final status and every set or item key its record belongs to, as rows
    (table, concept, source_concept, status_raw, has_end, category, status, key)."""
    ids = {k[1] for k in keys} | {k[2] for k in keys}
    source.concepts.fetch(ids)
    out = []
    for table, cid, scid, status_raw, has_end in keys:
        end = _DAY if has_end else None
        if table in VALUE_TABLES:
            # the category of a value row depends on its value: membership as an observation and as a fact
            row = (0, 0, cid, scid, None, _DAY, None)
            b = _builder(source, table, status_raw)
            got = b.identity(table, row)
            if got is None:
                continue
            rec, _ = got
            status = status_raw or "final"
            probe = _Probe(rec["code"], rec["codes"], rec["name"], status)
            for category in ("observations", "facts"):
                for key in matchers.members(category, probe):
                    out.append((table, cid, scid, status_raw, has_end, category, status, key))
            continue
        row = (0, 0, cid, scid, None, _DAY, end)
        category, record = map_row(source, table, row, status_raw)
        if category is None:
            continue
        for key in matchers.members(category, record):
            out.append((table, cid, scid, status_raw, has_end, category, record.status, key))
    return out


class _Probe:
    """A stand-in record for matching: code, codes, name and status are all a matcher reads."""

    __slots__ = ("code", "codes", "name", "status")

    def __init__(self, code, codes, name, status):
        self.code, self.codes, self.name, self.status = code, list(codes), name, status


def value_rows(source: OmopSource, matchers: Matchers, compares: dict[str, list[tuple[str, Any]]],
               sigs: list[tuple], ratios: dict[str, list[tuple[str, Any]]] | None = None
               ) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:
    """Each distinct value row (sig_id, table, concept, source concept, operator, number, value concept,
    value string, unit concept, unit source, value source, status_raw, has_date, item key) read as the
    Python path reads it (with range low and high after the value source). Returns (observation rows:
    sig_id, key, kind, number, then one truth per comparison in ``compares[key]`` order as (sig_id, key,
    atom, truth); fact rows: sig_id, key, value; for each x_uln / x_lln comparison in ``ratios[key]``,
    (sig_id, key, atom, kind, ratio, truth), kind 'exact' or 'bad' (no ratio: the item is unknown)).

    kind: 'exact' (a number, a titer or a coded word), 'bound' ('<0.5'), 'bad' (unreadable: the item is unknown).
    truth: 'T', 'F' or 'N' (a bound that straddles the threshold); None when kind is 'bad'.
    """
    ids = set()
    for s in sigs:
        ids.update((s[2], s[3], s[4], s[6], s[8]))
    source.concepts.fetch(ids)
    obs, truths, facts, rratios = [], [], [], []
    ratios = ratios or {}
    done: dict[tuple, tuple] = {}
    for s in sigs:
        sig_id, table, cid, scid, op, num, vcid, vstr, ucid, usv, vsv, low, high, status_raw, has_date, key = s
        got = done.get(s[1:15])
        if got is None:
            row = (0, 0, cid, scid, None, _DAY if has_date else None, None, op, num, vcid, vstr, ucid, usv, vsv,
                   low, high)
            got = done[s[1:15]] = map_row(source, table, row, status_raw)
        category, record = got
        if category == "facts" and key in matchers.items and matchers.items[key][1].dtype is DataType.FACT:
            facts.append((sig_id, key, bool(record.value)))
        elif category == "observations" and key in matchers.items and \
                matchers.items[key][1].dtype is not DataType.FACT:
            trial, spec = matchers.items[key]
            for atom, node in ratios.get(key, ()):
                ratio = read_ratio(spec, record, node.source.limit)
                rratios.append((sig_id, key, atom, "bad", None, None) if ratio is None else
                               (sig_id, key, atom, "exact", ratio, truth_of(ratio, node)))
            value = read_value(spec, record)
            if value is None:
                obs.append((sig_id, key, "bad", None))
                continue
            kind = "bound" if isinstance(value, Bounded) else "exact"
            number = value if isinstance(value, float) else None
            obs.append((sig_id, key, kind, number))
            for atom, node in compares.get(key, ()):
                truths.append((sig_id, key, atom, truth_of(value, node)))
    return obs, truths, facts, rratios


def truth_of(value: Any, node: X.Compare) -> str:
    """'T', 'F' or 'N' (cannot tell) for one value against a comparison, as the engine decides it."""
    if isinstance(value, Bounded):
        holds = value.decide(node.op, node.constant)
    elif isinstance(value, Several):  # pragma: no cover - one record gives one value
        holds = value.decide(node.op, node.constant, COMPARISONS[node.op])
    else:
        holds = bool(COMPARISONS[node.op](value, node.constant))
    return "N" if holds is None else ("T" if holds else "F")


def gender_rows(source: OmopSource, gender_ids: list[Any]) -> list[tuple]:
    """(gender_concept_id, gender_source_value is set, sex or None) as the reader maps them."""
    source.concepts.fetch(g for g, _ in gender_ids)
    out = []
    for gid, has_sv in gender_ids:
        b = _builder(source, "person", None)
        out.append((gid, has_sv, b.sex((0, gid, None, None, None, None, None, "x" if has_sv else None))))
    return out


def death_keys(source: OmopSource, matchers: Matchers) -> list[str]:
    """Fact items the reader's death fact (deceased, on the death date) belongs to."""
    m = source.mapping
    probe = _Probe(m.death_codes[0], m.death_codes[1:], m.death_name, None)
    return matchers.members("facts", probe)


RECORD_CATEGORIES = ("conditions", "medications", "procedures", "immunizations")


def record_role(trial: CompiledTrial, node: X.Records, siblings: tuple[str, ...], category: str,
                record: Any) -> str | None:
    """What one record is to a record function, as the engine's fail-safe reads it (``engine.atoms``):
    'in' (found by the concept set and counted), 'ask' (found, but an excluded set, the route, a drug
    attribute or a condition qualifier leaves it open: a yes becomes a maybe), 'qno' (found, but a
    condition qualifier says otherwise: a yes or maybe is not counted), 'cand' (not found, but the
    vocabularies cannot rule it out: it keeps "no record" of a complete part unknown when its own
    reading is yes or maybe), or None (not read)."""
    concept = trial.concepts[node.concept]
    footprint = concept.footprint or Footprint()
    index = RecordIndex([record])
    if index.find(concept.matcher):
        ask = False
        if concept.excluded is not None and index.find(concept.excluded):
            verdict, cls = terminology().member(category, record, footprint)
            if category in DRUG_CATEGORIES and verdict == YES:
                pass
            elif category in DRUG_CATEGORIES and verdict == MAYBE and isinstance(cls, Unrecognised):
                ask = True
            else:
                return None
        if concept.route is not None and category in DRUG_CATEGORIES:
            verdict, _ = route_check(getattr(record, "route", None) or record.name, concept.route)
            if verdict == NO:
                return None
            if verdict == MAYBE:
                ask = True
        if category == "conditions" and concept.qualifiers:
            # a clinical status, severity or note words the record must also say: not said leaves it open, said
            # otherwise leaves it out where its reading would count ('qno'; a no or a refuted one still reads)
            q, _ = qualified(concept.qualifiers, record)
            if q == NO:
                return "qno"
            if q == MAYBE:
                ask = True
        if concept.attributes and category == "medications":  # dose, daily dose, stop reason (plan.py)
            verdict, _ = attributes_check(concept, record, [record], _DAY)
            if verdict == NO:
                return None
            if verdict == MAYBE:
                ask = True
        return "ask" if ask else "in"
    if any(index.find(trial.concepts[s].matcher) for s in siblings):
        return None
    placed: tuple = ()
    if category in ("conditions", "procedures"):
        for other in trial.concepts.values():
            fp = other.footprint
            if other is concept or fp is None:
                continue
            what = tuple(fp.icd10) if category == "conditions" else ((fp,) if fp.procedures else ())
            if what and index.find(other.matcher):
                placed += what
    verdict, _ = terminology().member(category, record, footprint, placed)
    return None if verdict == NO else "cand"


def role_rows(source: OmopSource, atoms: list, keys: list[tuple]) -> list[tuple]:
    """For each distinct (table, concept, source concept, recorded status, has end date) and each record
    function atom of the record's category, its role (``record_role``), as rows
    (table, concept, source_concept, status_raw, has_end, atom, role, status, past): ``past`` when a
    condition record is a personal history ('Personal history of ...', Z85-Z87), read as past. A row the
    reader cannot map (no concept, a status the model does not know) is, for every record function of the
    parts it is listed with, 'unm': whatever its date, "no record" of a complete part is then unknown
    (``terms.vocabulary.unmapped_blocks``, as ``engine.atoms.complete_blockers`` reads it)."""
    ids = {k[1] for k in keys} | {k[2] for k in keys}
    source.concepts.fetch(ids)
    by_category: dict[str, list] = {}
    for a in atoms:
        by_category.setdefault(X.RECORD_FUNCTIONS[a.node.function][0], []).append(a)
    out = []
    for table, cid, scid, status_raw, has_end in keys:
        if table in VALUE_TABLES:
            continue
        row = (0, 0, cid, scid, None, _DAY, _DAY if has_end else None)
        category, record, unmapped = _mapped(source, table, row, status_raw)
        if category is None:
            for part, part_atoms in by_category.items():
                if any(unmapped_blocks(u, part) for u in unmapped):
                    out += [(table, cid, scid, status_raw, has_end, a.name, "unm", None, False) for a in part_atoms]
            continue
        for a in by_category.get(category, ()):
            role = record_role(a.trial, a.node, a.siblings, category, record)
            if role is not None:
                past = category == "conditions" and personal_history(record)
                out.append((table, cid, scid, status_raw, has_end, a.name, role, record.status, past))
    return out
