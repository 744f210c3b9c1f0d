"""Fixtures for batch tests: two small rule files and synthetic patient sets."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import screening
from screening.tools.synth import synth_patients

HERE = Path(__file__).resolve().parent
AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="session")
def trials():
    return [screening.load_criteria(HERE / "mini.yaml"), screening.load_criteria(HERE / "mini-covid.yaml")]


def write_ndjson(path: Path, profiles, extra_lines=()) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for p in profiles:
            fh.write(json.dumps(p) + "\n")
        for line in extra_lines:
            fh.write(line + "\n")
    return path


@pytest.fixture
def patients_file(tmp_path):
    """60 synthetic patients as NDJSON."""
    return write_ndjson(tmp_path / "patients.ndjson", synth_patients(60, seed=11, as_of=AS_OF))


def read_lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def outputs(out: Path) -> dict[str, bytes]:
    """Every file in an output directory, by name."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}
