"""Coordinator-style adversarial charts: never a false pass, never a false eligible.

A criterion that passes where the coordinator's answer is fail (or unknown), or a verdict
`eligible` where the patient is not, fails the test; so does a fail where the truth is pass
(a patient wrongly excluded), and an unknown whose reason does not name the record to ask
about. An unknown where the truth is decided is safe: it is counted by report.py, not failed.
Answers the engine gets wrong today are marked strict xfail in expected.json: remove the
mark when the fix lands (an unexpected pass fails the run).
"""

from __future__ import annotations

import pytest

from .suite import FALSE_FAIL, FALSE_PASS, RIGHT, SAFE_UNKNOWN, UNNAMED, checks, classify


def _params():
    for check in checks():
        marks = []
        if "xfail" in check.expect:
            marks.append(pytest.mark.xfail(strict=True, reason=check.expect["xfail"]))
        yield pytest.param(check, id=check.id, marks=marks)


@pytest.mark.parametrize("check", list(_params()))
def test_chart(check) -> None:
    category, got, reason = classify(check)
    truth = check.expect["truth"]
    if category == FALSE_PASS:
        pytest.fail(f"false {'eligible' if check.criterion == 'verdict' else 'pass'}: engine says {got}, "
                    f"coordinator says {truth} ({check.expect.get('why', '')}); engine's reason: {reason}")
    if category == FALSE_FAIL:
        pytest.fail(f"wrong: engine says {got}, coordinator says {truth} ({check.expect.get('why', '')}); "
                    f"engine's reason: {reason}")
    if category == UNNAMED:
        pytest.fail(f"unknown, but the reason does not name {check.expect['mentions']!r}: {reason}")
    assert category in (RIGHT, SAFE_UNKNOWN)


def test_suite_size() -> None:
    """At least 40 charts across the four seed trials, each trial with some."""
    charts = {(c.trial, c.chart) for c in checks()}
    assert len(charts) >= 40
    assert {t for t, _ in charts} == {"Phase-II-Lupus-MSC", "MSV-allo-LN", "NCT01056471", "NCT04348461"}


def test_every_chart_file_has_an_expectation() -> None:
    from .suite import HERE, TRIALS, expectations

    for trial in TRIALS:
        files = {p.name for p in (HERE / trial).glob("*.json")} - {"expected.json"}
        assert files == set(expectations(trial)), trial
