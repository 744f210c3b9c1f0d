"""OHDSI's Synthea27Nj sample (../shared/data/omop, CSV and Parquet zips) extracted once per session."""

from __future__ import annotations

import datetime as dt
import glob
import zipfile
from pathlib import Path

import pytest

from screening import load_criteria

ROOT = Path(__file__).resolve().parents[2]
OMOP_DATA = ROOT.parent / "shared" / "data" / "omop"
CSV_ZIP = OMOP_DATA / "Synthea27Nj_5.4.zip"
PARQUET_ZIP = OMOP_DATA / "Synthea27NjParquet_5.4.zip"


def _extract(zip_path: Path, dest: Path) -> Path:
    """Extract ``zip_path`` into ``dest`` and return the folder holding person.csv / person.parquet."""
    if not zip_path.exists():
        pytest.skip(f"OMOP sample not found: {zip_path}")
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(dest)
    for p in sorted(dest.rglob("*")):
        if p.name.lower() in ("person.csv", "person.parquet") and "__MACOSX" not in p.parts:
            return p.parent
    raise AssertionError(f"no person table in {zip_path}")


@pytest.fixture(scope="session")
def synthea_csv(tmp_path_factory) -> Path:
    return _extract(CSV_ZIP, tmp_path_factory.mktemp("synthea-csv"))


@pytest.fixture(scope="session")
def synthea_parquet(tmp_path_factory) -> Path:
    return _extract(PARQUET_ZIP, tmp_path_factory.mktemp("synthea-parquet"))


@pytest.fixture(scope="session")
def seed_trials():
    return [load_criteria(p) for p in sorted(glob.glob(str(ROOT / "criteria" / "*.yaml")))]


# A screening date inside most Synthea27Nj observation periods (they end in 2021-2022).
AS_OF = dt.date(2021, 4, 5)
