"""Native profiles written as OMOP CDM tables (`screening load`): a DuckDB file or a folder of Parquet files.

Each profile becomes a person (person_id 1, 2, ... in input order; person_source_value = the
profile's id) and its records rows of condition_occurrence, drug_exposure (medications and
immunizations), procedure_occurrence, measurement (observations) and observation (yes/no facts).
Reading the result back (``OmopSource``) gives profiles that screen exactly like the originals:

* every distinct record identity (its name and codes) gets a concept of the vocabulary
  'Screening record' whose concept_name is the record's name, and concept_ancestor rows from
  the concepts of its codes, so the reader (and the SQL path, which expands concept sets through
  concept_ancestor) finds every code; codes are concepts of their vocabulary (looked up in a given
  vocabulary, or made with deterministic ids above 2,000,000,000, OMOP's range for local concepts);
* statuses OMOP has no column for go to the extension table screening_status, and the profile's
  declared completeness to screening_complete;
* the profile's ``source`` references are kept as the rows' *_source_value, so reasons still cite them;
* OMOP dates are days: a condition's onset or abatement known only to an interval (``onset_earliest`` /
  ``onset_latest``: an age, a year, a period, the recorded date) is written as NULL, never as one day of
  the interval (which would read back as exact), and counted in ``LoadSummary.imprecise_dates``. Such a
  record reads back undated, on the Python path and in SQL alike, and is read as any undated condition
  is: a window its interval decided is unknown; it is seen on every screening date (also one before its
  interval), and an active one counts as present.

Rows are written in batches through Arrow (DuckDB reads the Arrow table; Parquet row groups are
written as they come), never one INSERT per row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ...errors import InputError, PatientError, Problem, UnitError
from ...model.patient import Patient
from ...values.units import conversion_factor
from .cdm import TABLES
from .concepts import Mapping, mapping
from .database import OmopError, open_database
from .reader import NOT_READ

LOCAL_BASE = 2_000_000_000  # OMOP: concept ids above 2 billion are site-local concepts
LOCAL_SPAN = 100_000_000

# The tables `load` writes, and the columns of each it fills (the rest of cdm.TABLES' columns are NULL).
OUTPUT_TABLES = ("person", "condition_occurrence", "drug_exposure", "procedure_occurrence", "measurement",
                 "observation", "death", "screening_status", "screening_complete", "concept", "concept_ancestor")

_BOUND = re.compile(r"^(<=|>=|<|>)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$")
_CLASS = {"conditions": ("Condition", "Condition"), "medications": ("Drug", "Medication"),
          "immunizations": ("Drug", "Immunization"), "procedures": ("Procedure", "Procedure"),
          "observations": ("Measurement", "Measurement"), "facts": ("Observation", "Fact")}


@dataclass
class LoadSummary:
    """What a load wrote: persons, rows per table, concepts, and the inputs that could not be read."""

    out: str
    persons: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    concepts: int = 0
    local_concepts: int = 0
    problems: list[Problem] = field(default_factory=list)
    imprecise_dates: int = 0  # condition onsets and abatements known only to an interval: written as NULL


def _format_number(x: float | int) -> str:
    """A number as the reader writes it back in a bound ('<0.5', '>1280')."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)
    return str(x)


