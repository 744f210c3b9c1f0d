"""Spark (local mode) gives DuckDB's status for every person and criterion: synthetic persons loaded as Parquet,
one trial with record functions, the fail-safe and an inferred fact, screened by `screening population
--engine spark`."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from screening import load_criteria
from screening.cli import app
from screening.model.patient import Patient
from screening.sources.omop.load import load_profiles
from screening.sources.omop.reader import OmopSource
from screening.sql.population import SqlScreen
from screening.tools.synth import synth_patients

from .conftest import AS_OF, ROOT

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark")

RULES = ROOT / "criteria" / "MSV-allo-LN.yaml"


@pytest.fixture(scope="module")
def spark():
    from screening.sources.omop.database import spark_session

    session = spark_session("local[1]")  # the command line reuses the active session
    yield session
    session.stop()


def test_spark_same_statuses_as_duckdb(spark, tmp_path):
    folder = tmp_path / "population"
    load_profiles([Patient.model_validate(d) for d in synth_patients(60, 5, AS_OF)], folder)
    trial = load_criteria(RULES)
    with OmopSource.open(str(folder), as_of=AS_OF) as source:
        duck = SqlScreen(source, [trial], AS_OF).run()
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["population", str(folder), "-t", str(RULES), "--engine", "spark",
                                 "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = pq.read_table(out / "statuses.parquet").to_pylist()
    names = [cc.criterion.id for cc in trial.criteria]
    on_spark: dict[int, list] = {}
    for row in rows:
        on_spark.setdefault(row["person_id"], []).append(row["status"])
    assert len(on_spark) == 60
    assert on_spark == duck.statuses[trial.id]
    assert len(rows) == 60 * len(names)
    assert {row["status"] for row in rows} == {"pass", "fail", "unknown"}
    assert (out / "funnel-MSV-allo-LN.csv").exists()


def test_spark_needs_a_folder_of_parquet(tmp_path):
    db = tmp_path / "p.duckdb"
    load_profiles([Patient.model_validate(d) for d in synth_patients(2, 5, AS_OF)], db)
    r = CliRunner().invoke(app, ["population", str(db), "-t", str(RULES), "--engine", "spark",
                                 "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "out")])
    assert r.exit_code != 0
    assert "--engine spark" in r.output and "folder of Parquet files" in r.output


def test_spark_computes_formulas_and_changes_as_duckdb(spark, tmp_path):
    """BMI from weight and height, change() and pct_change() with their guards, in Spark SQL."""
    from screening.rules.compiler import compile_text

    from .test_computed import CASES, RULES as CALC

    trial = compile_text(CALC, "sqlcalc.yaml")
    folder = tmp_path / "calc"
    load_profiles([Patient.model_validate({"id": pid, "birth_date": "1970-01-01", "sex": "female",
                                           "observations": obs}) for pid, (obs, _) in CASES.items()], folder)
    with OmopSource.open(str(folder), as_of=AS_OF) as source:
        duck = SqlScreen(source, [trial], AS_OF).run()
    with OmopSource.open(str(folder), as_of=AS_OF, engine="spark", spark=spark) as source:
        on_spark = SqlScreen(source, [trial], AS_OF).run()
    assert on_spark.statuses == duck.statuses and len(on_spark.persons) == len(CASES)
    assert on_spark.via_python == duck.via_python
