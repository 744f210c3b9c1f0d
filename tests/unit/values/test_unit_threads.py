"""Unit conversion under concurrency: a conversion that needs a context (or a molar mass) never leaks into
another item's conversion running at the same moment, and no wrong factor is ever memoised.

Before the fix, activating the creatinine_ratio context on the shared pint registry in one thread let
mg/mmol convert to mg/mg in another thread whose item named no context; about one screen in eight of
trial B then passed on a value that must stay unknown.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from screening import compile_text, screen
from screening.values import ucum, units
from screening.errors import UnitError

AS_OF = date(2026, 11, 23)


def _trial(trial_id: str, upcr_extra: str) -> object:
    return compile_text(f"""
format: 1
trial: {{id: {trial_id}, title: UPCR threshold}}
data:
  upcr:
    label: UPCR
    names: [UPCR]
    unit: mg/mg
{upcr_extra}
criteria:
  - id: inc-upcr
    kind: inclusion
    text: UPCR at least 1 mg/mg
    rule: upcr >= 1
""", f"{trial_id}.yaml")


# Trial A converts through creatinine's molar mass; trial B must leave mg/mmol unconverted (unknown).
TRIAL_A = _trial("A", "    context: creatinine_ratio")
TRIAL_B = _trial("B", "")

# Spellings that are not precomputed at compile time, so screening converts them through pint.
A_UNITS = ["ug/umol", "mg / mmol", "milligram/millimole", "kg/kmol", "g/mol", "mg/mmol"]
B_UNITS = ["mg/mmol", "mg / mmol", "ug/umol", "g/mol"]


def _patient(pid: str, value: float, unit: str) -> dict:
    return {"id": pid, "observations": [{"name": "UPCR", "value": value, "unit": unit, "date": "2026-11-10"}]}


def _work() -> list[tuple[object, dict]]:
    work = []
    for i in range(240):
        if i % 2:
            unit = A_UNITS[i // 2 % len(A_UNITS)]
            work.append((TRIAL_A, _patient(f"a{i}", 150.0, unit)))
        else:
            unit = B_UNITS[i // 2 % len(B_UNITS)]
            work.append((TRIAL_B, _patient(f"b{i}", 150.0, unit)))
    return work


def _clear_caches() -> None:
    units.conversion_factor.cache_clear()
    units.parse_unit.cache_clear()
    ucum.to_pint_string.cache_clear()


def _run(item: tuple[object, dict]) -> tuple[str, str]:
    trial, patient = item
    c = screen(patient, trial, as_of=AS_OF).criteria[0]
    return c.status.value, c.reason


def test_sequential_results_are_what_the_physics_says():
    for trial, patient in _work()[:24]:
        status, reason = _run((trial, patient))
        if trial is TRIAL_A:
            assert status == "pass", reason  # 150 mg/mmol is 1.33 mg/mg
        else:
            assert status == "unknown" and "cannot be converted" in reason, reason


def test_two_trials_screened_concurrently_with_cold_caches_give_the_sequential_results():
    work = _work()
    _clear_caches()
    sequential = [_run(w) for w in work]
    for _ in range(15):
        _clear_caches()
        with ThreadPoolExecutor(max_workers=8) as pool:
            threaded = list(pool.map(_run, work))
        wrong = [(w[0].id, w[1]["observations"][0]["unit"], t) for w, s, t in zip(work, sequential, threaded) if s != t]
        assert not wrong, f"{len(wrong)} of {len(work)} screens differ from the sequential run, e.g. {wrong[:3]}"
    # and nothing wrong was memoised: the same conversions, asked again on a warm cache
    with pytest.raises(UnitError):
        units.conversion_factor("mg/mmol", "mg/mg")
    assert units.conversion_factor("mg/mmol", "mg/mg", "creatinine_ratio") == pytest.approx(1 / 113.12)


def test_conversion_factors_from_many_threads_at_once():
    """Direct calls: half of them need the context, half must refuse without it."""
    barrier = threading.Barrier(8)

    def job(k: int) -> list:
        barrier.wait()
        out = []
        for i in range(60):
            unit = ["mg/mmol", "ug/umol", "g/mol"][i % 3]
            if k % 2:
                out.append(round(units.conversion_factor(unit, "mg/mg", "creatinine_ratio"), 12))
            else:
                try:
                    out.append(units.conversion_factor(unit, "mg/mg"))
                except UnitError:
                    out.append("incompatible")
        return out

    for _ in range(10):
        _clear_caches()
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(job, range(8)))
        for k, res in enumerate(results):
            expected = round(1 / 113.12, 12) if k % 2 else "incompatible"
            assert res == [expected] * 60, (k, [r for r in res if r != expected][:3])
