"""An OMOP schema on the local PostgreSQL server reads as the same patients as the files it was loaded from."""

from __future__ import annotations

import pytest

from screening import screen
from screening.sources.omop import OmopError, OmopSource, concept_set_sql, open_database

from support.postgres import URL, csv_schema

from .conftest import AS_OF

TABLES = ["person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
          "procedure_occurrence", "measurement", "observation", "device_exposure", "death", "concept",
          "concept_ancestor"]


@pytest.fixture(scope="module")
def pg_schema(synthea_csv):
    """The Synthea27Nj CSV tables copied into a fresh schema (text columns, as a raw CSV import gives), dropped after."""
    with csv_schema("omop_test", {t: synthea_csv / f"{t.upper()}.csv" for t in TABLES}) as schema:
        yield schema


def _people(spec, **kw):
    with OmopSource.open(str(spec), as_of=AS_OF, **kw) as src:
        return [p for p, _ in src]


def test_postgres_schema_reads_like_the_csv_files(pg_schema, synthea_csv, seed_trials):
    from_pg = _people(URL, schema=pg_schema)
    from_csv = _people(synthea_csv)
    assert len(from_pg) == 28
    assert [p.model_dump() for p in from_pg] == [p.model_dump() for p in from_csv]
    for a, b in zip(from_pg[:10], from_csv[:10]):
        for trial in seed_trials:
            ra, rb = screen(a, trial, as_of=AS_OF), screen(b, trial, as_of=AS_OF)
            assert [(c.id, c.status) for c in ra.criteria] == [(c.id, c.status) for c in rb.criteria]


def test_postgres_locations_and_one_person(pg_schema):
    with OmopSource.open(URL, schema=pg_schema, as_of=AS_OF) as src:
        assert src.location(19).endswith(f"schema {pg_schema}#person/19")
        p = src.patient(19)
    assert any(c.code == "snomed:840539006" and c.name == "COVID-19" for c in p.conditions)


def test_concept_set_sql_runs_on_both_engines(pg_schema, synthea_csv):
    codes = ["snomed:840539006", "loinc:29463-7", "icd10:J80*"]
    results = []
    for spec, schema in ((URL, pg_schema), (str(synthea_csv), None)):
        with open_database(spec, schema) as db:
            results.append(sorted(r[0] for r in db.rows(concept_set_sql(db, codes))))
    assert results[0] == results[1] == [3025315, 37311061]  # body weight, COVID-19 (no ICD-10-CM concepts here)


def test_missing_schema_and_bad_url(pg_schema):
    with pytest.raises(OmopError, match="no person table"):
        open_database(URL, "no_such_schema_here")
    with pytest.raises(OmopError, match="cannot connect") as err:
        open_database("postgresql://postgres:secret@127.0.0.1:1/test")
    assert "secret" not in str(err.value) and "postgres:***@" in str(err.value)


def test_cli_screens_a_person_of_the_schema(pg_schema):
    import json

    from typer.testing import CliRunner

    from screening.cli import app

    from .conftest import ROOT

    r = CliRunner().invoke(app, ["screen", URL, "--schema", pg_schema, "--person", "19", "-t",
                                 str(ROOT / "criteria" / "NCT04348461.yaml"), "--as-of", "2021-04-05", "--json"])
    assert r.exit_code == 0, r.stderr
    by_id = {c["id"]: c for c in json.loads(r.stdout)["criteria"]}
    assert by_id["inc-4b"]["status"] == "pass"
