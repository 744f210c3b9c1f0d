"""OMOP persons as native patient profiles: one ``Patient`` per person, with a location for errors.

What maps to what (see docs/omop.md): condition_occurrence and device_exposure -> conditions,
drug_exposure -> medications (immunizations for vaccines), procedure_occurrence -> procedures,
measurement -> observations, observation -> observations or yes/no facts, death -> deceased (and a fact),
person -> birth date and sex, observation_period -> which parts are declared complete. Every
row that cannot be mapped is reported in the profile's ``unmapped`` with the reason, grouped by
table, concept and reason; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, get_args

from pydantic import ValidationError

from ...errors import Problem
from ...model.patient import (
    Category, Condition, Fact, Immunization, Medication, Observation, Patient, Procedure, ReferenceRange,
    UnmappedRecord,
)
from ..base import SourcedPatient, Where
from .concepts import Concept, Concepts, Mapping, mapping
from .database import OmopDatabase, OmopError, open_database

# Parts of a profile that are not read from OMOP (allergies and family history: the observation-table
# conventions for them are not mapped here), so never declared complete, whatever screening_complete says.
NOT_READ = ("allergies", "family_history")
# Completeness policies: 'observation-period' declares the parts of omop-mapping.yaml complete when an
# observation period contains the screening date (history before the period's start is then read as
# absent: the profile's unmapped list says from when the record covers); 'lifetime' only when that
# period also began by the birth date; 'none' declares nothing (absence is never evidence).
POLICIES = ("observation-period", "lifetime", "none")

_EVENT_SQL = {
    "condition_occurrence": "condition_occurrence_id, person_id, condition_concept_id, condition_source_concept_id, "
                            "condition_source_value, condition_start_date, condition_end_date",
    "device_exposure": "device_exposure_id, person_id, device_concept_id, device_source_concept_id, "
                       "device_source_value, device_exposure_start_date, device_exposure_end_date",
    "drug_exposure": "drug_exposure_id, person_id, drug_concept_id, drug_source_concept_id, drug_source_value, "
                     "drug_exposure_start_date, drug_exposure_end_date",
    "procedure_occurrence": "procedure_occurrence_id, person_id, procedure_concept_id, procedure_source_concept_id, "
                            "procedure_source_value, procedure_date, procedure_end_date",
    "measurement": "measurement_id, person_id, measurement_concept_id, measurement_source_concept_id, "
                   "measurement_source_value, measurement_date, CAST(NULL AS DATE), operator_concept_id, "
                   "value_as_number, value_as_concept_id, CAST(NULL AS VARCHAR), unit_concept_id, unit_source_value, "
                   "value_source_value, range_low, range_high",
    "observation": "observation_id, person_id, observation_concept_id, observation_source_concept_id, "
                   "observation_source_value, observation_date, CAST(NULL AS DATE), CAST(NULL AS BIGINT), "
                   "value_as_number, value_as_concept_id, value_as_string, unit_concept_id, unit_source_value, "
                   "value_source_value, CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION)",
}
# columns of an event row as selected above
ID, PID, CONCEPT, SOURCE_CONCEPT, SOURCE_VALUE, START, END = range(7)
OPERATOR, NUMBER, VALUE_CONCEPT, VALUE_STRING, UNIT_CONCEPT, UNIT_SOURCE, VALUE_SOURCE, RANGE_LOW, RANGE_HIGH = range(7, 16)


@dataclass
class _Person:
    """One person's rows as fetched, before mapping."""

    row: tuple
    periods: list
    death: list
    visits: int
    events: dict
    statuses: dict
    declared: list


