"""Timing helpers shared by the benchmarks: medians of repeated blocks, cold process wall times."""

from __future__ import annotations

import statistics
import subprocess
import time


def per_call(fn, number: int, repeat: int) -> float:
    """Median seconds per call over ``repeat`` blocks of ``number`` calls."""
    blocks = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        blocks.append((time.perf_counter() - t) / number)
    return statistics.median(blocks)


def wall(cmd: list[str], runs: int, env: dict | None = None) -> float:
    """Median wall time of a command, started cold (a new process) each run."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)
