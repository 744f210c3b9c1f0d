"""PostgreSQL agrees with DuckDB: the same population, loaded once, copied into a schema of the local server."""

from __future__ import annotations

import duckdb
import pytest

from screening.model.patient import Patient
from screening.sources.omop.load import load_profiles
from screening.sources.omop.reader import OmopSource
from screening.sql.population import SqlScreen
from screening.tools.synth import synth_patients

from support.postgres import URL, csv_schema

from .conftest import AS_OF



@pytest.fixture(scope="module")
def small_population(tmp_path_factory):
    out = tmp_path_factory.mktemp("sql-engines") / "p.duckdb"
    load_profiles([Patient.model_validate(d) for d in synth_patients(400, 23, AS_OF)], out)
    return out


@pytest.fixture(scope="module")
def pg_copy(small_population, tmp_path_factory):
    """Every table of the DuckDB file copied (as text, like a raw CSV import) into a fresh schema; dropped after."""
    folder = tmp_path_factory.mktemp("sql-engines-csv")
    tables = {}
    with duckdb.connect(str(small_population), read_only=True) as duck:
        for (table,) in duck.execute("SELECT table_name FROM information_schema.tables").fetchall():
            tables[table] = folder / f"{table}.csv"
            duck.execute(f"COPY \"{table}\" TO '{tables[table]}' (HEADER, DELIMITER ',')")
    with csv_schema("sql_test", tables) as schema:
        yield schema


def _run(spec, trials, schema=None):
    with OmopSource.open(str(spec), schema, as_of=AS_OF) as source:
        return SqlScreen(source, trials, AS_OF).run()


def test_postgres_agrees_with_duckdb(small_population, pg_copy, seed_trials):
    duck = _run(small_population, seed_trials)
    pg = _run(URL, seed_trials, pg_copy)
    assert pg.persons == duck.persons and len(pg.persons) == 400
    assert pg.statuses == duck.statuses
    assert pg.via_python == duck.via_python


def test_postgres_writes_the_parquet_duckdb_writes(small_population, pg_copy, seed_trials, tmp_path):
    """statuses.parquet and verdicts.parquet come from the database in batches, on either engine, with the
    same rows; nothing is collected into Python when the outputs are written."""
    import pyarrow.parquet as pq

    counts = {}
    for name, spec, schema in (("duckdb", small_population, None), ("postgres", URL, pg_copy)):
        with OmopSource.open(str(spec), schema, as_of=AS_OF) as source:
            result = SqlScreen(source, seed_trials, AS_OF).run(out=tmp_path / name)
        assert result.statuses == {} and result.persons == []
        counts[name] = (result.count, [f.rows() for f in result.funnels])
    assert counts["duckdb"] == counts["postgres"] and counts["duckdb"][0] == 400
    keys = {"statuses.parquet": ["trial", "person_id", "criterion"], "verdicts.parquet": ["trial", "person_id"]}
    for file, order in keys.items():
        duck, pg = (pq.read_table(tmp_path / name / file).sort_by([(k, "ascending") for k in order]).to_pylist()
                    for name in ("duckdb", "postgres"))
        assert duck == pg
    statuses = pq.read_table(tmp_path / "duckdb" / "statuses.parquet")
    assert statuses.num_rows == 400 * sum(len(t.criteria) for t in seed_trials)
    assert set(statuses.column("status").to_pylist()) == {"pass", "fail", "unknown"}