class OmopSource:
    """The persons of an OMOP database as patient profiles: iterate for (patient, location) pairs.

    ``as_of`` is the screening date the completeness policy is judged on ('observation-period':
    conditions, medications, procedures and immunizations are declared complete for a person whose
    observation period contains it; 'none': nothing is). ``persons`` restricts the run to those
    person_ids (or person_source_values). Persons are read ``chunk`` at a time.
    """

    def __init__(self, db: OmopDatabase, as_of: dt.date | None = None, persons: Iterable[Any] | None = None,
                 completeness: str = "observation-period", chunk: int = 2000, table: Mapping | None = None):
        if completeness not in POLICIES:
            raise ValueError(f"completeness policy must be one of {', '.join(POLICIES)}")
        self.db = db
        self.as_of = as_of
        self.completeness = completeness
        self.chunk = max(1, chunk)
        self.mapping = table or mapping()
        self.concepts = Concepts(db, self.mapping)
        self._persons = None if persons is None else list(persons)
        self._identities: dict[tuple, tuple] = {}  # (concept_id, source_concept_id) -> code, codes, name

    @classmethod
    def open(cls, spec: str, schema: str | None = None, vocabulary: str | None = None, engine: str | None = None,
             spark: Any = None, **kwargs) -> "OmopSource":
        """An OmopSource over ``open_database(spec, schema, vocabulary, engine, spark)``; close it when done."""
        return cls(open_database(spec, schema, vocabulary, engine, spark), **kwargs)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "OmopSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def location(self, person_id: int) -> str:
        """How errors and reports name a person: '<database>#person/<person_id>'."""
        return f"{self.db.location}#person/{person_id}"

    def person_ids(self) -> list[int]:
        """The person_ids to read, in order; OmopError naming any requested person that is not there."""
        p = self.db.ref("person")
        if self._persons is None:
            return [r[0] for r in self.db.rows(f"SELECT DISTINCT person_id FROM {p} AS p ORDER BY person_id")]
        ids = sorted({int(x) for x in self._persons if _is_int(x)})
        names = sorted({str(x) for x in self._persons if not _is_int(x)})
        where = []
        if ids:
            where.append(f"person_id IN ({', '.join(map(str, ids))})")
        if names:
            where.append("person_source_value IN (" + ", ".join(_literal(n) for n in names) + ")")
        found: dict[str, int] = {}
        if where:
            for pid, psv in self.db.rows(f"SELECT person_id, person_source_value FROM {p} AS p "
                                         f"WHERE {' OR '.join(where)}"):
                found[str(pid)] = pid
                if psv is not None:
                    found.setdefault(str(psv), pid)
        keys = [str(int(x)) if _is_int(x) else str(x) for x in self._persons]
        missing = [k for k in keys if k not in found]
        if missing:
            raise OmopError(Problem(f"no person {', '.join(missing)} in this database", self.db.location))
        return sorted({found[k] for k in keys})

    def __len__(self) -> int:
        return len(self.person_ids())

    def __iter__(self) -> Iterator[tuple[Patient, str]]:
        ids = self.person_ids()
        for i in range(0, len(ids), self.chunk):
            part = ids[i:i + self.chunk]
            yield from self._read(part)

    def patients(self) -> Iterator[SourcedPatient]:
        """The ``PatientSource`` protocol: each person as a SourcedPatient located '<database>#person/<id>'.

        A person never fails on its own (rows that cannot be mapped are listed in its ``unmapped``);
        a database that cannot be read raises OmopError.
        """
        for patient, location in self:
            yield SourcedPatient(Where(location), patient)

    def patient(self, person: Any) -> Patient:
        """One person's profile, by person_id or person_source_value."""
        source = OmopSource(self.db, self.as_of, [person], self.completeness, table=self.mapping)
        source.concepts, source._identities = self.concepts, self._identities
        return next(iter(source))[0]

    # reading

    def _where(self, part: list[int]) -> str:
        if self._persons is None or len(part) == part[-1] - part[0] + 1:
            # every person in the range is read: a range the engine can prune on
            return f"person_id BETWEEN {part[0]} AND {part[-1]}"
        return f"person_id IN ({', '.join(map(str, part))})"

    def _read(self, part: list[int]) -> Iterator[tuple[Patient, str]]:
        people, _ = self._fetch(part)
        for person in people:
            yield _Builder(self, person).patient(), self.location(person.row[0])

    def rows(self) -> Iterator[tuple[list["_Person"], "PersonMapper"]]:
        """The persons' rows as read, a chunk at a time, with what maps them to profiles without the database
        (``PersonMapper``, picklable: the mapping can run in another process). ``mapper.patient(person)``
        gives the profile iterating this source gives."""
        ids = self.person_ids()
        for i in range(0, len(ids), self.chunk):
            people, concepts = self._fetch(ids[i:i + self.chunk])
            known = {c: self.concepts.get(c) for c in concepts if c}
            yield people, PersonMapper(self.mapping, known, self.as_of, self.completeness, self.db.location)

    def _fetch(self, part: list[int]) -> tuple[list["_Person"], set]:
        """The rows of the persons ``part`` (in that order, those that exist) and the concept ids they name,
        fetched into ``self.concepts``: one query per table for the whole part."""
        db, where = self.db, self._where(part)
        people: dict[int, _Person] = {}
        for row in db.rows("SELECT person_id, gender_concept_id, year_of_birth, month_of_birth, day_of_birth, "
                           "CAST(birth_datetime AS DATE), person_source_value, gender_source_value "
                           f"FROM {db.ref('person')} AS t WHERE {where} ORDER BY person_id"):
            if row[0] in people:  # a person_id twice: the first row is used, the second reported
                people[row[0]].events.setdefault("person", []).append(row)
                continue
            people[row[0]] = _Person(row, [], [], 0, {}, {}, [])
        if db.has("observation_period"):
            for pid, start, end in db.rows(
                    "SELECT person_id, observation_period_start_date, observation_period_end_date "
                    f"FROM {db.ref('observation_period')} AS t WHERE {where} ORDER BY 1, 2"):
                if pid in people:
                    people[pid].periods.append((start, end))
        if db.has("death"):
            for row in db.rows("SELECT person_id, death_date, cause_concept_id, cause_source_value "
                               f"FROM {db.ref('death')} AS t WHERE {where}"):
                if row[0] in people:
                    people[row[0]].death.append(row)
        if db.has("visit_occurrence"):
            for pid, n in db.rows(f"SELECT person_id, COUNT(*) FROM {db.ref('visit_occurrence')} AS t "
                                  f"WHERE {where} GROUP BY person_id"):
                if pid in people:
                    people[pid].visits = n
        if db.has("screening_status"):
            # one status per record: of several rows, the greatest (as the SQL path takes it), not whichever
            # row the database returns last
            for pid, table, rid, status in db.rows("SELECT person_id, table_name, record_id, MAX(status) FROM "
                                                   f"{db.ref('screening_status')} AS t WHERE {where} "
                                                   "GROUP BY person_id, table_name, record_id"):
                if pid in people and status is not None:  # a row without a status says nothing
                    people[pid].statuses[(table, rid)] = status
        if db.has("screening_complete"):
            for pid, category in db.rows(f"SELECT person_id, category FROM {db.ref('screening_complete')} AS t "
                                         f"WHERE {where}"):
                if pid in people:
                    people[pid].declared.append(category)
        ids: set = {p.row[1] for p in people.values()}
        for table, cols in _EVENT_SQL.items():
            if not db.has(table):
                continue
            rows = db.rows(f"SELECT {cols} FROM {db.ref(table)} AS t WHERE {where} ORDER BY 2, 6, 1")
            for r in rows:
                if r[PID] in people:
                    people[r[PID]].events.setdefault(table, []).append(r)
                    ids.add(r[CONCEPT])
                    ids.add(r[SOURCE_CONCEPT])
                    if len(r) > 7:
                        ids.update((r[OPERATOR], r[VALUE_CONCEPT], r[UNIT_CONCEPT]))
        for p in people.values():
            ids.update(d[2] for d in p.death)
        self.concepts.fetch(ids)
        return [people[pid] for pid in part if pid in people], ids


