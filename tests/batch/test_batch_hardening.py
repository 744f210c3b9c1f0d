"""Batch runs lose and double no patient whatever happens: changed input on resume, one id
twice, one trial's fault, a killed or stuck worker, a parent killed or terminated, a kill
before the first checkpoint; and outputs are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from screening.batch.run import JOURNAL, BatchError, run_batch
from screening.tools.synth import synth_patients

from .conftest import AS_OF, HERE, read_lines, write_ndjson


def _stop_after(n: int):
    def progress(done, total, errors):
        if done >= n:
            raise KeyboardInterrupt
    return progress


def _profiles(n=40, seed=5):
    return list(synth_patients(n, seed=seed, as_of=AS_OF))


# ---------------------------------------------------------------- resume identifies the input by content

def test_resume_refuses_reordered_input_of_the_same_size(tmp_path, trials):
    profiles = _profiles()
    src = write_ndjson(tmp_path / "in.ndjson", profiles)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=4, progress=_stop_after(8))
    size = src.stat().st_size
    write_ndjson(src, list(reversed(profiles)))
    assert src.stat().st_size == size
    with pytest.raises(BatchError, match="changed"):
        run_batch(src, trials, out, AS_OF, workers=1, resume=True)


def test_resume_refuses_a_folder_whose_file_changed(tmp_path, trials):
    folder = tmp_path / "in"
    folder.mkdir()
    profiles = _profiles(12)
    for i, p in enumerate(profiles):
        (folder / f"p{i:02d}.json").write_text(json.dumps(p))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(folder, trials, out, AS_OF, workers=1, chunk_size=2, progress=_stop_after(4))
    first = folder / "p00.json"
    text = first.read_text()
    first.write_text(text.replace('"female"', '"FEMALE"') if '"female"' in text else text.replace('"male"', '"MALE"'))
    with pytest.raises(BatchError, match="changed"):
        run_batch(folder, trials, out, AS_OF, workers=1, resume=True)


def _omop_input(folder):
    from screening.sources.omop import BatchInput, OmopSource

    return BatchInput(OmopSource.open(str(folder), as_of=AS_OF))


def _reorder_rows(csv_file):
    """The same rows (and bytes) in another order: the file's size is unchanged, its content is not."""
    head, *rows = csv_file.read_text().splitlines(keepends=True)
    assert len(rows) > 2 and sorted(rows) != rows[::-1]
    csv_file.write_text(head + "".join(rows[::-1]))


@pytest.mark.parametrize("suffix", ["", ".duckdb"])
def test_resume_refuses_an_omop_database_whose_content_changed_but_not_its_persons(tmp_path, trials, suffix):
    from screening import Patient
    from screening.sources.omop.load import load_profiles

    patients = [Patient.model_validate(p) for p in _profiles(12)]
    db = tmp_path / f"omop{suffix}"
    load_profiles(patients, db)
    if not suffix:  # a folder of CSV files, as exports are
        import duckdb

        for table in list(db.glob("*.parquet")):
            duckdb.sql(f"COPY (SELECT * FROM read_parquet('{table}')) TO '{table.with_suffix('.csv')}' (HEADER)")
            table.unlink()
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(_omop_input(db), trials, out, AS_OF, workers=1, chunk_size=2, progress=_stop_after(4))
    persons = _omop_input(db).size()
    if suffix:  # one measurement's value changed
        import duckdb

        with duckdb.connect(str(db)) as con:
            con.execute("UPDATE measurement SET value_as_number = value_as_number + 1 "
                        "WHERE measurement_id = (SELECT min(measurement_id) FROM measurement WHERE value_as_number IS NOT NULL)")
    else:
        _reorder_rows(next(f for f in db.iterdir() if f.name.lower() == "measurement.csv"))
    assert _omop_input(db).size() == persons  # what a resume used to compare
    with pytest.raises(BatchError, match="changed"):
        run_batch(_omop_input(db), trials, out, AS_OF, workers=1, resume=True)


def test_resume_accepts_the_same_omop_folder(tmp_path, trials):
    from screening import Patient
    from screening.sources.omop.load import load_profiles

    db = tmp_path / "omop"
    load_profiles([Patient.model_validate(p) for p in _profiles(12)], db)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(_omop_input(db), trials, out, AS_OF, workers=1, chunk_size=2, progress=_stop_after(4))
    summary = run_batch(_omop_input(db), trials, out, AS_OF, workers=1, resume=True)
    assert summary.resumed_from >= 4 and summary.patients == 12


