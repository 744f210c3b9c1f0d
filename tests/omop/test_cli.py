"""`screening load`, and `screening screen` / `screening batch` reading an OMOP database."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from screening import Patient, screen
from screening.cli import app
from screening.tools.synth import synth_patients

from .conftest import ROOT

CRITERIA = ROOT / "criteria"
COVID = str(CRITERIA / "NCT04348461.yaml")


@pytest.fixture(autouse=True)
def no_cache(monkeypatch):
    monkeypatch.setenv("SCREENING_CACHE_DIR", "")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_screen_one_synthea_person(synthea_csv):
    r = invoke("screen", synthea_csv, "--person", "19", "-t", COVID, "--as-of", "2021-04-05", "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["patient"] == "b27f9e95-f038-7d7d-8a7f-b1e155dd048b"
    by_id = {c["id"]: c for c in result["criteria"]}
    assert by_id["inc-4b"]["status"] == "pass" and "condition_occurrence/307" in by_id["inc-4b"]["reason"]
    assert any(u["resource"] == "observation_period" for u in result["unmapped"])
    r = invoke("screen", synthea_csv, "--person", "19", "-t", COVID, "--as-of", "2021-04-05", "--json",
               "--completeness", "none")
    assert json.loads(r.stdout)["complete"] == []


def test_screen_needs_a_person_and_a_known_one(synthea_csv, tmp_path):
    r = invoke("screen", synthea_csv, "-t", COVID, "--as-of", "2021-04-05")
    assert r.exit_code == 2 and "give --person ID" in r.stderr
    r = invoke("screen", synthea_csv, "--person", "999", "-t", COVID, "--as-of", "2021-04-05")
    assert r.exit_code == 2 and "no person 999" in r.stderr and "Traceback" not in r.stderr
    r = invoke("screen", synthea_csv, "--person", "19", "-t", COVID, "--completeness", "all")
    assert r.exit_code == 2 and "--completeness 'all'" in r.stderr
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"id": "x"}))
    r = invoke("screen", profile, "--person", "1", "-t", COVID, "--as-of", "2021-04-05")
    assert r.exit_code == 2 and "--person is for an OMOP database" in r.stderr


def test_load_then_screen_and_batch_like_the_profiles(tmp_path, seed_trials):
    profiles = list(synth_patients(40, 5, __import__("datetime").date(2026, 11, 23)))
    ndjson = tmp_path / "pop.ndjson"
    ndjson.write_text("".join(json.dumps(p) + "\n" for p in profiles) + "{broken\n")
    db = tmp_path / "pop.duckdb"
    r = invoke("load", ndjson, "--out", db)
    assert r.exit_code == 0, r.stderr
    assert "40 persons loaded" in r.stderr and f"{ndjson}:41:2: error: invalid JSON" in r.stderr
    assert invoke("load", ndjson, "--out", db).exit_code == 2  # exists
    assert invoke("load", ndjson, "--out", db, "--replace", "--strict").exit_code == 1  # an input problem
    # screen one person by its profile id, as the profile itself screens
    first = Patient.model_validate(profiles[0])
    r = invoke("screen", db, "--person", first.id, "-t", COVID, "--as-of", "2026-11-23", "--json")
    assert r.exit_code == 0, r.stderr
    direct = screen(first, next(t for t in seed_trials if t.id == "NCT04348461"),
                    as_of=__import__("datetime").date(2026, 11, 23))
    assert [(c["id"], c["status"]) for c in json.loads(r.stdout)["criteria"]] == \
        [(c.id, c.status.value) for c in direct.criteria]
    # batch over the database and over the NDJSON: the same summary rows
    outs = []
    for name, source in (("db", db), ("nd", ndjson)):
        out = tmp_path / f"out-{name}"
        r = invoke("batch", source, "-t", COVID, "-t", CRITERIA / "Phase-II-Lupus-MSC.yaml", "--as-of",
                   "2026-11-23", "--out", out, "--workers", "1")
        assert r.exit_code == 0, r.stderr
        with open(out / "summary.csv", newline="") as fh:
            outs.append(sorted(map(tuple, csv.reader(fh))))
    assert outs[0] == outs[1] and len(outs[0]) == 1 + 40 * 2


def test_batch_over_synthea_parquet(synthea_parquet, tmp_path):
    out = tmp_path / "out"
    r = invoke("batch", synthea_parquet, "-t", COVID, "--as-of", "2021-04-05", "--out", out, "--workers", "1")
    assert r.exit_code == 0, r.stderr
    assert "28 patients screened" in r.stderr
    lines = (out / "results.ndjson").read_text().splitlines()
    assert len(lines) == 28
    assert (out / "errors.ndjson").read_text() == ""
