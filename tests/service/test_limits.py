"""The service's bounds without HTTP: screenings running at once, the queue, kept results, the funnel chart."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from screening.service.app import ResultStore
from screening.service.limits import Busy, Runner
from screening.service.svg import funnel_svg


def test_runner_bounds_running_and_waiting_work():
    async def scenario():
        runner = Runner(workers=2, queue=1)
        release = threading.Event()
        running = []
        peak = []

        def work(i):
            running.append(i)
            peak.append(len(running))
            release.wait(5)
            running.remove(i)
            return i * 10

        tasks = [asyncio.create_task(runner.run(work, i)) for i in range(3)]  # 2 running, 1 waiting
        await asyncio.sleep(0.2)
        assert runner.outstanding == 3 and runner.saturated()
        with pytest.raises(Busy):
            await runner.run(work, 99)  # a fourth: refused at once, not queued
        release.set()
        assert await asyncio.gather(*tasks) == [0, 10, 20]
        assert max(peak) == 2 and runner.outstanding == 0
        runner.shutdown()

    asyncio.run(scenario())


def test_runner_timeout_keeps_the_slot_until_the_work_ends():
    async def scenario():
        runner = Runner(workers=1, queue=0)
        release = threading.Event()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(runner.run(release.wait, 5), 0.1)
        assert runner.outstanding == 1  # still running on its thread: the bound holds
        with pytest.raises(Busy):
            await runner.run(time.sleep, 0)
        release.set()
        for _ in range(50):
            if runner.outstanding == 0:
                break
            await asyncio.sleep(0.02)
        assert runner.outstanding == 0
        assert await runner.run(lambda: "free again") == "free again"
        runner.shutdown()

    asyncio.run(scenario())


def test_result_store_expires_and_is_bounded():
    now = [100.0]
    store = ResultStore(ttl_s=60, max_items=2, clock=lambda: now[0])
    a, b = store.put("A"), store.put("B")
    assert store.get(a) == "A" and store.get("guess") is None
    c = store.put("C")  # over the bound: the oldest goes
    assert store.get(a) is None and store.get(b) == "B" and store.get(c) == "C"
    now[0] += 61
    assert store.get(b) is None and store.get(c) is None
    assert len(a) >= 20  # keys are not guessable


def test_funnel_svg_scales_bars_and_escapes_text():
    steps = [{"step": 0, "criterion": "(screened)", "kind": "", "text": "", "pass": "", "fail": "", "unknown": "",
              "remaining": 10, "all_passed": 10},
             {"step": 1, "criterion": "inc-<1>", "kind": "inclusion", "text": "Age & sex", "pass": 6, "fail": 4,
              "unknown": 0, "remaining": 6, "all_passed": 5}]
    svg = funnel_svg("T&1", steps)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'width="420.0"' in svg and 'width="252.0"' in svg and 'width="210.0"' in svg  # 10, 6 and 5 of 10
    assert "inc-&lt;1&gt;" in svg and "Age &amp; sex" in svg and "T&amp;1" in svg and "<1>" not in svg
    assert "6 left · pass 6 · fail 4 · unknown 0" in svg