def test_standard_input_cannot_be_resumed(tmp_path, trials):
    with pytest.raises(BatchError, match="standard input"):
        run_batch("-", trials, tmp_path / "out", AS_OF, workers=1, resume=True)


# ---------------------------------------------------------------- ids, trials and spreadsheets

@pytest.mark.parametrize("workers", [1, 2])
def test_the_same_patient_id_twice_is_an_error_record(tmp_path, trials, workers):
    profiles = _profiles(10)
    twice = dict(profiles[3])
    src = write_ndjson(tmp_path / "in.ndjson", profiles[:6] + [twice] + profiles[6:])
    out = tmp_path / "out"
    summary = run_batch(src, trials, out, AS_OF, workers=workers, chunk_size=2)
    results = read_lines(out / "results.ndjson")
    assert len(results) == 2 * 10 and len({(r["patient"], r["trial"]) for r in results}) == 20
    (err,) = read_lines(out / "errors.ndjson")
    assert err["line"] == 7 and twice["id"] in err["message"] and "line 4" in err["message"], err
    assert summary.funnels[0].screened == 10


def test_the_same_patient_id_twice_across_a_resume(tmp_path, trials):
    profiles = _profiles(20)
    src = write_ndjson(tmp_path / "in.ndjson", profiles + [dict(profiles[0])])
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=2, progress=_stop_after(6))
    run_batch(src, trials, out, AS_OF, workers=1, chunk_size=2, resume=True)
    assert len(read_lines(out / "results.ndjson")) == 40
    (err,) = read_lines(out / "errors.ndjson")
    assert err["line"] == 21


def test_one_trials_fault_keeps_the_other_trials_results(tmp_path, trials, monkeypatch):
    from screening.batch import worker

    real = worker.screen

    def faulty(patient, trial, *args, **kwargs):
        if trial.id == trials[1].id:
            raise ZeroDivisionError("rule cannot be evaluated")
        return real(patient, trial, *args, **kwargs)

    monkeypatch.setattr(worker, "screen", faulty)
    src = write_ndjson(tmp_path / "in.ndjson", _profiles(6))
    out = tmp_path / "out"
    run_batch(src, trials, out, AS_OF, workers=1)
    results = read_lines(out / "results.ndjson")
    assert [r["trial"] for r in results] == [trials[0].id] * 6
    errors = read_lines(out / "errors.ndjson")
    assert len(errors) == 6 and all(e["trial"] == trials[1].id for e in errors), errors
    assert all("ZeroDivisionError" in e["message"] for e in errors)
    assert [e["patient"] for e in errors] == [r["patient"] for r in results]


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path, trials):
    profiles = _profiles(4)
    for p, prefix in zip(profiles, "=+-@"):
        p["id"] = prefix + "HYPERLINK(\"http://x\")"
    src = write_ndjson(tmp_path / "in.ndjson", profiles)
    out = tmp_path / "out"
    run_batch(src, trials, out, AS_OF, workers=1)
    with open(out / "summary.csv", newline="") as fh:
        cells = [row[0] for row in csv.reader(fh)][1:]
    assert len(cells) == 8 and all(c.startswith("'") for c in cells), cells
    for funnel in out.glob("funnel-*.csv"):
        for row in csv.reader(funnel.open(newline="")):
            assert not any(c[:1] in ("=", "+", "@") for c in row), row


# ---------------------------------------------------------------- kills, hangs and signals

def test_summary_keeps_its_header_after_a_kill_before_the_first_checkpoint(tmp_path, trials):
    src = write_ndjson(tmp_path / "in.ndjson", _profiles(8))
    run_batch(src, trials, tmp_path / "clean", AS_OF, workers=1, chunk_size=4)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=4, progress=_stop_after(0))
    header = (out / JOURNAL).read_text().splitlines()[0]
    (out / JOURNAL).write_text(header + "\n")  # killed right after the header
    run_batch(src, trials, out, AS_OF, workers=1, chunk_size=4, resume=True)
    assert (out / "summary.csv").read_text() == (tmp_path / "clean" / "summary.csv").read_text()


def _misbehaving(monkeypatch, how: str):
    """Patients whose id says so kill their worker (SIGKILL, as the out-of-memory killer does) or hang it."""
    from screening.batch import worker

    real = worker.screen

    def screen(patient, trial, *args, **kwargs):
        if patient.id == "killer" and how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if patient.id == "killer" and how == "hang":
            time.sleep(3600)
        return real(patient, trial, *args, **kwargs)

    monkeypatch.setattr(worker, "screen", screen)  # workers are forked: they inherit it


