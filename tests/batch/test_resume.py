"""Interrupted runs: outputs are never half-published, and --resume finishes without duplicates or losses."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

from screening.batch.outputs import atomic_write
from screening.batch.run import JOURNAL, BatchError, run_batch
from screening.tools.synth import synth_patients

from .conftest import AS_OF, outputs, read_lines


def _stop_after(n: int):
    """A progress callback that interrupts the run (as Ctrl-C would) once n records are done."""
    def progress(done, total, errors):
        if done >= n:
            raise KeyboardInterrupt
    return progress


def _source(tmp_path):
    profiles = list(synth_patients(50, seed=21, as_of=AS_OF))
    lines = [json.dumps(p) for p in profiles]
    lines.insert(10, "{broken")
    lines.insert(30, json.dumps({"id": "no-such-field", "colour": "blue"}))
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


@pytest.mark.parametrize("workers", [1, 2])
def test_resume_after_interruption_equals_a_clean_run(tmp_path, trials, workers):
    src = _source(tmp_path)
    clean = run_batch(src, trials, tmp_path / "clean", AS_OF, workers=workers, chunk_size=4)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=workers, chunk_size=4, progress=_stop_after(17))
    # interrupted: only partial names and the journal; nothing poses as a finished output
    names = {p.name for p in out.iterdir()}
    assert names == {"results.ndjson.partial", "summary.csv.partial", "errors.ndjson.partial", JOURNAL}
    done_before = len((out / "results.ndjson.partial").read_text().splitlines())
    assert 0 < done_before < 2 * 50

    resumed = run_batch(src, trials, out, AS_OF, workers=workers, chunk_size=4, resume=True)
    assert resumed.resumed_from >= 17
    assert outputs(out) == outputs(tmp_path / "clean")
    ids = [(r["patient"], r["trial"]) for r in read_lines(out / "results.ndjson")]
    assert len(ids) == len(set(ids)) == 100
    assert (resumed.records, resumed.patients, resumed.errors) == (clean.records, clean.patients, clean.errors) == (52, 50, 2)


def test_resume_after_a_crash_with_torn_writes(tmp_path, trials):
    """A crash (no clean shutdown) can leave half-written lines past the last checkpoint."""
    src = _source(tmp_path)
    run_batch(src, trials, tmp_path / "clean", AS_OF, workers=1, chunk_size=3)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=3, checkpoint_seconds=0, progress=_stop_after(24))
    with open(out / "results.ndjson.partial", "ab") as fh:
        fh.write(b'{"trial":"MINI-LUPUS","patient":"syn-21-00000')  # screened after the checkpoint, cut short
    with open(out / "summary.csv.partial", "ab") as fh:
        fh.write(b"syn-21-0000099,MINI-LUPUS,eli")
    with open(out / JOURNAL, "ab") as fh:
        fh.write(b'{"next": 40, "sizes": {"results.ndjson": 9')  # a checkpoint torn mid-write
    run_batch(src, trials, out, AS_OF, workers=1, chunk_size=3, resume=True)
    assert outputs(out) == outputs(tmp_path / "clean")


def test_resume_twice_and_resume_of_a_finished_run(tmp_path, trials):
    src = _source(tmp_path)
    run_batch(src, trials, tmp_path / "clean", AS_OF, workers=1, chunk_size=5)
    out = tmp_path / "out"
    for stop in (8, 30):
        with pytest.raises(KeyboardInterrupt):
            run_batch(src, trials, out, AS_OF, workers=1, chunk_size=5, resume=stop != 8, progress=_stop_after(stop))
    run_batch(src, trials, out, AS_OF, workers=1, chunk_size=5, resume=True)
    assert outputs(out) == outputs(tmp_path / "clean")
    again = run_batch(src, trials, out, AS_OF, workers=1, resume=True)
    assert again.already_complete and outputs(out) == outputs(tmp_path / "clean")


def test_interrupted_run_is_not_overwritten_or_resumed_with_other_settings(tmp_path, trials):
    src = _source(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=5, progress=_stop_after(10))
    with pytest.raises(BatchError, match="use --resume"):
        run_batch(src, trials, out, AS_OF, workers=1)
    with pytest.raises(BatchError, match="screening date"):
        run_batch(src, trials, out, date(2026, 12, 1), workers=1, resume=True)
    with pytest.raises(BatchError, match="rule files"):
        run_batch(src, trials[:1], out, AS_OF, workers=1, resume=True)
    with pytest.raises(BatchError, match="--complete"):
        run_batch(src, trials, out, AS_OF, complete=["conditions"], workers=1, resume=True)


def test_atomic_write_publishes_whole_files_only(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("old complete contents\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half of the new")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old complete contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # no temporary file left behind
    with atomic_write(target) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # the usual permissions, not mkstemp's 0600


def test_resume_of_a_run_killed_before_its_first_checkpoint(tmp_path, trials):
    src = _source(tmp_path)
    run_batch(src, trials, tmp_path / "clean", AS_OF, workers=1, chunk_size=4)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=4, progress=_stop_after(0))
    journal = (out / JOURNAL).read_text().splitlines()
    (out / JOURNAL).write_text("\n".join(journal[:2]) + "\n")  # the header and the opening checkpoint only
    with open(out / "results.ndjson.partial", "a") as fh:
        fh.write('{"trial": "MINI-LUPUS", "pat')
    run_batch(src, trials, out, AS_OF, workers=1, chunk_size=4, resume=True)
    assert outputs(out) == outputs(tmp_path / "clean")


def test_resume_refuses_an_input_that_changed(tmp_path, trials):
    src = _source(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials, out, AS_OF, workers=1, chunk_size=4, progress=_stop_after(8))
    with open(src, "a") as fh:
        fh.write(json.dumps(next(synth_patients(1, seed=99, as_of=AS_OF))) + "\n")
    with pytest.raises(BatchError, match="content changed"):
        run_batch(src, trials, out, AS_OF, workers=1, resume=True)


def test_a_new_run_removes_the_previous_outputs_first(tmp_path, trials):
    src = _source(tmp_path)
    out = tmp_path / "out"
    run_batch(src, trials, out, AS_OF, workers=1)
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, trials[:1], out, AS_OF, workers=1, chunk_size=4, progress=_stop_after(8))
    assert not [p.name for p in out.iterdir() if not p.name.endswith(".partial")]
