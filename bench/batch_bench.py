"""Benchmark: batch screening throughput per core and peak memory as the number of patients grows.

    python bench/batch_bench.py                       # 100,000 patients; memory at 100,000 and 1,000,000
    python bench/batch_bench.py --n 5000 --mem 5000,20000 --base-n 2000    # a quick run

1. Synthetic patients (``screening.tools.synth``, seed 1) are written to an NDJSON file first
   (generated in parallel, streamed to disk).
2. Throughput: ``run_batch`` over all of them against the seed rule files in criteria/
   (four trials) on every core; patient-trial screens per second, and per core.
3. Yardstick: on one core, the engine pipeline (``run_batch --workers 1``: read, validate,
   screen, write results.ndjson, summary.csv, funnel) against bench/trial20.yaml beside
   the hand-written baseline of the same 22 criteria (bench/baseline.py) in the same
   pipeline shape (read a line, validate it as a Patient, screen by hand, write a JSON
   line with statuses and reasons), on the same patients. The two are first checked to
   agree on every status for a sample.
4. Peak memory: a fresh process runs each batch; it reports its own peak RSS (the parent:
   reading, ordering, writing) and the largest worker's (ru_maxrss of reaped children).
   Flat memory means these do not grow with the number of patients.

Every figure is measured in this run on this machine; --json prints them for a script.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = date(2026, 11, 23)
SEED = 1


def _gen_part(args) -> str:
    from screening.tools.synth import synth_patients

    path, start, n = args
    with open(path, "w", encoding="utf-8") as fh:
        for p in synth_patients(n, SEED, AS_OF, start=start):
            fh.write(json.dumps(p, separators=(",", ":")) + "\n")
    return path


def generate(path: Path, n: int, workers: int) -> float:
    """Write patients 0..n-1 of seed SEED to ``path`` (parts generated in parallel); seconds taken."""
    from concurrent.futures import ProcessPoolExecutor

    t = time.perf_counter()
    step = max(1, -(-n // (workers * 4)))
    parts = [(f"{path}.part{i}", start, min(step, n - start)) for i, start in enumerate(range(0, n, step))]
    with ProcessPoolExecutor(workers) as pool, open(path, "wb") as out:
        for part in pool.map(_gen_part, parts):
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
            os.unlink(part)
    return time.perf_counter() - t


def _lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return n


def child(argv: list[str]) -> None:
    """Run in a fresh process: one batch or the hand-written pipeline; print figures as JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["batch", "handwritten"])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--trial", action="append", default=[])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args(argv)
    import screening

    source = a.source
    if a.limit:  # the first `limit` patients, as their own file
        source = os.path.join(a.out, "input.ndjson")
        os.makedirs(a.out, exist_ok=True)
        with open(a.source, "rb") as src, open(source, "wb") as dst:
            for i, line in enumerate(src):
                if i >= a.limit:
                    break
                dst.write(line)
    trials = [screening.load_criteria(t) for t in a.trial]
    t = time.perf_counter()
    if a.mode == "batch":
        from screening.batch.run import run_batch

        s = run_batch(source, trials, os.path.join(a.out, "batch"), AS_OF, workers=a.workers)
        records, results = s.records, s.results
    else:
        sys.path.insert(0, str(HERE))
        from baseline import screen_by_hand

        from screening.model.patient import Patient

        records = results = 0
        with open(source, "rb") as fh, open(os.path.join(a.out, "handwritten.ndjson"), "w", buffering=1 << 20) as out:
            for line in fh:
                patient = Patient.model_validate(json.loads(line))
                r = screen_by_hand(patient, AS_OF)
                out.write(json.dumps({"patient": patient.id, "verdict": r["verdict"], "criteria": r["criteria"]},
                                     ensure_ascii=False) + "\n")
                records += 1
                results += 1
    elapsed = time.perf_counter() - t
    print(json.dumps({
        "records": records, "results": results, "seconds": elapsed, "workers": a.workers,
        "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True,
                         env=dict(os.environ, SCREENING_CACHE_DIR=""))
    return json.loads(out.stdout.strip().splitlines()[-1])


def agreement(source: Path, n: int) -> tuple[int, int, dict]:
    """Screens (engine vs hand-written, trial20) of the first n patients; (agreeing, total, disagreements by criterion)."""
    sys.path.insert(0, str(HERE))
    from baseline import screen_by_hand

    import screening

    trial = screening.load_criteria(HERE / "trial20.yaml")
    same, total, diff = 0, 0, {}
    with open(source, "rb") as fh:
        for i, line in enumerate(fh):
            if i >= n:
                break
            p = screening.parse_patient(json.loads(line))
            engine = {c.id: c.status.value for c in screening.screen(p, trial, AS_OF).criteria}
            hand = {k: v[0] for k, v in screen_by_hand(p, AS_OF)["criteria"].items()}
            total += 1
            bad = [k for k in engine if engine[k] != hand.get(k)]
            same += not bad
            for k in bad:
                diff[k] = diff.get(k, 0) + 1
    return same, total, diff


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="patients for the throughput run")
    ap.add_argument("--base-n", type=int, default=20_000, help="patients for the one-core engine vs hand-written run")
    ap.add_argument("--mem", default="100000,1000000", help="patient counts for the peak-memory runs")
    ap.add_argument("--mem-trials", choices=["all", "one"], default="all",
                    help="trials for the memory runs: the four seed trials, or the lupus one only (faster)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tmp", default=None, help="folder for the generated files (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    trials = sorted(str(p) for p in (ROOT / "criteria").glob("*.yaml"))
    mem_sizes = [int(x) for x in a.mem.split(",") if x]
    figures: dict = {"workers": a.workers, "trials": [Path(t).stem for t in trials]}
    tmp = Path(a.tmp or tempfile.mkdtemp(prefix="batch-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        biggest = max([a.n, a.base_n, *mem_sizes])
        data = tmp / f"patients-seed{SEED}.ndjson"  # reused by later runs with the same --tmp
        if not data.exists() or _lines(data) < biggest:
            figures["generate_s"] = generate(data, biggest, a.workers)
        figures["input_mb"] = data.stat().st_size / 1e6

        same, total, diff = agreement(data, min(2000, a.base_n))
        figures["agreement"] = {"same": same, "sampled": total, "disagreements": diff}

        args = [f"--trial={t}" for t in trials]
        run = run_child("batch", str(data), str(tmp / "run"), *args, f"--workers={a.workers}", f"--limit={a.n}")
        screens = run["results"]
        figures["throughput"] = {
            "patients": run["records"], "screens": screens, "seconds": run["seconds"],
            "screens_per_s": screens / run["seconds"], "screens_per_s_per_core": screens / run["seconds"] / a.workers,
            "parent_peak_mb": run["parent_peak_mb"], "worker_peak_mb": run["worker_peak_mb"]}
        shutil.rmtree(tmp / "run", ignore_errors=True)

        t20 = f"--trial={HERE / 'trial20.yaml'}"
        eng = run_child("batch", str(data), str(tmp / "eng"), t20, "--workers=1", f"--limit={a.base_n}")
        hand = run_child("handwritten", str(data), str(tmp / "hand"), f"--limit={a.base_n}")
        figures["yardstick_one_core"] = {
            "patients": eng["records"],
            "engine_screens_per_s": eng["results"] / eng["seconds"],
            "handwritten_screens_per_s": hand["results"] / hand["seconds"],
            "engine_over_handwritten_throughput": (eng["results"] / eng["seconds"]) / (hand["results"] / hand["seconds"])}
        shutil.rmtree(tmp / "eng", ignore_errors=True)
        shutil.rmtree(tmp / "hand", ignore_errors=True)

        mem_trials = args if a.mem_trials == "all" else [f"--trial={ROOT / 'criteria' / 'Phase-II-Lupus-MSC.yaml'}"]
        figures["memory"] = []
        for n in mem_sizes:
            m = run_child("batch", str(data), str(tmp / f"mem{n}"), *mem_trials, f"--workers={a.workers}", f"--limit={n}")
            figures["memory"].append({"patients": m["records"], "trials": len(mem_trials), "seconds": m["seconds"],
                                      "parent_peak_mb": m["parent_peak_mb"], "worker_peak_mb": m["worker_peak_mb"]})
            shutil.rmtree(tmp / f"mem{n}", ignore_errors=True)
    finally:
        if a.tmp is None:
            shutil.rmtree(tmp, ignore_errors=True)

    if a.json:
        print(json.dumps(figures, indent=2))
        return
    t = figures["throughput"]
    y = figures["yardstick_one_core"]
    print(f"{t['patients']:,} patients x {len(trials)} trials on {a.workers} worker(s): {t['seconds']:.1f} s, "
          f"{t['screens_per_s']:,.0f} screens/s, {t['screens_per_s_per_core']:,.0f} per core "
          f"(parent peak {t['parent_peak_mb']:.0f} MB, worker peak {t['worker_peak_mb']:.0f} MB)")
    print(f"one core, trial20, {y['patients']:,} patients: engine pipeline {y['engine_screens_per_s']:,.0f} screens/s, "
          f"hand-written {y['handwritten_screens_per_s']:,.0f} screens/s "
          f"(engine = {y['engine_over_handwritten_throughput']:.2f} x hand-written)")
    ag = figures["agreement"]
    print(f"statuses agree on {ag['same']}/{ag['sampled']} patients; disagreements by criterion: {ag['disagreements']}")
    for m in figures["memory"]:
        print(f"memory: {m['patients']:>9,} patients x {m['trials']} trial(s): parent peak {m['parent_peak_mb']:.0f} MB, "
              f"worker peak {m['worker_peak_mb']:.0f} MB ({m['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