@pytest.mark.parametrize("how, workers", [("kill", 2), ("hang", 2), ("kill", 1)])
def test_the_record_that_kills_or_hangs_a_worker_is_reported_and_skipped(tmp_path, trials, monkeypatch, how, workers):
    _misbehaving(monkeypatch, how)
    profiles = _profiles(20)
    killer = dict(profiles[0], id="killer")
    src = write_ndjson(tmp_path / "in.ndjson", profiles[:9] + [killer] + profiles[9:])
    out = tmp_path / "out"
    started = time.monotonic()
    summary = run_batch(src, trials, out, AS_OF, workers=workers, chunk_size=3, chunk_timeout=4)
    assert time.monotonic() - started < 60
    (err,) = read_lines(out / "errors.ndjson")
    assert err["line"] == 10 and "worker" in err["message"], err
    assert len(read_lines(out / "results.ndjson")) == 2 * 20
    assert summary.errors == 1 and summary.patients == 20


def _cli_batch(tmp_path, src, out, workers=2) -> subprocess.Popen:
    env = {**os.environ, "SCREENING_CACHE_DIR": ""}
    return subprocess.Popen([sys.executable, "-c", "from screening.cli import main; main()", "batch", str(src),
                             "-t", str(HERE / "mini.yaml"), "--out", str(out), "--as-of", "2026-11-23",
                             "-j", str(workers)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _kill_group(proc: subprocess.Popen) -> None:
    """The batch and any worker it left behind (they share its session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _wait_for(predicate, timeout=30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def big_input(tmp_path):
    return write_ndjson(tmp_path / "in.ndjson", synth_patients(3000, seed=2, as_of=AS_OF))


def test_sigterm_keeps_the_outputs_and_exits_143(tmp_path, big_input):
    out = tmp_path / "out"
    proc = _cli_batch(tmp_path, big_input, out)
    try:
        assert _wait_for(lambda: (out / "results.ndjson.partial").exists()
                         and (out / "results.ndjson.partial").stat().st_size > 0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        _kill_group(proc)
    assert proc.returncode == 143, err
    assert "resume" in err and "Traceback" not in err, err
    assert (out / JOURNAL).exists()
    from screening.cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["batch", str(big_input), "-t", str(HERE / "mini.yaml"), "--out", str(out),
                                      "--as-of", "2026-11-23", "-j", "1", "--resume"])
    assert result.exit_code == 0, result.output
    ids = [r["patient"] for r in read_lines(out / "results.ndjson")]
    assert len(ids) == len(set(ids)) == 3000


def test_workers_exit_when_their_parent_is_killed(tmp_path, big_input):
    out = tmp_path / "out"
    proc = _cli_batch(tmp_path, big_input, out)
    try:
        assert _wait_for(lambda: len(_children(proc.pid)) >= 2)
        workers = _children(proc.pid)
        proc.kill()
        proc.wait()
        alive = lambda: [w for w in workers if Path(f"/proc/{w}").exists()  # noqa: E731
                         and "Z" not in (Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0])]
        assert _wait_for(lambda: not alive(), timeout=30), alive()
    finally:
        _kill_group(proc)


# ---------------------------------------------------------------- resource limits

def test_a_line_longer_than_the_limit_is_an_error_record(tmp_path, trials, monkeypatch):
    from screening.batch import inputs

    monkeypatch.setattr(inputs, "MAX_LINE_BYTES", 4096)
    profiles = _profiles(6)
    long_line = json.dumps(dict(profiles[0], id="long", note="x" * 10_000))
    src = write_ndjson(tmp_path / "in.ndjson", profiles[1:3], [long_line] + [json.dumps(p) for p in profiles[3:]])
    out = tmp_path / "out"
    summary = run_batch(src, trials, out, AS_OF, workers=1)
    (err,) = read_lines(out / "errors.ndjson")
    assert err["line"] == 3 and "longer than" in err["message"], err
    assert summary.patients == 5


def test_workers_are_capped_at_a_multiple_of_the_cores(tmp_path, trials):
    src = write_ndjson(tmp_path / "in.ndjson", _profiles(2))
    with pytest.raises(BatchError, match="workers"):
        run_batch(src, trials, tmp_path / "out", AS_OF, workers=10_000)
    assert not (tmp_path / "out").exists()
