"""Benchmark: one patient against the 22-criterion trial, engine vs hand-written Python; CLI start-up.

    python bench/screen_bench.py            # prints a table; --json for machine-readable figures

Both sides are measured in the same run on the same Patient object, warm, as medians of
repeated blocks. The two must agree on every status (checked before timing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import screening  # noqa: E402
from baseline import screen_by_hand  # noqa: E402
from timing import per_call, wall  # noqa: E402
from screening.tools.synth import synth_patients  # noqa: E402

AS_OF = date(2026, 11, 23)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--number", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10, help="cold CLI runs")
    ap.add_argument("--synthetic", type=int, default=2000, help="synthetic patients to compare on")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    trial = screening.load_criteria(HERE / "trial20.yaml")
    patient = screening.load_patient(HERE / "patient.json")
    engine = screening.screen(patient, trial, AS_OF)
    hand = screen_by_hand(patient, AS_OF)
    mismatch = {c.id: (c.status.value, hand["criteria"][c.id][0]) for c in engine.criteria
                if c.status.value != hand["criteria"][c.id][0]}
    if mismatch or engine.verdict.value != hand["verdict"]:
        raise SystemExit(f"engine and baseline disagree: {mismatch} {engine.verdict} {hand['verdict']}")

    # The same comparison over synthetic patients (mixed units, missing values, window edges):
    # first every status must agree, then both sides screen the whole set.
    cohort = [screening.parse_patient(p) for p in synth_patients(args.synthetic, 1, AS_OF)]
    disagree = 0
    for p in cohort:
        e, h = screening.screen(p, trial, AS_OF), screen_by_hand(p, AS_OF)
        disagree += any(c.status.value != h["criteria"][c.id][0] for c in e.criteria)
    if disagree:
        raise SystemExit(f"engine and baseline disagree on {disagree} of {len(cohort)} synthetic patients")

    def engine_cohort():
        for p in cohort:
            screening.screen(p, trial, AS_OF)

    def hand_cohort():
        for p in cohort:
            screen_by_hand(p, AS_OF)

    t_engine_cohort = per_call(engine_cohort, 1, args.repeat) / len(cohort)
    t_hand_cohort = per_call(hand_cohort, 1, args.repeat) / len(cohort)

    t_engine = per_call(lambda: screening.screen(patient, trial, AS_OF), args.number, args.repeat)
    t_hand = per_call(lambda: screen_by_hand(patient, AS_OF), args.number, args.repeat)
    t_json = per_call(lambda: screening.screen(patient, trial, AS_OF).model_dump_json(), args.number // 5, args.repeat)

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SCREENING_CACHE_DIR=cache)
        cli = [sys.executable, "-m", "screening.cli", "screen", str(HERE / "patient.json"),
               "--trial", str(HERE / "trial20.yaml"), "--as-of", "2026-11-23", "--json"]
        subprocess.run(cli, check=True, stdout=subprocess.DEVNULL, env=env)  # fill the cache
        t_cli = wall(cli, args.runs, env)
        t_cli_table = wall(cli[:-1], args.runs, env)
        t_cli_nocache = wall(cli, max(3, args.runs // 3), dict(os.environ, SCREENING_CACHE_DIR=""))
    t_python = wall([sys.executable, "-c", "pass"], args.runs)

    figures = {
        "criteria": len(trial.criteria),
        "synthetic_patients": len(cohort),
        "engine_synthetic_us": t_engine_cohort * 1e6,
        "handwritten_synthetic_us": t_hand_cohort * 1e6,
        "engine_over_handwritten_synthetic": t_engine_cohort / t_hand_cohort,
        "engine_screen_us": t_engine * 1e6,
        "handwritten_screen_us": t_hand * 1e6,
        "engine_over_handwritten": t_engine / t_hand,
        "engine_screen_plus_json_us": t_json * 1e6,
        "cli_screen_json_cold_s": t_cli,
        "cli_screen_table_cold_s": t_cli_table,
        "cli_screen_uncached_cold_s": t_cli_nocache,
        "python_pass_cold_s": t_python,
        "cli_over_python": t_cli / t_python,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"one patient x {figures['criteria']} criteria, warm, median per screen")
    print(f"  engine (screen -> ScreeningResult)   {t_engine * 1e6:9.1f} us")
    print(f"  hand-written Python (same criteria)  {t_hand * 1e6:9.1f} us")
    print(f"  ratio engine / hand-written          {t_engine / t_hand:9.2f} x")
    print(f"  engine + JSON serialisation          {t_json * 1e6:9.1f} us")
    print(f"{len(cohort)} synthetic patients (all statuses agree), median per screen over the set")
    print(f"  engine                               {t_engine_cohort * 1e6:9.1f} us")
    print(f"  hand-written Python                  {t_hand_cohort * 1e6:9.1f} us")
    print(f"  ratio engine / hand-written          {t_engine_cohort / t_hand_cohort:9.2f} x")
    print("cold start, median wall time")
    print(f"  screening screen --json (cached trial) {t_cli:6.3f} s")
    print(f"  screening screen table (cached trial)  {t_cli_table:6.3f} s")
    print(f"  screening screen --json (no cache)     {t_cli_nocache:6.3f} s")
    print(f"  python -c pass                         {t_python:6.3f} s   (CLI = {t_cli / t_python:.1f}x)")


if __name__ == "__main__":
    main()
