"""A compiled trial is shared safely: screening from many threads gives the sequential results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import screening

ROOT = Path(__file__).resolve().parents[3]
AS_OF = date(2026, 11, 23)


def test_one_compiled_trial_screens_from_many_threads():
    trial = screening.load_criteria(ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml")
    patients = [screening.load_patient(p) for p in sorted((ROOT / "examples" / "Phase-II-Lupus-MSC").glob("*.json"))
                if p.name != "expected.json"]
    assert len(patients) >= 4
    sequential = [screening.screen(p, trial, AS_OF).model_dump_json() for p in patients]
    work = [i % len(patients) for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda i: screening.screen(patients[i], trial, AS_OF).model_dump_json(), work))
    assert threaded == [sequential[i] for i in work]
    assert len(set(sequential)) == len(patients)  # the examples really differ