class PersonMapper:
    """Maps persons' rows (``OmopSource.rows``) to profiles with the concepts they name, as ``OmopSource``
    does, without a database: picklable, so that worker processes map the persons they screen."""

    def __init__(self, table: Mapping, concepts: dict, as_of: dt.date | None, completeness: str, location: str):
        self.mapping, self.concepts, self.as_of, self.completeness = table, concepts, as_of, completeness
        self.db_location = location
        self._identities: dict[tuple, tuple] = {}

    def location(self, person_id: int) -> str:
        return f"{self.db_location}#person/{person_id}"

    def patient(self, person: "_Person") -> Patient:
        return _Builder(self, person).patient()

    def __getstate__(self) -> dict:
        # the identities are computed again where they are used; the packaged mapping is loaded there
        return {**self.__dict__, "_identities": {}, "mapping": None if self.mapping is mapping() else self.mapping}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.mapping is None:
            self.mapping = mapping()


class BatchInput:
    """An OMOP database as a batch input (``batch.run_batch``): the persons in person_id order, one
    record each, so that a resumed run skips exactly the persons already screened."""

    def __init__(self, source: OmopSource):
        self.source = source
        self.kind = f"omop, completeness {source.completeness}"  # a resume must use the same policy
        self.path = source.db.location
        self.name = source.db.location
        self._ids: list[int] | None = None

    def _person_ids(self) -> list[int]:
        if self._ids is None:
            self._ids = self.source.person_ids()
        return self._ids

    def size(self) -> int:
        """Number of persons."""
        return len(self._person_ids())

    def fingerprint(self) -> str:
        """What a resume checks is unchanged: the database's content (``OmopDatabase.fingerprint``)."""
        return self.source.db.fingerprint()

    def total(self) -> int:
        return len(self._person_ids())

    def records(self, start: int = 1) -> Iterator[tuple[int, str, Any]]:
        """(position, 'patient', (location, Patient)) from the ``start``-th person on (1-based)."""
        ids = self._person_ids()[start - 1:]
        reader = OmopSource(self.source.db, self.source.as_of, ids, self.source.completeness,
                            self.source.chunk, self.source.mapping)
        reader.concepts, reader._identities = self.source.concepts, self.source._identities
        for position, (patient, location) in enumerate(reader, start):
            yield position, "patient", (location, patient)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _finite(x: Any) -> float | None:
    """A reference-range limit as a finite number, else None (NULL, NaN)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _is_int(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, str) and x.strip().lstrip("-").isdigit()


_PARTS = frozenset(c.value for c in Category)  # what screening_complete may declare complete

_STATUSES = {m: frozenset(get_args(m.model_fields["status"].annotation)) if "status" in m.model_fields else frozenset()
             for m in (Condition, Fact, Immunization, Medication, Observation, Procedure)}

_DEFAULTS = {m: {name: f.get_default(call_default_factory=True) for name, f in m.model_fields.items()}
             for m in _STATUSES}


def _build(cls: type, values: dict) -> Any:
    """A model from values already checked (every field given), without re-validation: the hot path."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


