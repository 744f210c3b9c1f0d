"""`screening load` and the OMOP reader on a synthetic population: persons per second each way.

    python bench/omop_bench.py --n 100000 [--json]

Wall and CPU time are both printed: on a shared machine the CPU time is the steadier figure.
Generates N synthetic profiles of the seed trials (as validated Patient models), writes them as
an OMOP DuckDB file and as a Parquet folder (timed: load only, generation apart), then reads every
person back as a profile (timed), and checks on the first 200 that the read-back profiles screen
exactly like the originals against the four seed trials.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screening import Patient, load_criteria, screen  # noqa: E402
from screening.sources.omop import OmopSource  # noqa: E402
from screening.sources.omop.load import load_profiles  # noqa: E402
from screening.tools.synth import synth_patients  # noqa: E402

AS_OF = dt.date(2026, 11, 23)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    patients = [Patient.model_validate(d) for d in synth_patients(args.n, args.seed, AS_OF)]
    gen = time.perf_counter() - t
    records = sum(len(p.observations) + len(p.conditions) + len(p.medications) + len(p.procedures)
                  + len(p.immunizations) + len(p.facts) for p in patients)
    out: dict = {"persons": args.n, "records": records, "generate_s": round(gen, 2)}
    tmp = Path(tempfile.mkdtemp(prefix="omop-bench-"))
    try:
        for kind, target in (("duckdb", tmp / "pop.duckdb"), ("parquet", tmp / "pop")):
            t, c = time.perf_counter(), time.process_time()
            summary = load_profiles(patients, target)
            load, load_cpu = time.perf_counter() - t, time.process_time() - c
            size = sum(f.stat().st_size for f in ([target] if target.is_file() else target.iterdir()))
            t, c = time.perf_counter(), time.process_time()
            with OmopSource.open(str(target), as_of=AS_OF) as src:
                n = sum(1 for _ in src)
            read, read_cpu = time.perf_counter() - t, time.process_time() - c
            assert n == args.n and summary.persons == args.n
            out[kind] = {"load_s": round(load, 2), "load_cpu_s": round(load_cpu, 2),
                         "load_persons_per_s": round(args.n / load),
                         "read_s": round(read, 2), "read_cpu_s": round(read_cpu, 2),
                         "read_persons_per_s": round(args.n / read),
                         "bytes": size, "concepts": summary.concepts}
        trials = [load_criteria(p) for p in sorted(glob.glob(str(ROOT / "criteria" / "*.yaml")))]
        with OmopSource.open(str(tmp / "pop.duckdb"), as_of=AS_OF, persons=range(1, 201)) as src:
            back = [p for p, _ in src]
        for a, b in zip(patients[:200], back):
            for trial in trials:
                ra, rb = screen(a, trial, as_of=AS_OF), screen(b, trial, as_of=AS_OF)
                assert [c.status for c in ra.criteria] == [c.status for c in rb.criteria], (a.id, trial.file)
        out["round_trip_checked"] = len(back)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.n:,} synthetic persons, {records:,} records (generated in {gen:.1f} s)")
    for kind in ("duckdb", "parquet"):
        r = out[kind]
        print(f"  {kind:8} load {r['load_s']:7.1f} s wall, {r['load_cpu_s']:.1f} s CPU "
              f"({r['load_persons_per_s']:,} persons/s); read back {r['read_s']:7.1f} s wall, "
              f"{r['read_cpu_s']:.1f} s CPU ({r['read_persons_per_s']:,} persons/s); {r['bytes'] / 1e6:.1f} MB")
    print(f"  round trip: the first {out['round_trip_checked']} screen the same against the seed trials")


if __name__ == "__main__":
    main()
