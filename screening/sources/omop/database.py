"""Opening an OMOP CDM database: a folder of CSV or Parquet files, a DuckDB file, or a PostgreSQL schema.

Every table screening reads is seen through one typed view (the columns and types of ``cdm.TABLES``,
a column the source lacks is NULL), so the same SQL runs on every source: DuckDB views over the
files (CSV is loaded into memory once, with its types checked; Parquet and DuckDB files are read in
place), or, for PostgreSQL, subqueries over the schema's tables run by the server. Nothing is written
to the source.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from ...errors import InputError, Problem
from .cdm import TABLES, Table


class OmopError(InputError):
    """An OMOP database that cannot be opened or read: a missing table, a column of the wrong type."""


_POSTGRES = re.compile(r"^postgres(ql)?://", re.I)


def is_database(spec: str | os.PathLike) -> bool:
    """True when ``spec`` names an OMOP database (a PostgreSQL URL, a DuckDB file, a folder of CDM tables)."""
    text = str(spec)
    if _POSTGRES.match(text):
        return True
    p = Path(text)
    if p.is_file():
        return p.suffix.lower() in (".duckdb", ".ddb", ".db")
    return p.is_dir() and bool(_table_files(p))


def open_database(spec: str | os.PathLike, schema: str | None = None,
                  vocabulary: str | os.PathLike | None = None, engine: str | None = None,
                  spark: Any = None) -> "OmopDatabase":
    """Open an OMOP CDM database for reading.

    ``spec``: a folder of CSV or Parquet files (one per table, any case: PERSON.csv, person.parquet),
    a DuckDB file, or a PostgreSQL URL (``postgresql://user@host:5432/db``) with ``schema``.
    ``vocabulary``: a folder of vocabulary tables (concept, concept_relationship, concept_ancestor,
    e.g. an Athena download) used instead of those of ``spec``.
    ``engine='spark'``: a folder of Parquet files read by Spark (``spark``: a SparkSession to use, else
    one is made for ``SCREENING_SPARK_MASTER``, local[2] by default; see docs/sql.md).
    """
    text = str(spec)
    if engine == "spark":
        if _POSTGRES.match(text) or vocabulary is not None:
            raise OmopError(Problem("Spark reads a folder of Parquet files (with its vocabulary tables)", text))
        db: OmopDatabase = _SparkDatabase.from_folder(Path(text), spark)
        if "person" not in db.tables:
            db.close()
            raise OmopError(Problem("not an OMOP CDM database: no person table", text))
        return db
    if _POSTGRES.match(text):
        db = _PostgresDatabase(text, schema or "public")
    else:
        p = Path(text)
        if not p.exists():
            raise OmopError(Problem("no such file or directory", text))
        if p.is_dir():
            db = _DuckDatabase.from_folder(p)
        else:
            db = _DuckDatabase.from_file(p, schema)
    if vocabulary is not None:
        db.use_vocabulary(Path(vocabulary))
    if "person" not in db.tables:
        db.close()
        raise OmopError(Problem("not an OMOP CDM database: no person table", text))
    return db


class OmopDatabase:
    """An open OMOP database: typed table references and a query runner; a context manager."""

    engine = "?"

    def __init__(self, location: str):
        self.location = location  # how errors and record locations name the database
        self.tables: set[str] = set()

    def ref(self, table: str) -> str:
        """SQL to put in a FROM clause for ``table`` (a typed view or subquery; give it an alias)."""
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple]:
        """Run ``sql`` and return its rows; OmopError naming the database on failure."""
        raise NotImplementedError

    def has(self, table: str) -> bool:
        return table in self.tables

    def fingerprint(self) -> str:
        """What a batch resume checks is unchanged. A database server: each table's row count and the
        persons' ids in order (a hash of its whole content would read all of it)."""
        import hashlib

        digest = hashlib.sha256()
        for table in sorted(self.tables):
            ((n,),) = self.rows(f"SELECT count(*) FROM {self.ref(table)} AS t")
            digest.update(f"{table}\0{n}\0".encode())
        for (pid,) in self.rows(f"SELECT person_id FROM {self.ref('person')} AS p ORDER BY person_id"):
            digest.update(f"{pid}\0".encode())
        return digest.hexdigest()

    def use_vocabulary(self, folder: Path) -> None:
        raise OmopError(Problem("a separate vocabulary folder is supported for file and DuckDB sources only",
                                self.location))

    def close(self) -> None:
        pass

    def __enter__(self) -> "OmopDatabase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _table_files(folder: Path) -> dict[str, Path]:
    """CDM table name -> its file in ``folder`` (CSV, compressed CSV or Parquet; names in any case)."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return found
    for e in entries:
        if e.name.startswith(".") or not e.is_file():  # '._person.csv': macOS resource forks
            continue
        lower = e.name.lower()
        for ext in (".csv", ".csv.gz", ".parquet", ".tsv"):
            if lower.endswith(ext) and lower[: -len(ext)] in TABLES:
                found.setdefault(lower[: -len(ext)], Path(e.path))
    return found


_FLOATS = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")


def _typed_select(table: Table, present: Iterable[str], source: str, dialect: str, text_source: bool,
                  types: dict[str, str] | None = None) -> str:
    """SELECT of ``table``'s columns from ``source`` cast to their CDM types (NULL where absent).

    A text column stored as a floating-point number (a Parquet export that typed source codes as
    numbers: 195662009.0) is read back as the integer text it was (195662009).
    """
    lower = {c.lower(): c for c in present}
    types = {k.lower(): v.upper() for k, v in (types or {}).items()}
    parts = []
    for col, typ in table.columns:
        sql_type = "DOUBLE PRECISION" if (typ == "DOUBLE" and dialect == "postgres") else typ
        if col not in lower:
            parts.append(f"CAST(NULL AS {sql_type}) AS {col}")
            continue
        src = f'"{lower[col]}"'
        if text_source:
            src = f"NULLIF(TRIM({src}), '')"
            if typ == "DATE":  # ISO dates, timestamps, or Athena's YYYYMMDD
                parts.append(f"CASE WHEN regexp_full_match({src}, '[0-9]{{8}}') THEN CAST(strptime({src}, '%Y%m%d') "
                             f"AS DATE) ELSE CAST({src} AS DATE) END AS {col}")
                continue
        elif typ == "VARCHAR" and types.get(col, "").startswith(_FLOATS):
            parts.append(f"CASE WHEN {src} = FLOOR({src}) AND ABS({src}) < 1e15 THEN CAST(CAST({src} AS BIGINT) AS "
                         f"VARCHAR) ELSE CAST({src} AS VARCHAR) END AS {col}")
            continue
        parts.append(f"CAST({src} AS {sql_type}) AS {col}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def _duck_error(err: Exception) -> str:
    return str(err).split("\n")[0]


class _DuckDatabase(OmopDatabase):
    """Files or a DuckDB file seen through typed views in an in-memory DuckDB."""

    engine = "duckdb"

    def __init__(self, location: str):
        import duckdb

        super().__init__(location)
        self._duckdb = duckdb
        self.con = duckdb.connect(":memory:")
        self.sources: dict[str, str] = {}  # table -> where it comes from (a file or a schema table)
        self._pending: dict[str, str] = {}  # CSV tables not loaded yet: table -> their typed SELECT

    @classmethod
    def from_folder(cls, folder: Path) -> "_DuckDatabase":
        files = _table_files(folder)
        db = cls(str(folder))
        if not files:
            raise OmopError(Problem("no OMOP table files here (person.csv or person.parquet ...)", str(folder)))
        for name, path in files.items():
            db._add_file(name, path)
        return db

    @classmethod
    def from_file(cls, path: Path, schema: str | None) -> "_DuckDatabase":
        db = cls(str(path))
        try:
            db.con.execute(f"ATTACH {_quote_literal(str(path))} AS src (READ_ONLY)")
        except db._duckdb.Error as err:
            db.close()
            raise OmopError(Problem(f"cannot open as a DuckDB database: {_duck_error(err)} (a file written by an "
                                    "old DuckDB version cannot be read: export it to CSV or Parquet)",
                                    str(path))) from None
        rows = db.con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                              "WHERE table_catalog = 'src'").fetchall()
        schemas = {s for s, _ in rows}
        if schema is None:
            with_person = sorted(s for s, t in rows if t.lower() == "person")
            schema = "main" if "main" in with_person or not with_person else with_person[0]
        elif schema not in schemas:
            db.close()
            raise OmopError(Problem(f"no schema {schema!r} in this database (schemas: {', '.join(sorted(schemas))})",
                                    str(path)))
        for s, t in rows:
            if s == schema and t.lower() in TABLES:
                described = db.con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = 'src' "
                    "AND table_schema = ? AND table_name = ?", [s, t]).fetchall()
                db._view(t.lower(), [r[0] for r in described], f'src."{s}"."{t}"', text_source=False,
                         types=dict(described))
        return db

    def _add_file(self, name: str, path: Path) -> None:
        lit = _quote_literal(str(path))
        is_parquet = path.name.lower().endswith(".parquet")
        if is_parquet:
            source = f"read_parquet({lit})"
        else:  # the dialect is given, not sniffed (sniffing costs seconds): comma, or tab as Athena writes
            delim = "\\t" if _first_line(path).count("\t") > _first_line(path).count(",") else ","
            source = (f"read_csv({lit}, header = true, all_varchar = true, delim = '{delim}', quote = '\"', "
                      "escape = '\"')")
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except self._duckdb.Error as err:
            raise OmopError(Problem(f"cannot read table {name}: {_duck_error(err)}", str(path))) from None
        self._view(name, [r[0] for r in described], source, text_source=not is_parquet, materialise=not is_parquet,
                   where=str(path), types={r[0]: r[1] for r in described})

    def _view(self, name: str, cols: Sequence[str], source: str, text_source: bool, materialise: bool = False,
              where: str | None = None, types: dict[str, str] | None = None) -> None:
        table = TABLES[name]
        missing = [c for c in table.required if c not in {x.lower() for x in cols}]
        if missing:
            raise OmopError(Problem(f"table {name} lacks the column(s) {', '.join(missing)}", where or self.location))
        select = _typed_select(table, cols, source, "duckdb", text_source, types)
        self.tables.add(name)
        self.sources[name] = where or source
        if materialise:  # CSV: parsed and type-checked once, on first use
            self._pending[name] = select
            return
        try:
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")
            self.con.execute(f"SELECT * FROM {name} LIMIT 1").fetchall()  # a type error shows now, not mid-run
        except self._duckdb.Error as err:
            raise OmopError(Problem(f"table {name}: {_duck_error(err)}", where or self.location)) from None

    def fingerprint(self) -> str:
        """What a batch resume checks is unchanged: every file read (the DuckDB file, or the CSV and
        Parquet files of the folder and of a vocabulary folder) by its path, size and SHA-256."""
        import hashlib

        from ..files import file_sha256

        files = {os.path.abspath(s) for s in self.sources.values() if os.path.isfile(s)}
        if os.path.isfile(self.location):
            files.add(os.path.abspath(self.location))
        digest = hashlib.sha256()
        for path in sorted(files):
            digest.update(f"{path}\0{os.path.getsize(path)}\0".encode())
            digest.update(file_sha256(path))
        return digest.hexdigest()

    def use_vocabulary(self, folder: Path) -> None:
        files = _table_files(folder)
        vocab = {n: p for n, p in files.items() if TABLES[n].vocabulary}
        if "concept" not in vocab:
            raise OmopError(Problem("no concept table (concept.csv or concept.parquet) in the vocabulary folder",
                                    str(folder)))
        for name in ("concept", "concept_relationship", "concept_ancestor"):
            if name in self.tables and name not in vocab:
                self._drop(name)
        for name, path in vocab.items():
            self._drop(name)
            self._add_file(name, path)

    def _drop(self, name: str) -> None:
        self._pending.pop(name, None)
        if name in self.tables:
            kind = self.con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ? "
                                    "AND table_catalog = current_database()", [name]).fetchall()
            if kind:
                self.con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {name}")
            self.tables.discard(name)

    def ref(self, table: str) -> str:
        select = self._pending.pop(table, None)
        if select is not None:
            try:
                self.con.execute(f"CREATE TABLE {table} AS {select}")
            except self._duckdb.Error as err:
                self.tables.discard(table)
                raise OmopError(Problem(f"table {table}: {_duck_error(err)}", self.sources.get(table, self.location))
                                ) from None
        return table

    def rows(self, sql: str) -> list[tuple]:
        try:
            return self.con.execute(sql).fetchall()
        except self._duckdb.Error as err:
            raise OmopError(Problem(f"query failed: {_duck_error(err)}", self.location)) from None

    def arrow(self, sql: str) -> Any:
        """The result of ``sql`` as a pyarrow Table (DuckDB sources)."""
        try:
            return self.con.execute(sql).fetch_arrow_table()
        except self._duckdb.Error as err:
            raise OmopError(Problem(f"query failed: {_duck_error(err)}", self.location)) from None

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:  # already closed
            pass


def _first_line(path: Path) -> str:
    """The header line of a CSV file (gzip-compressed or not)."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
            return fh.readline()
    except OSError as err:
        raise OmopError(Problem(f"cannot read: {err.strerror or err}", str(path))) from None


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote_ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class _PostgresDatabase(OmopDatabase):
    """A PostgreSQL schema; queries run on the server (psycopg), one typed subquery per table."""

    engine = "postgres"

    def __init__(self, url: str, schema: str):
        try:
            import psycopg
        except ImportError:  # pragma: no cover - a declared dependency
            raise OmopError(Problem("PostgreSQL input needs the psycopg package", url)) from None
        super().__init__(f"{_redact(url)} schema {schema}")
        self._psycopg = psycopg
        self.schema = schema
        try:
            self.con = psycopg.connect(url, autocommit=True)
        except psycopg.Error as err:
            raise OmopError(Problem(f"cannot connect: {str(err).strip().splitlines()[0]}", _redact(url))) from None
        cols: dict[str, list[str]] = {}
        for table, column in self.con.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
                "ORDER BY table_name, ordinal_position", (schema,)).fetchall():
            if table.lower() in TABLES:
                cols.setdefault(table, []).append(column)
        self._refs: dict[str, str] = {}
        for table, columns in cols.items():
            name = table.lower()
            spec = TABLES[name]
            missing = [c for c in spec.required if c not in {x.lower() for x in columns}]
            if missing:
                raise OmopError(Problem(f"table {name} lacks the column(s) {', '.join(missing)}", self.location))
            select = _typed_select(spec, columns, f"{_quote_ident(schema)}.{_quote_ident(table)}", "postgres", False)
            self._refs[name] = f"({select})"
            self.tables.add(name)

    def ref(self, table: str) -> str:
        return self._refs[table]

    def rows(self, sql: str) -> list[tuple]:
        try:
            return self.con.execute(sql).fetchall()
        except self._psycopg.Error as err:
            raise OmopError(Problem(f"query failed: {str(err).strip().splitlines()[0]}", self.location)) from None

    def close(self) -> None:
        self.con.close()


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def spark_session(master: str | None = None) -> Any:
    """A SparkSession for the SQL path: ``master`` or $SCREENING_SPARK_MASTER (``spark://host:7077``, ``yarn``,
    ``k8s://...``), else local mode on two cores; an active session (spark-submit, a notebook) is reused."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise OmopError(Problem("the Spark engine needs PySpark: pip install 'screening[spark]'", "spark")) from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName("screening").master(
        master or os.environ.get("SCREENING_SPARK_MASTER", "local[2]"))
    if (master or os.environ.get("SCREENING_SPARK_MASTER", "local")).startswith("local"):
        # one machine: few partitions, and the plan interpreted rather than compiled (the screening query
        # is wide: compiling its Java costs more than running it)
        # the driver is the executor in local mode: 1 GB (Spark's default) runs out on the wide screening
        # query of 100,000 persons ($SCREENING_SPARK_DRIVER_MEMORY, read when the JVM starts)
        builder = builder.config("spark.driver.memory", os.environ.get("SCREENING_SPARK_DRIVER_MEMORY", "4g"))
        # the screening query joins a hundred-odd per-atom results: each sort-merge join holds a page per
        # task, so pages of Spark's default size (up to 64 MB) exhaust the heap; small pages do not
        for key, value in (("spark.ui.enabled", "false"), ("spark.sql.shuffle.partitions", "2"),
                           ("spark.buffer.pageSize", "1m"),
                           ("spark.sql.adaptive.enabled", "false"), ("spark.sql.codegen.wholeStage", "false"),
                           ("spark.sql.codegen.factoryMode", "NO_CODEGEN")):
            builder = builder.config(key, value)
    return builder.getOrCreate()


class _SparkCursor:
    """What ``execute`` gives: the rows of a Spark query as tuples."""

    def __init__(self, frame: Any):
        self.frame = frame

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self.frame.collect()]


class _SparkDatabase(OmopDatabase):
    """A folder of Parquet files read by Spark: each table a typed temporary view. Statements are written in
    DuckDB's SQL and transpiled by sqlglot to Spark SQL (``spark_sql``)."""

    engine = "spark"

    def __init__(self, location: str, spark: Any = None):
        super().__init__(location)
        self.spark = spark if spark is not None else spark_session()
        self.con = self
        self.views: list[str] = []

    @classmethod
    def from_folder(cls, folder: Path, spark: Any = None) -> "_SparkDatabase":
        files = _table_files(folder)
        if not files:
            raise OmopError(Problem("no OMOP table files here (person.parquet ...)", str(folder)))
        others = sorted(n for n, p in files.items() if not p.name.lower().endswith(".parquet"))
        if others:
            raise OmopError(Problem(f"Spark reads Parquet files: {', '.join(others)} are not Parquet", str(folder)))
        db = cls(str(folder), spark)
        for name, path in files.items():
            frame = db.spark.read.parquet(str(path.resolve()))
            raw = f"screening_src_{name}"
            frame.createOrReplaceTempView(raw)
            db.views.append(raw)
            table = TABLES[name]
            cols = frame.columns
            missing = [c for c in table.required if c not in {x.lower() for x in cols}]
            if missing:
                raise OmopError(Problem(f"table {name} lacks the column(s) {', '.join(missing)}", str(path)))
            select = _typed_select(table, cols, raw, "duckdb", False, {c: t.upper() for c, t in frame.dtypes})
            db.spark.sql(spark_sql(select)).createOrReplaceTempView(name)
            db.views.append(name)
            db.tables.add(name)
        return db

    def ref(self, table: str) -> str:
        return table

    def execute(self, sql: str) -> _SparkCursor:
        """Run one statement written in DuckDB's SQL."""
        try:
            return _SparkCursor(self.spark.sql(spark_sql(sql)))
        except Exception as err:  # pyspark's AnalysisException and friends
            raise OmopError(Problem(f"query failed: {str(err).strip().splitlines()[0]}", self.location)) from None

    def rows(self, sql: str) -> list[tuple]:
        return self.execute(sql).fetchall()

    def materialise(self, name: str, sql: str) -> None:
        """A temporary view holding the result of ``sql`` computed once (checkpointed, not recomputed)."""
        frame = self.spark.sql(spark_sql(sql)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def frame(self, name: str, columns: str, rows: list[tuple]) -> None:
        """A temporary view of rows computed in Python, with ``columns`` as DuckDB declares them."""
        schema = re.sub(r"\bVARCHAR\b", "STRING", columns)
        self.spark.createDataFrame([tuple(r) for r in rows], schema=schema).createOrReplaceTempView(name)
        self.views.append(name)

    def close(self) -> None:
        for v in dict.fromkeys(self.views):
            self.spark.catalog.dropTempView(v)
        self.views = []


def spark_sql(sql: str) -> str:
    """A statement written in DuckDB's SQL as Spark SQL (sqlglot)."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]