# The parts of the record an event row that cannot be mapped (concept 0 or not in the concept table, a status the
# model does not know) belongs to, as the reader maps the table: it is listed with them, and a part declared
# complete is then not evidence of absence (``terms.vocabulary.unmapped_blocks``). A drug row of an unknown concept
# could be a vaccine: both parts. Measurements and observations: none (no record function reads them).
EVENT_PARTS = {"condition_occurrence": ("conditions",), "device_exposure": ("conditions",),
               "drug_exposure": ("medications", "immunizations"), "procedure_occurrence": ("procedures",)}

_DEFAULT_STATUS = {"condition_occurrence": lambda r: "resolved" if r[END] else "active",
                   "device_exposure": lambda r: "resolved" if r[END] else "active",
                   "drug_exposure": lambda r: "completed" if r[END] else "active"}


class _Builder:
    """Maps one person's rows to a Patient, collecting what cannot be mapped."""

    def __init__(self, source: OmopSource, person: _Person):
        self.s = source
        self.m = source.mapping
        self.c = source.concepts
        self.p = person
        self.unmapped: dict[tuple[str, str, tuple], list] = {}  # (table, reason, parts) -> row ids
        self.records: dict[str, list] = {k: [] for k in
                                         ("observations", "conditions", "medications", "procedures",
                                          "immunizations", "facts")}

    def skip(self, table: str, rid: Any, reason: str, parts: tuple[str, ...] = ()) -> None:
        """Report a row not used; ``parts``: the parts of the record it belongs to (an event row that could not
        be mapped), listed with it so that a part declared complete is not complete as far as it goes."""
        self.unmapped.setdefault((table, reason, parts), []).append(rid)

    def patient(self) -> Patient:
        row = self.p.row
        pid = row[0]
        for dup in self.p.events.get("person", []):
            self.skip("person", dup[0], "the person_id appears more than once in the person table: "
                                        "the first row is used")
        data: dict[str, Any] = {"id": row[6] if row[6] else str(pid)}
        data["birth_date"] = self.birth_date(row)
        data["sex"] = self.sex(row)
        for table, rows in self.p.events.items():
            if table == "person":
                continue
            handler: Callable = getattr(self, "map_" + table)
            for r in rows:
                handler(r)
        for d in self.p.death:
            self.death(d)
        if self.p.death:  # as the FHIR mapper reads Patient.deceased: never screened as alive
            data["deceased"] = True
            days = [d[1] for d in self.p.death]
            # the earliest death date; a row without a date: deceased on a date not known
            data["deceased_date"] = None if any(day is None for day in days) else min(days)
        if self.p.visits:
            self.skip("visit_occurrence", None, f"{self.p.visits} visits: the profile has no visits "
                                                "(no criterion reads them)")
        data.update(self.records)
        data["complete"] = self.complete(data["birth_date"])
        data["unmapped"] = self.unmapped_records()
        try:
            return Patient.model_validate(data)
        except ValidationError as err:  # a bug, not data: every record was validated on its own
            raise OmopError(Problem(f"person {pid}: {err}", self.s.location(pid))) from None

    def birth_date(self, row: tuple) -> dt.date | None:
        pid, _, year, month, day, birth = row[0], row[1], row[2], row[3], row[4], row[5]
        if birth is not None:
            return birth
        if year and month and day:
            try:
                return dt.date(year, month, day)
            except ValueError:
                self.skip("person", pid, f"birth date {year}-{month}-{day} is not a date: age is unknown")
                return None
        if year:
            self.skip("person", pid, f"only the year of birth ({year}) is recorded, not the day: age is unknown")
        return None

    def sex(self, row: tuple) -> str | None:
        pid, gid = row[0], row[1]
        if not gid:
            if row[7]:
                self.skip("person", pid, f"no gender concept (gender_concept_id 0); source value {row[7]!r}")
            return None
        c = self.c.get(gid)
        if c is not None and c.vocabulary == self.m.gender_vocabulary and c.code in self.m.gender_codes:
            return self.m.gender_codes[c.code]
        if gid in self.m.genders:
            return self.m.genders[gid]
        self.skip("person", pid, f"gender concept {gid} is not a known gender: sex is unknown")
        return None

    def complete(self, birth: dt.date | None) -> list[str]:
        declared = [c for c in self.p.declared]
        out: list[str] = []
        as_of, policy = self.s.as_of, self.s.completeness
        if policy != "none" and as_of is not None:
            covering = [(start, end) for start, end in self.p.periods
                        if start is not None and start <= as_of and (end is None or as_of <= end)]
            if policy == "lifetime":
                covering = [(start, end) for start, end in covering if birth is not None and start <= birth]
            if covering:
                start, end = min(covering)
                parts = list(self.m.complete_within_observation_period)
                out.extend(parts)
                if policy == "observation-period" and (birth is None or start > birth):
                    self.skip("observation_period", None,
                              f"{', '.join(parts)} declared complete from {start} (the observation period "
                              f"{start} to {end or 'open'} contains the screening date {as_of}); "
                              f"events before {start} are not in this database")
        for c in declared:
            if c not in _PARTS:  # the SQL path reads the same names, and only these
                self.skip("screening_complete", None, f"{c!r} declared complete is not a part of the record "
                                                      f"({', '.join(sorted(_PARTS))}): ignored")
            elif c in NOT_READ:
                self.skip("screening_complete", None, f"{c} declared complete, but this reader does not read {c} "
                                                      "from OMOP: not complete, so no record is read as none")
            elif c not in out:
                out.append(c)
        return out

    def unmapped_records(self) -> list[dict]:
        out = []
        for (table, reason, parts), ids in self.unmapped.items():
            ids = [i for i in ids if i is not None]
            if not ids:
                resource = table
            elif len(ids) == 1:
                resource = f"{table}/{ids[0]}"
            else:
                shown = ", ".join(str(i) for i in ids[:5]) + (", ..." if len(ids) > 5 else "")
                resource = f"{table}/{ids[0]} and {len(ids) - 1} more ({len(ids)} rows: {shown})"
            out.extend({"resource": resource, "reason": reason, "category": part} for part in parts)
            if not parts:
                out.append({"resource": resource, "reason": reason})
        return out

    # records

    def identity(self, table: str, r: tuple) -> tuple[dict, Concept | None] | None:
        """code, codes, name and source of a row; None (reported) when it has no usable concept."""
        cid, scid = r[CONCEPT], r[SOURCE_CONCEPT]
        got = self.s._identities.get((cid, scid))
        if got is None:
            got = self.s._identities[(cid, scid)] = self._identity(table, cid, scid)
        c, sc, code, codes, name, why = got
        sv = r[SOURCE_VALUE]
        if why is not None:
            if sv:
                why += f"; source value {sv!r}"
            self.skip(table, r[ID], why, EVENT_PARTS.get(table, ()))
            return None
        source = f"{table}/{r[ID]}"
        if sv and sv != c.code and sv != c.profile_code and not (sc is not None and sv == sc.code):
            source += f" (source value {sv!r})"
        elif sc is not None and sc.id != c.id and sc.profile_code:
            source += f" (source {sc.profile_code})"
        return {"source": source, "code": code, "codes": codes, "name": name}, c

    def _identity(self, table: str, cid: Any, scid: Any) -> tuple:
        """(concept, source concept, code, codes, name, problem) of a concept pair, computed once per run."""
        c, sc = self.c.get(cid), self.c.get(scid)
        if c is None:
            why = f"concept {cid} ({table} concept) is not in the concept table" if cid else \
                "no standard concept (concept_id 0)"
            if sc is not None:
                why += f"; source concept {sc.label}"
            return c, sc, None, [], None, why
        codes: list[str] = []
        for x in (c, sc):
            if x is None:
                continue
            if x.profile_code:
                codes.append(x.profile_code)
            codes.extend(x.ancestors)
        codes = list(dict.fromkeys(codes))
        name = c.name if c.name else (sc.name if sc is not None else None)
        if not codes and not name:
            return c, sc, None, [], None, f"concept {c.label} has no code of a known vocabulary and no name"
        return c, sc, (codes[0] if codes else None), codes[1:], name, None

    def status(self, table: str, r: tuple, default: str) -> str:
        return self.p.statuses.get((table, r[ID]), default)

    def add(self, category: str, model: type, table: str, rid: Any, fields: dict) -> None:
        """Append a record. Fields come typed from SQL (dates, numbers, text) and identity() guarantees a
        code or a name, so the model is built without re-validation; a status (from screening_status)
        the model does not know is reported instead."""
        allowed = _STATUSES[model]
        if "status" in fields and fields["status"] not in allowed:
            self.skip(table, rid, f"status {fields['status']!r} is not one of {', '.join(sorted(allowed))}",
                      (category,) if category in EVENT_PARTS.get(table, ()) else ())
            return
        values = dict(_DEFAULTS[model])
        values.update(fields)
        values["codes"] = list(fields["codes"])
        self.records[category].append(_build(model, values))

    def map_condition_occurrence(self, r: tuple, table: str = "condition_occurrence") -> None:
        got = self.identity(table, r)
        if got is None:
            return
        rec, _ = got
        rec.update(onset=r[START], abatement=r[END], status=self.status(table, r, _DEFAULT_STATUS[table](r)))
        self.add("conditions", Condition, table, r[ID], rec)

    def map_device_exposure(self, r: tuple) -> None:
        """A device exposure is the device in or on the person from its start to its end: rule files read
        implants (pacemaker, cochlear implant) with has_condition."""
        self.map_condition_occurrence(r, "device_exposure")

    def map_drug_exposure(self, r: tuple) -> None:
        table = "drug_exposure"
        got = self.identity(table, r)
        if got is None:
            return
        rec, c = got
        if self.is_immunization(c, rec):
            rec.update(date=r[START], status=self.status(table, r, "completed"))
            self.add("immunizations", Immunization, table, r[ID], rec)
            return
        rec.update(start=r[START], stop=r[END], status=self.status(table, r, _DEFAULT_STATUS[table](r)))
        self.add("medications", Medication, table, r[ID], rec)

    def is_immunization(self, c: Concept, rec: dict) -> bool:
        if c.vocabulary in self.m.immunization_vocabularies:
            return True
        if c.vocabulary == self.m.record_vocabulary:  # made by `screening load`: its class says which
            return c.concept_class == "Immunization"
        codes = [rec.get("code")] + rec.get("codes", [])
        return any(code and code.lower().startswith(self.m.immunization_code_prefixes) for code in codes)

    def map_procedure_occurrence(self, r: tuple) -> None:
        table = "procedure_occurrence"
        got = self.identity(table, r)
        if got is None:
            return
        rec, _ = got
        rec.update(date=r[START], end=r[END], status=self.status(table, r, "completed"))
        self.add("procedures", Procedure, table, r[ID], rec)

    def value(self, table: str, r: tuple) -> tuple[Any, str | None, str | None]:
        """(value, unit, problem) of a measurement or observation row; value None when it has none."""
        number, vcid = r[NUMBER], r[VALUE_CONCEPT]
        if number is not None:
            if not math.isfinite(number):
                return None, None, f"value_as_number {number} is not a number"
            unit, problem = self.unit(r)
            if problem:
                return None, None, problem
            value: Any = int(number) if float(number).is_integer() and abs(number) < 1e15 else float(number)
            op = r[OPERATOR]
            if op:
                c = self.c.get(op)
                symbol = c.code if c is not None and c.vocabulary == self.m.operator_vocabulary else \
                    self.m.operators.get(op)
                if symbol is None:
                    return None, None, f"operator concept {op} is not a known comparison operator"
                if symbol != "=":
                    value = f"{symbol}{value}"
            return value, unit, None
        if vcid:
            vc = self.c.get(vcid)
            if vc is None:
                return None, None, f"value concept {vcid} is not in the concept table"
            key = (vc.profile_code or "").lower()
            if key in self.m.yes_no_values:
                return self.m.yes_no_values[key], None, None
            if key in self.m.coded_values:
                return self.m.coded_values[key], None, None
            if vc.name:
                return vc.name, None, None
            return None, None, f"value concept {vc.label} has no name"
        # a value written as text ('1.5', '< 0.5', '1:160') keeps its unit as a number does: the engine reads
        # numbers and bounds in text, and without the unit it could not convert them
        if r[VALUE_STRING]:
            unit, problem = self.unit(r)
            return (None, None, problem) if problem else (r[VALUE_STRING], unit, None)
        text = r[VALUE_SOURCE]
        if text and text.strip():
            unit, problem = self.unit(r)
            return (None, None, problem) if problem else (self.m.semantic_tag.sub("", text.strip()), unit, None)
        return None, None, None

    def unit(self, r: tuple) -> tuple[str | None, str | None]:
        ucid, usv = r[UNIT_CONCEPT], r[UNIT_SOURCE]
        if ucid:
            u = self.c.get(ucid)
            if u is not None and u.vocabulary == "UCUM" and u.code:
                return u.code, None
            if usv and usv.strip():
                return usv.strip(), None
            if u is None:
                return None, f"unit concept {ucid} is not in the concept table"
            return None, f"unit concept {u.label} is not a UCUM unit"
        return (usv.strip() if usv and usv.strip() else None), None

    def map_measurement(self, r: tuple, table: str = "measurement") -> None:
        got = self.identity(table, r)
        if got is None:
            return
        rec, c = got
        value, unit, problem = self.value(table, r)
        if problem:
            self.skip(table, r[ID], f"{c.label}: {problem}")
            return
        if value is None:
            if table == "observation" and c.vocabulary in self.m.presence_vocabularies:
                rec.update(value=True, date=r[START])
                self.add("facts", Fact, table, r[ID], rec)
                return
            self.skip(table, r[ID], f"{c.label}: no value recorded")
            return
        if table == "observation" and isinstance(value, bool):
            rec.update(value=value, date=r[START])
            self.add("facts", Fact, table, r[ID], rec)
            return
        if r[START] is None:
            self.skip(table, r[ID], f"{c.label}: no date")
            return
        rec.update(value=value, unit=unit, date=r[START], status=self.status(table, r, "final"))
        low, high = (_finite(r[RANGE_LOW]), _finite(r[RANGE_HIGH])) if len(r) > RANGE_HIGH else (None, None)
        if low is not None or high is not None:  # range_low/high are in the measurement's own unit
            rec["reference_range"] = ReferenceRange(low=low, high=high)
        self.add("observations", Observation, table, r[ID], rec)

    def map_observation(self, r: tuple) -> None:
        self.map_measurement(r, "observation")

    def death(self, d: tuple) -> None:
        pid, day, cause, cause_value = d
        source = f"death/{pid}"
        c = self.c.get(cause)
        if c is not None:
            source += f" (cause {c.profile_code or c.label}" + (f" {c.name}" if c.name and c.profile_code else "") + ")"
        elif cause_value:
            source += f" (cause source value {cause_value!r})"
        self.add("facts", Fact, "death", pid, {"code": self.m.death_codes[0], "codes": list(self.m.death_codes[1:]),
                                               "name": self.m.death_name, "value": True, "date": day,
                                               "source": source})


def read_patients(spec: str, *, schema: str | None = None, vocabulary: str | None = None,
                  as_of: dt.date | None = None, persons: Iterable[Any] | None = None,
                  completeness: str = "observation-period") -> Iterator[tuple[Patient, str]]:
    """(patient, location) for every person (or those ``persons``) of the OMOP database ``spec``."""
    with OmopSource.open(spec, schema, vocabulary, as_of=as_of, persons=persons,
                         completeness=completeness) as source:
        yield from source


def row_mapper(source: OmopSource, table: str, status: str | None = None) -> _Builder:
    """The reader's mapping of single rows of ``table`` (stand-in person 0, row id 0, recorded ``status``):
    the SQL path maps each distinct concept and value once with it, exactly as the reader maps rows."""
    statuses = {(table, 0): status} if status is not None else {}
    return _Builder(source, _Person((0,) * 8, [], [], 0, {}, statuses, []))
