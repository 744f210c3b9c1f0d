"""The SQL path against the Python batch path, in the same run: synthetic persons loaded as OMOP tables
(`screening load`), optionally replicated inside DuckDB to a larger population, screened against the
four seed trials in SQL; the Python path screens a sample of the same profiles on one core, scaled up.

    python bench/sql_bench.py --n 10000 --replicate 1 --sample 1000
    python bench/sql_bench.py --n 10000 --replicate 100 --sample 1000     # 1,000,000 persons
    python bench/sql_bench.py --n 10000 --replicate 10 --engine postgres  # 100,000 persons on PostgreSQL
    python bench/sql_bench.py --n 10000 --replicate 10 --engine spark     # 100,000 persons on Spark (local)

PostgreSQL: the tables are copied (typed, then ANALYZEd) into a fresh schema of $SCREENING_BENCH_POSTGRES
(default the local server's database `test`), dropped afterwards; the copy is not timed. Spark: each table is
written as one Parquet file and read by a local session on every core.

Replication copies every person with new person ids and row ids (the same records): the SQL work scales
with the rows, while the Python decisions per distinct concept and value stay those of the first n.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from screening import load_criteria, screen  # noqa: E402
from screening.model.patient import Patient  # noqa: E402
from screening.sources.omop.load import load_profiles  # noqa: E402
from screening.sources.omop.reader import OmopSource  # noqa: E402
from screening.sql.population import SqlScreen  # noqa: E402
from screening.tools.synth import synth_patients  # noqa: E402

AS_OF = dt.date(2026, 11, 23)
SEEDS = ("MSV-allo-LN", "NCT01056471", "NCT04348461", "Phase-II-Lupus-MSC")
IDS = {"condition_occurrence": "condition_occurrence_id", "drug_exposure": "drug_exposure_id",
       "procedure_occurrence": "procedure_occurrence_id", "measurement": "measurement_id",
       "observation": "observation_id", "screening_status": "record_id"}


def replicate(db: Path, n: int, copies: int) -> None:
    """Append copies 1..copies-1 of every person's rows with person_id + k*n and fresh row ids."""
    con = duckdb.connect(str(db))
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    for table in tables:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        if "person_id" not in cols:
            continue
        rid = IDS.get(table)
        top = con.execute(f"SELECT COALESCE(MAX({rid}), 0) FROM {table}").fetchone()[0] if rid else 0
        repl = [f"person_id + k * {n} AS person_id"]
        if rid:
            repl.append(f"{rid} + k * {top} AS {rid}")
        if table == "person":
            repl.append("person_source_value || '-' || CAST(k AS VARCHAR) AS person_source_value")
        con.execute(f"INSERT INTO {table} SELECT t.* REPLACE ({', '.join(repl)}) FROM {table} AS t, "
                    f"range(1, {copies}) AS r(k) ORDER BY ALL")
    con.close()


_PG_TYPES = {"BIGINT": "BIGINT", "INTEGER": "INTEGER", "VARCHAR": "TEXT", "DATE": "DATE", "DOUBLE": "DOUBLE PRECISION",
             "BOOLEAN": "BOOLEAN", "FLOAT": "REAL"}