class _Concepts:
    """The concepts a load uses: looked up in a vocabulary when given, else made locally."""

    def __init__(self, m: Mapping, vocabulary_db=None):
        self.m = m
        self.vocab = vocabulary_db
        self.ids: dict[tuple[str, str], int] = {}
        self.rows: dict[int, tuple] = {}  # concept_id -> concept row
        self.taken: set[int] = set()
        self.ancestors: list[tuple[int, int]] = []
        self.local = 0
        self._identities: dict[tuple, int] = {}

    def _local_id(self, vocabulary: str, code: str) -> int:
        digest = hashlib.sha1(f"{vocabulary}\0{code}".encode()).digest()
        cid = LOCAL_BASE + int.from_bytes(digest[:8], "big") % LOCAL_SPAN
        while cid in self.taken:  # a collision: the next free id (deterministic for the same input)
            cid += 1
        return cid

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Look the keys not seen yet up in the vocabulary (one query per batch)."""
        todo = sorted({k for k in keys if k not in self.ids})
        if not todo or self.vocab is None or not self.vocab.has("concept"):
            return
        c = self.vocab.ref("concept")
        for i in range(0, len(todo), 2000):
            part = todo[i:i + 2000]
            cond = " OR ".join(f"(vocabulary_id = {_lit(v)} AND concept_code = {_lit(k)})" for v, k in part)
            for row in self.vocab.rows("SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, "
                                       f"standard_concept, concept_code FROM {c} AS c WHERE {cond}"):
                key = (row[3], row[6])
                if key not in self.ids:
                    self.ids[key] = row[0]
                    self.taken.add(row[0])
                    self.rows[row[0]] = row

    def concept(self, vocabulary: str, code: str, name: str | None = None, domain: str = "",
                concept_class: str = "", standard: str | None = None, fixed_id: int | None = None) -> int:
        key = (vocabulary, code)
        cid = self.ids.get(key)
        if cid is not None:
            return cid
        if fixed_id is not None and fixed_id not in self.taken:
            cid = fixed_id
        else:
            cid = self._local_id(vocabulary, code)
            self.local += 1
        self.ids[key] = cid
        self.taken.add(cid)
        self.rows[cid] = (cid, name if name is not None else code, domain, vocabulary, concept_class, standard, code)
        return cid

    def code(self, code: str) -> int:
        vocabulary, concept_code = self.m.omop_code(code)
        return self.concept(vocabulary, concept_code, code)

    def text_value(self, text: str) -> int:
        """A value concept whose name is ``text`` as written (a concept of the record vocabulary: no code)."""
        code = hashlib.sha1(json.dumps(["value", text], ensure_ascii=False).encode()).hexdigest()[:20]
        return self.concept(self.m.record_vocabulary, code, text, "Meas Value", "Answer")

    def identity(self, category: str, name: str | None, codes: tuple[str, ...]) -> int:
        """The concept of one record identity: its name, and its codes as ancestors."""
        key = (category, name, codes)
        cid = self._identities.get(key)
        if cid is not None:
            return cid
        domain, concept_class = _CLASS[category]
        text = json.dumps([category, name, list(codes)], ensure_ascii=False)
        code = hashlib.sha1(text.encode()).hexdigest()[:20]
        cid = self.concept(self.m.record_vocabulary, code, name or "", domain, concept_class)
        for c in dict.fromkeys(codes):
            self.ancestors.append((self.code(c), cid))
        self._identities[key] = cid
        return cid


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Writer:
    """Columns of one batch per table, flushed to DuckDB or Parquet through Arrow."""

    def __init__(self, out: Path, kind: str):
        import pyarrow as pa

        self.pa = pa
        self.out = out
        self.kind = kind
        self.rows: dict[str, list[tuple]] = {t: [] for t in OUTPUT_TABLES}
        self.counts: dict[str, int] = {t: 0 for t in OUTPUT_TABLES}
        self.schemas = {t: pa.schema([(c, _ARROW[typ](pa)) for c, typ in TABLES[t].columns]) for t in OUTPUT_TABLES}
        self._parquet: dict[str, Any] = {}
        if kind == "duckdb":
            import duckdb

            self.con = duckdb.connect(str(out))
            for t in OUTPUT_TABLES:
                cols = ", ".join(f"{c} {typ}" for c, typ in TABLES[t].columns)
                self.con.execute(f"CREATE TABLE {t} ({cols})")

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        for t, rows in self.rows.items():
            if not rows:
                continue
            schema = self.schemas[t]
            columns = list(zip(*rows))
            arrays = [self.pa.array(col, type=f.type) for col, f in zip(columns, schema)]
            batch = self.pa.Table.from_arrays(arrays, schema=schema)
            if self.kind == "duckdb":
                self.con.register("_batch", batch)
                self.con.execute(f"INSERT INTO {t} SELECT * FROM _batch")
                self.con.unregister("_batch")
            else:
                import pyarrow.parquet as pq

                w = self._parquet.get(t)
                if w is None:
                    w = self._parquet[t] = pq.ParquetWriter(str(self.out / f"{t}.parquet"), schema)
                w.write_table(batch)
            self.counts[t] += len(rows)
            rows.clear()

    def close(self) -> None:
        self.flush()
        if self.kind == "duckdb":
            self.con.close()
            return
        import pyarrow.parquet as pq

        for t in OUTPUT_TABLES:  # every table exists, empty ones too (a reader sees the schema)
            if t in self._parquet:
                self._parquet[t].close()
            else:
                pq.write_table(self.schemas[t].empty_table(), str(self.out / f"{t}.parquet"))


_ARROW = {"BIGINT": lambda pa: pa.int64(), "DOUBLE": lambda pa: pa.float64(), "DATE": lambda pa: pa.date32(),
          "TIMESTAMP": lambda pa: pa.timestamp("us"), "VARCHAR": lambda pa: pa.string()}


_COLUMNS = {t: TABLES[t].column_names for t in OUTPUT_TABLES}


def _row(table: str, **values: Any) -> tuple:
    return tuple(map(values.get, _COLUMNS[table]))


@dataclass(frozen=True)
class _Events:
    """How one part of the profile is written as a dated OMOP event table: its columns are named
    '<prefix>_concept_id', '<prefix>_type_concept_id', '<prefix>_source_value' ..., its dates come
    from the records' ``start`` and ``end`` fields, and a status other than ``usual`` goes to
    screening_status."""

    part: str
    table: str
    prefix: str
    start: tuple[str, str]  # (record field, column)
    end: tuple[str, str]
    usual: Callable[[Any], str]


_EVENTS = (
    _Events("conditions", "condition_occurrence", "condition", ("onset", "condition_start_date"),
            ("abatement", "condition_end_date"), lambda r: "resolved" if r.abatement else "active"),
    _Events("medications", "drug_exposure", "drug", ("start", "drug_exposure_start_date"),
            ("stop", "drug_exposure_end_date"), lambda r: "completed" if r.stop else "active"),
    _Events("immunizations", "drug_exposure", "drug", ("date", "drug_exposure_start_date"),
            ("date", "drug_exposure_end_date"), lambda r: "completed"),
    _Events("procedures", "procedure_occurrence", "procedure", ("date", "procedure_date"),
            ("end", "procedure_end_date"), lambda r: "completed"),
)


class _Loader:
    """Maps profiles to rows; concept ids through ``_Concepts``."""

    def __init__(self, writer: _Writer, concepts: _Concepts, m: Mapping):
        self.w, self.c, self.m = writer, concepts, m
        self.person_id = 0
        self.next_id = {t: 0 for t in OUTPUT_TABLES}
        inverse: dict[str, str] = {}
        for code, word in m.raw.get("coded_values", {}).items():
            inverse.setdefault(word, code)
        self.word_code = inverse
        self.yes_no: dict[bool, str] = {}
        for code, value in m.raw.get("yes_no_values", {}).items():
            self.yes_no.setdefault(bool(value), code)  # the first listed: LOINC LA33-6 Yes, LA32-8 No
        self.gender_ids = {}
        for cid, sex in m.genders.items():
            self.gender_ids.setdefault(sex, cid)
        self.operator_ids = {sym: cid for cid, sym in m.operators.items()}
        self.imprecise_dates = 0

    def _id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    def keys(self, p: Patient) -> Iterator[tuple[str, str]]:
        """The (vocabulary, code) keys a profile needs, for one vocabulary look-up per batch."""
        for category in _CLASS:
            for r in getattr(p, category):
                for code in ([r.code] if r.code else []) + list(r.codes):
                    yield self.m.omop_code(code)

    def _concept_of(self, category: str, r: Any) -> int:
        codes = tuple(([r.code] if r.code else []) + list(r.codes))
        return self.c.identity(category, r.name, codes)

    def _status(self, pid: int, table: str, rid: int, status: str, default: str) -> None:
        if status != default:
            self.w.add("screening_status", _row("screening_status", person_id=pid, table_name=table, record_id=rid,
                                                 status=status))

    def _value_concept(self, code: str) -> int:
        return self.c.code(code)

    def load(self, p: Patient) -> None:
        self.person_id += 1
        pid = self.person_id
        w, m = self.w, self.m
        b = p.birth_date
        gender = self.gender_ids.get(p.sex, 0) if p.sex else 0
        if gender:
            code = next((k for k, v in m.gender_codes.items() if v == p.sex), None)
            if code:
                self.c.concept(m.gender_vocabulary, code, p.sex.upper(), "Gender", "Gender", "S", fixed_id=gender)
        w.add("person", _row("person", person_id=pid, gender_concept_id=gender,
                             year_of_birth=b.year if b else None, month_of_birth=b.month if b else None,
                             day_of_birth=b.day if b else None,
                             birth_datetime=dt.datetime(b.year, b.month, b.day) if b else None,
                             person_source_value=p.id))
        if p.deceased:  # the death date when known (NULL: deceased on a date not recorded)
            w.add("death", _row("death", person_id=pid, death_date=p.deceased_date, death_type_concept_id=0))
        for e in _EVENTS:
            for r in getattr(p, e.part):
                if e.part == "conditions":  # OMOP dates are days: an interval is not written as one of them
                    self.imprecise_dates += sum(1 for what in ("onset", "abatement")
                                                if getattr(r, f"{what}_earliest") or getattr(r, f"{what}_latest"))
                rid = self._id(e.table)
                w.add(e.table, _row(
                    e.table, **{f"{e.table}_id": rid, "person_id": pid,
                                f"{e.prefix}_concept_id": self._concept_of(e.part, r),
                                e.start[1]: getattr(r, e.start[0]), e.end[1]: getattr(r, e.end[0]),
                                f"{e.prefix}_type_concept_id": 0, f"{e.prefix}_source_value": r.source,
                                f"{e.prefix}_source_concept_id": 0}))
                self._status(pid, e.table, rid, r.status, e.usual(r))
        for r in p.observations:
            rid = self._id("measurement")
            fields = self._value(r.value, r.unit)
            rr = r.reference_range
            if rr is not None:  # OMOP keeps the limits in the value's own unit
                factor: float | None = 1.0
                if rr.unit not in (None, "", r.unit):
                    try:
                        factor = conversion_factor(rr.unit, r.unit or "dimensionless")
                    except UnitError:
                        factor = None  # limits in a unit the value's cannot take: not stored, so x_uln() is unknown
                if factor is not None:
                    fields.update(range_low=None if rr.low is None else rr.low * factor,
                                  range_high=None if rr.high is None else rr.high * factor)
            w.add("measurement", _row(
                "measurement", measurement_id=rid, person_id=pid,
                measurement_concept_id=self._concept_of("observations", r), measurement_date=r.date,
                measurement_type_concept_id=0, measurement_source_value=r.source,
                measurement_source_concept_id=0, **fields))
            self._status(pid, "measurement", rid, r.status, "final")
        for r in p.facts:
            rid = self._id("observation")
            w.add("observation", _row(
                "observation", observation_id=rid, person_id=pid,
                observation_concept_id=self._concept_of("facts", r), observation_date=r.date,
                observation_type_concept_id=0, value_as_concept_id=self._value_concept(self.yes_no[r.value]),
                observation_source_value=r.source, observation_source_concept_id=0))
        for category in p.complete:
            if str(category) in NOT_READ:  # not written here: never declared complete in the output
                continue
            w.add("screening_complete", _row("screening_complete", person_id=pid, category=str(category)))

    def _value(self, value: Any, unit: str | None) -> dict:
        """measurement columns for a profile value: a number, a bound, a yes/no, a coded word or text."""
        if isinstance(value, bool):
            return {"value_as_concept_id": self._value_concept(self.yes_no[value])}
        if isinstance(value, (int, float)):
            return {"value_as_number": float(value), "unit_source_value": unit, "unit_concept_id": self._unit(unit)}
        bound = _BOUND.match(value)
        if bound and f"{bound.group(1)}{_format_number(float(bound.group(2)))}" == value \
                and bound.group(1) in self.operator_ids:
            op = bound.group(1)
            op_id = self.c.concept(self.m.operator_vocabulary, op, op, "Meas Value Operator", "Meas Value Operator",
                                   "S", fixed_id=self.operator_ids[op])
            return {"value_as_number": float(bound.group(2)), "operator_concept_id": op_id,
                    "unit_source_value": unit, "unit_concept_id": self._unit(unit)}
        if value in self.word_code:
            return {"value_as_concept_id": self._value_concept(self.word_code[value])}
        if self.m.semantic_tag.sub("", value.strip()) != value.strip():
            # text the reader would shorten ('Detected (qualifier value)' is read as 'Detected' from
            # value_source_value): a value concept named by it, which reads back as written
            return {"value_as_concept_id": self.c.text_value(value)}
        return {"value_source_value": value, "unit_source_value": unit}

    def _unit(self, unit: str | None) -> int:
        if not unit:
            return 0
        cid = self.c.ids.get(("UCUM", unit))
        return cid if cid is not None and cid < LOCAL_BASE else 0


def load_profiles(patients: Iterable[Patient], out: str | os.PathLike, vocabulary: str | os.PathLike | None = None,
                  batch: int = 20_000, replace: bool = False) -> LoadSummary:
    """Write ``patients`` as OMOP tables to ``out`` (a .duckdb file, or a folder for Parquet files).

    ``vocabulary``: an OMOP database or vocabulary folder whose concept table gives real concept ids
    for the codes (else local ids). The output appears complete or not at all (written aside, then
    renamed); an existing output is replaced only with ``replace``.
    """
    out = Path(out)
    kind = "duckdb" if out.suffix.lower() in (".duckdb", ".ddb", ".db") else "parquet"
    if out.exists() and not replace and (kind == "duckdb" or any(out.iterdir())):
        raise OmopError(Problem("the output exists (give --replace to overwrite it)", str(out)))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    target = tmp / out.name if kind == "duckdb" else tmp / "tables"
    if kind == "parquet":
        target.mkdir()
    m = mapping()
    vocab = open_database(vocabulary) if vocabulary is not None else None
    summary = LoadSummary(str(out))
    try:
        writer = _Writer(target, kind)
        concepts = _Concepts(m, vocab)
        loader = _Loader(writer, concepts, m)
        pending: list[Patient] = []

        def flush() -> None:
            if vocab is not None:  # one vocabulary query per batch for the codes not seen yet
                keys = set()
                for p in pending:
                    keys.update(loader.keys(p))
                    keys.update(("UCUM", o.unit) for o in p.observations if o.unit)
                keys.update(m.omop_code(c) for c in list(loader.yes_no.values()) + list(loader.word_code.values()))
                concepts.prefetch(keys)
            for p in pending:
                loader.load(p)
            pending.clear()
            writer.flush()

        for p in patients:
            pending.append(p)
            summary.persons += 1
            if len(pending) >= batch:
                flush()
        flush()
        for cid, row in sorted(concepts.rows.items()):
            writer.add("concept", _row("concept", concept_id=row[0], concept_name=row[1], domain_id=row[2],
                                       vocabulary_id=row[3], concept_class_id=row[4], standard_concept=row[5],
                                       concept_code=row[6]))
        for anc, desc in sorted(set(concepts.ancestors)):
            writer.add("concept_ancestor", _row("concept_ancestor", ancestor_concept_id=anc,
                                                descendant_concept_id=desc, min_levels_of_separation=1,
                                                max_levels_of_separation=1))
        writer.close()
        summary.rows = {t: n for t, n in writer.counts.items()}
        summary.imprecise_dates = loader.imprecise_dates
        summary.concepts = len(concepts.rows)
        summary.local_concepts = sum(1 for cid in concepts.rows if cid >= LOCAL_BASE)
        if out.exists():
            if out.is_dir():
                shutil.rmtree(out)
            else:
                out.unlink()
        os.replace(target, out)
    finally:
        if vocab is not None:
            vocab.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def read_profiles(paths: Iterable[str | os.PathLike], problems: list[Problem]) -> Iterator[Patient]:
    """Profiles from files (a native profile or a FHIR Bundle), NDJSON files (one per line) and folders
    of ``*.json``; each input that cannot be read is added to ``problems`` (located) and skipped."""
    from ..files import patient_from_text

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
            if not files:
                problems.append(Problem("no *.json files in this directory", str(path)))
            yield from read_profiles(files, problems)
            continue
        if path.suffix.lower() in (".ndjson", ".jsonl"):
            yield from _ndjson(path, problems)
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            problems.append(Problem(f"cannot read: {reason}", str(path)))
            continue
        try:
            yield patient_from_text(text, str(path))
        except PatientError as err:
            problems.extend(err.problems)


def _ndjson(path: Path, problems: list[Problem]) -> Iterator[Patient]:
    """Profiles (or FHIR Bundles) of an NDJSON file, line by line; a bad line is a located problem."""
    from ..native import parse_patient

    try:
        fh = open(path, "rb")
    except OSError as err:
        problems.append(Problem(f"cannot read: {err.strerror}", str(path)))
        return
    with fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig")
                data = json.loads(line)
            except UnicodeDecodeError:
                problems.append(Problem("not UTF-8 text", str(path), n))
                continue
            except json.JSONDecodeError as err:
                problems.append(Problem(f"invalid JSON: {err.msg}", str(path), n, err.colno))
                continue
            try:
                if isinstance(data, dict) and data.get("resourceType") == "Bundle":
                    from ..fhir import bundle_to_patient

                    yield bundle_to_patient(data, str(path), text=line)
                else:
                    yield parse_patient(data, str(path), line)
            except InputError as err:
                problems.extend(Problem(p.message, p.file or str(path), n, p.column if p.line == 1 else None)
                                for p in err.problems)
