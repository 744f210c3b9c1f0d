"""The adversarial charts and their expectations, screened and scored (shared by the tests and report.py).

Each tests/adversarial/<trial>/expected.json maps a chart file (a native profile or a FHIR
Bundle) to what a careful coordinator would answer for the criteria the chart is written to
trip: `truth` (pass, fail, or unknown when the chart cannot decide it), `why`, optionally
`accept` (other answers that are not wrong), `ask` (the question that decides it) and
`mentions` (a word an unknown's reason must contain: the record to ask about). `xfail` marks
an answer the engine gets wrong today; the mark is strict, so it must go once fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TRIALS = ["Phase-II-Lupus-MSC", "MSV-allo-LN", "NCT01056471", "NCT04348461"]

RIGHT, SAFE_UNKNOWN, FALSE_PASS, FALSE_FAIL, UNNAMED = "right", "safe-unknown", "false-pass", "false-fail", "unknown-unnamed"


@dataclass(frozen=True)
class Check:
    """One criterion of one chart: what the coordinator says and what the engine must not say."""

    trial: str
    chart: str
    criterion: str
    expect: dict

    @property
    def id(self) -> str:
        return f"{self.trial}/{self.chart}/{self.criterion}"


def expectations(trial: str) -> dict:
    """The trial's expected.json: chart file name -> expectation."""
    return json.loads((HERE / trial / "expected.json").read_text(encoding="utf-8"))


def checks() -> list[Check]:
    """Every listed criterion of every chart, and each chart's verdict (criterion 'verdict')."""
    out = []
    for trial in TRIALS:
        for chart, exp in expectations(trial).items():
            for cid, e in exp["criteria"].items():
                out.append(Check(trial, chart, cid, e))
            out.append(Check(trial, chart, "verdict", exp["verdict"]))
    return out


@lru_cache(maxsize=None)
def compiled(trial: str):
    from screening import load_criteria

    return load_criteria(ROOT / "criteria" / f"{trial}.yaml")


@lru_cache(maxsize=None)
def result(trial: str, chart: str):
    """The engine's result for one chart, on the expectation's screening date."""
    from screening import load_patient, screen

    exp = expectations(trial)[chart]
    return screen(load_patient(HERE / trial / chart), compiled(trial), exp["as_of"], complete=exp.get("complete"))


def classify(check: Check) -> tuple[str, str, str]:
    """(category, what the engine said, its reason) for one check."""
    res = result(check.trial, check.chart)
    e = check.expect
    if check.criterion == "verdict":
        got = res.verdict.value
        ok = {e["truth"], *e.get("accept", [])}
        if got in ok:
            return RIGHT, got, res.summary
        if got == "undetermined":
            return SAFE_UNKNOWN, got, res.summary
        return (FALSE_PASS if got == "eligible" else FALSE_FAIL), got, res.summary
    c = next(c for c in res.criteria if c.id == check.criterion)
    got = c.status.value
    if got == "unknown" and e.get("mentions") and e["mentions"].lower() not in c.reason.lower():
        return UNNAMED, got, c.reason
    if got == e["truth"] or got in e.get("accept", []):
        return RIGHT, got, c.reason
    if got == "unknown":
        return SAFE_UNKNOWN, got, c.reason
    return (FALSE_PASS if got == "pass" else FALSE_FAIL), got, c.reason