def to_postgres(db: Path, url: str, work: Path) -> str:
    """Every table of the DuckDB file in a fresh schema of the server, with its column types; the schema name."""
    import uuid

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    duck = duckdb.connect(str(db), read_only=True)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
        for (table,) in duck.execute("SELECT table_name FROM information_schema.tables").fetchall():
            cols = duck.execute(f"DESCRIBE {table}").fetchall()
            types = ", ".join(f'"{c[0]}" {_PG_TYPES.get(c[1].split("(")[0], "TIMESTAMP" if "TIMESTAMP" in c[1] else "TEXT")}'
                              for c in cols)
            con.execute(f'CREATE TABLE "{schema}"."{table}" ({types})')
            csv = work / f"{table}.csv"
            duck.execute(f"COPY {table} TO '{csv}' (HEADER, DELIMITER ',')")
            with con.cursor() as cur, cur.copy(f'COPY "{schema}"."{table}" FROM STDIN WITH (FORMAT csv, HEADER true)'
                                               ) as copy, open(csv, "rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            csv.unlink()
            con.execute(f'ANALYZE "{schema}"."{table}"')
    duck.close()
    return schema


def drop_postgres(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')


def to_parquet(db: Path, folder: Path) -> None:
    """Every table of the DuckDB file as one Parquet file in ``folder`` (what Spark reads)."""
    folder.mkdir()
    duck = duckdb.connect(str(db), read_only=True)
    for (table,) in duck.execute("SELECT table_name FROM information_schema.tables").fetchall():
        duck.execute(f"COPY {table} TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
    duck.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--replicate", type=int, default=1)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--engine", choices=("duckdb", "postgres", "spark"), default="duckdb")
    ap.add_argument("--workers", type=int, default=None,
                    help="processes for the SQL path's Python share (default: every core)")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    trials = [load_criteria(ROOT / "criteria" / f"{s}.yaml") for s in SEEDS]
    crits = sum(len(t.criteria) for t in trials)
    work = Path(tempfile.mkdtemp(prefix="sqlbench-"))
    db = work / "population.duckdb"
    profiles = [Patient.model_validate(d) for d in synth_patients(args.n, 1, AS_OF)]
    t0 = time.perf_counter()
    load_profiles(profiles, db)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    if args.replicate > 1:
        replicate(db, args.n, args.replicate)
    rep = time.perf_counter() - t0
    persons = args.n * args.replicate
    url = os.environ.get("SCREENING_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    spec, options, schema = str(db), {}, None
    if args.engine == "postgres":
        schema = to_postgres(db, url, work)
        spec, options = url, {"schema": schema}
    elif args.engine == "spark":
        from screening.sources.omop.database import spark_session

        to_parquet(db, work / "parquet")
        spec, options = str(work / "parquet"), {"engine": "spark", "spark": spark_session("local[*]")}
    try:
        t0 = time.perf_counter()
        with OmopSource.open(spec, as_of=AS_OF, **options) as source:
            result = SqlScreen(source, trials, AS_OF, workers=args.workers).run(out=work / "out")
        sql = time.perf_counter() - t0 - result.timings["write"]
    finally:
        if schema is not None:
            drop_postgres(url, schema)
    write, sizes = result.timings["write"], result.sizes
    referred = sum(len(v) for per in result.via_python.values() for v in per.values())
    sample = profiles[:args.sample]
    t0 = time.perf_counter()
    for p in sample:
        for t in trials:
            screen(p, t, AS_OF)
    py = time.perf_counter() - t0
    py_rate = len(sample) * len(trials) / py
    sql_rate = persons * len(trials) / sql
    print(f"load: {args.n:,} profiles in {load:.1f} s ({args.n / load:,.0f} persons/s)"
          + (f"; replicated to {persons:,} persons in {rep:.1f} s" if args.replicate > 1 else ""))
    print(f"SQL ({args.engine}): {persons:,} persons x {len(trials)} trials in {sql:.1f} s "
          f"({sql_rate:,.0f} screens/s; " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
          + f"); {referred:,} of {persons * crits:,} criterion results by the Python path, on "
          f"{args.workers or os.cpu_count()} worker processes")
    print(f"Parquet: {sum(sizes.values()):,} bytes ({sum(sizes.values()) / (persons * crits):.2f} bytes per "
          f"criterion result) written in {write:.1f} s")
    print(f"Python path (one core): {len(sample):,} persons x {len(trials)} trials in {py:.1f} s "
          f"({py_rate:,.0f} screens/s); {persons:,} persons would take {persons * len(trials) / py_rate:.0f} s")
    print(f"SQL / Python throughput: {sql_rate / py_rate:.1f}x; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
