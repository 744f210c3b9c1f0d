"""Trials encoded from ClinicalTrials.gov records with `screening new`, screened on example patients.

Like the seed trials: examples/<trial id>/expected.json maps each patient file to the
screening date, the verdict, every criterion's status, and words some reasons must contain.
Each rule file must still hold every bullet of its record verbatim (as `text` or `bullet`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from screening import load_criteria, load_patient, screen
from screening.authoring import read_study, split_criteria

ROOT = Path(__file__).resolve().parents[2]
CRITERIA = ROOT / "criteria"
EXAMPLES = ROOT / "examples"
RECORDS = ROOT / "tests" / "data" / "ctgov"
TRIALS = ["NCT03722472", "NCT05594173", "NCT06323538"]


def _cases():
    for trial in TRIALS:
        expected = json.loads((EXAMPLES / trial / "expected.json").read_text(encoding="utf-8"))
        for name, case in expected.items():
            yield pytest.param(trial, name, case, id=f"{trial}/{name}")


@pytest.fixture(scope="module")
def trials():
    return {t: load_criteria(CRITERIA / f"{t}.yaml") for t in TRIALS}


@pytest.mark.parametrize("trial,name,case", list(_cases()))
def test_example_patient(trials, trial: str, name: str, case: dict) -> None:
    result = screen(load_patient(EXAMPLES / trial / name), trials[trial], case["as_of"], complete=case.get("complete"))
    assert {c.id: c.status.value for c in result.criteria} == case["statuses"]
    assert result.verdict.value == case["verdict"]
    reasons = {c.id: c.reason for c in result.criteria}
    for cid, words in case.get("reasons", {}).items():
        assert words in reasons[cid], (cid, reasons[cid])
    assert result.missing == case.get("missing", [])
    assert result.pending_confirmation == case.get("pending_confirmation", [])


@pytest.mark.parametrize("trial", TRIALS)
def test_each_trial_has_the_four_kinds_of_example(trial: str) -> None:
    expected = json.loads((EXAMPLES / trial / "expected.json").read_text(encoding="utf-8"))
    criteria = {c.criterion.id: c.criterion for c in load_criteria(CRITERIA / f"{trial}.yaml").criteria}
    verdicts = [c["verdict"] for c in expected.values()]
    assert "eligible" in verdicts and "undetermined" in verdicts
    failed = [cid for c in expected.values() for cid, s in c["statuses"].items() if s == "fail"]
    assert any(criteria[cid].kind.value == "inclusion" for cid in failed)
    if any(c.kind.value == "exclusion" and c.rule for c in criteria.values()):  # else only a person excludes
        assert any(criteria[cid].kind.value == "exclusion" for cid in failed)


@pytest.mark.parametrize("trial", TRIALS)
def test_every_bullet_of_the_record_is_in_the_rule_file(trial: str) -> None:
    import yaml

    doc = yaml.safe_load((CRITERIA / f"{trial}.yaml").read_text(encoding="utf-8"))
    covered = {c["text"] for c in doc["criteria"]} | {c["bullet"] for c in doc["criteria"] if c.get("bullet")}
    bullets = split_criteria(read_study(RECORDS / f"{trial}.json").criteria).bullets
    missing = [b.id for b in bullets if b.text not in covered]
    assert not missing, missing
    for c in doc["criteria"]:
        assert "draft" not in c and not str(c.get("confirm", "")).startswith("draft:"), c["id"]
