"""The hostile corpus (cases.yaml): every input gets exit status 2 and one located line, fast.

Each case runs ``screening`` in a subprocess, in a fresh folder holding only a link to
inputs/, with a timeout; it must exit with the expected status, print one line holding
the expected fragments and no traceback, and write nothing (no output folder, no file,
no cache entry). The cases run concurrently, so the corpus takes seconds, not minutes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
CASES = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
SCREENING = [sys.executable, "-c", "from screening.cli import main; main()"]


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if not str(p.relative_to(folder)).startswith("inputs")}


def _run(case: dict, root: Path) -> dict:
    folder = root / case["id"]
    folder.mkdir()
    (folder / "inputs").symlink_to(HERE / "inputs", target_is_directory=True)
    (folder / "home").mkdir()
    env = {**os.environ, "HOME": str(folder / "home"), "XDG_CACHE_HOME": str(folder / "home" / ".cache"),
           "COLUMNS": "200"}
    env["SCREENING_CACHE_DIR"] = ""  # a valid rule file's cache entry is not an output: tests/unit/rules cover the cache
    before = _snapshot(folder)
    started = time.monotonic()
    proc = subprocess.Popen(SCREENING + [str(a) for a in case["args"]], cwd=folder, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=case.get("timeout", 30))
        status, output = proc.returncode, out + err
    except subprocess.TimeoutExpired:
        status, output = "timeout", ""
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # and any worker process it left behind
        except ProcessLookupError:
            pass
        proc.communicate()
    elapsed = time.monotonic() - started
    written = _snapshot(folder) - before - {"home"}
    written = {w for w in written if not (folder / w).is_dir() or any((folder / w).iterdir())}
    return {"status": status, "output": output, "written": sorted(written), "elapsed": elapsed}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every case's outcome, run four at a time."""
    import resource

    root = tmp_path_factory.mktemp("hostile")
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = dict(zip((c["id"] for c in CASES), pool.map(lambda c: _run(c, root), CASES)))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcomes["_elapsed"] = time.monotonic() - started
    outcomes["_cpu"] = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    shutil.rmtree(root, ignore_errors=True)
    return outcomes


def _param(case: dict):
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if case.get("xfail") else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_input(case, corpus):
    got = corpus[case["id"]]
    lines = [line for line in got["output"].splitlines() if line.strip()]
    assert got["status"] == case.get("exit", 2), got
    assert "Traceback" not in got["output"], got["output"][-2000:]
    assert len(lines) == 1, got["output"][-2000:]
    for fragment in case["message"]:
        assert fragment in lines[0], (fragment, lines[0])
    for fragment in case.get("not_message", ()):
        assert fragment not in lines[0], (fragment, lines[0])
    assert got["written"] == [], got["written"]


def test_the_corpus_runs_in_under_a_minute(corpus):
    # CPU seconds of every case together, spread over a two-core CI runner (wall time on a shared
    # machine measures the neighbours too): under a minute there means under 120 CPU seconds
    assert corpus["_cpu"] / 2 < 60, (corpus["_cpu"], corpus["_elapsed"])


def test_every_case_is_named_once():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
