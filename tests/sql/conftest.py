"""Fixtures of the SQL path: the seed trials, the Synthea27Nj sample, a synthetic population in DuckDB."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import pytest

from screening import load_criteria
from screening.model.patient import Patient
from screening.sources.omop.load import load_profiles
from screening.tools.synth import synth_patients

ROOT = Path(__file__).resolve().parents[2]
PARQUET_ZIP = ROOT.parent / "shared" / "data" / "omop" / "Synthea27NjParquet_5.4.zip"
AS_OF = dt.date(2026, 11, 23)
# the differential test's population (the contract: at least 10,000); SQL_PARITY_N=2000 for a quick local run
SEED_TRIALS = ("MSV-allo-LN", "NCT01056471", "NCT04348461", "Phase-II-Lupus-MSC")
PARITY_N = int(os.environ.get("SQL_PARITY_N", "10000"))


@pytest.fixture(scope="session")
def seed_trials():
    return [load_criteria(ROOT / "criteria" / f"{name}.yaml") for name in SEED_TRIALS]


@pytest.fixture(scope="session")
def synthea_folder(tmp_path_factory) -> Path:
    if not PARQUET_ZIP.exists():
        pytest.skip(f"OMOP sample not found: {PARQUET_ZIP}")
    dest = tmp_path_factory.mktemp("sql-synthea")
    with zipfile.ZipFile(PARQUET_ZIP) as z:
        z.extractall(dest)
    return next(p.parent for p in sorted(dest.rglob("person.parquet")) if "__MACOSX" not in p.parts)


@pytest.fixture(scope="session")
def population(tmp_path_factory):
    """PARITY_N synthetic patients (seed 11) and the DuckDB file `screening load` makes of them."""
    patients = [Patient.model_validate(d) for d in synth_patients(PARITY_N, 11, AS_OF)]
    out = tmp_path_factory.mktemp("sql-population") / "population.duckdb"
    load_profiles(patients, out)
    return patients, out
