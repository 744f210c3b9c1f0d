"""`screening population` and `screening explain` on a loaded synthetic population."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from screening.cli import app
from screening.tools.synth import synth_patients

from .conftest import AS_OF, ROOT, SEED_TRIALS

runner = CliRunner()
TRIALS = [a for name in SEED_TRIALS for a in ("-t", str(ROOT / "criteria" / f"{name}.yaml"))]


def test_population_funnels_equal_the_batch_funnels(tmp_path):
    ndjson = tmp_path / "p.ndjson"
    ndjson.write_text("".join(json.dumps(d) + "\n" for d in synth_patients(300, 5, AS_OF)), encoding="utf-8")
    db = tmp_path / "p.duckdb"
    assert runner.invoke(app, ["load", str(ndjson), "--out", str(db)]).exit_code == 0
    sql_out, batch_out = tmp_path / "sql", tmp_path / "batch"
    r = runner.invoke(app, ["population", str(db), *TRIALS, "--as-of", AS_OF.isoformat(), "--out", str(sql_out),
                            "--workers", "2"])
    assert r.exit_code == 0, r.output
    one = tmp_path / "one-worker"  # the Python path's share on one worker process: the same statuses
    r = runner.invoke(app, ["population", str(db), *TRIALS, "--as-of", AS_OF.isoformat(), "--out", str(one),
                            "-j", "1"])
    assert r.exit_code == 0, r.output
    assert pq.read_table(one / "statuses.parquet").equals(pq.read_table(sql_out / "statuses.parquet"))
    r = runner.invoke(app, ["batch", str(ndjson), *TRIALS, "--as-of", AS_OF.isoformat(), "--out", str(batch_out),
                            "--workers", "1"])
    assert r.exit_code == 0, r.output
    for name in SEED_TRIALS:
        assert (sql_out / f"funnel-{name}.csv").read_text() == (batch_out / f"funnel-{name}.csv").read_text()
    statuses = pq.read_table(sql_out / "statuses.parquet").to_pylist()
    assert len(statuses) == 300 * 84
    assert {s["status"] for s in statuses} == {"pass", "fail", "unknown"}
    verdicts = pq.read_table(sql_out / "verdicts.parquet").to_pylist()
    assert len(verdicts) == 300 * 4
    summary = {(row.split(",")[0], row.split(",")[1]): row.split(",")[2]
               for row in (batch_out / "summary.csv").read_text().splitlines()[1:]}
    assert all(summary[(v["person"], v["trial"])] == v["verdict"] for v in verdicts)
    # one person's full reasons, from the Python path
    person = verdicts[0]["person"]
    r = runner.invoke(app, ["explain", str(db), person, "-t", str(ROOT / "criteria" / "MSV-allo-LN.yaml"),
                            "--as-of", AS_OF.isoformat(), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["verdict"] == next(v["verdict"] for v in verdicts
                                                   if v["person"] == person and v["trial"] == "MSV-allo-LN")


def test_explain_lists_what_sql_decides():
    r = runner.invoke(app, ["population", "nowhere.duckdb", *TRIALS, "--explain"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == 84
    assert "NCT04348461 inc-2: sql" in lines or any(line.startswith("NCT04348461 inc-2:") for line in lines)
    assert any("pf_ratio = pao2 / fio2" in line for line in lines)
    # an event within a window, dated by its onset, is decided in SQL
    assert "NCT04348461 exc-9a: sql" in lines


def test_population_workers_as_the_batch():
    r = runner.invoke(app, ["population", "nowhere.duckdb", *TRIALS, "--out", "x", "--workers", "100000"])
    assert r.exit_code != 0
    assert "--workers 100000: at most" in r.output
