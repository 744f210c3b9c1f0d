"""The screen table: rows short enough to scan, exclusions in words, each reading once in the detail view."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from screening import load_criteria, load_patient, screen
from screening.cli import app
from screening.report.table import brief_reason, print_results

ROOT = Path(__file__).resolve().parents[3]
LUPUS = ROOT / "examples" / "Phase-II-Lupus-MSC"
RULES = ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml"


@pytest.fixture(scope="module")
def results():
    trial = load_criteria(RULES)
    cases = json.loads((LUPUS / "expected.json").read_text())
    return [screen(load_patient(LUPUS / name), trial, case["as_of"], complete=case.get("complete"))
            for name, case in cases.items()]


def rendered(result, explain=False) -> str:
    buf = io.StringIO()
    print_results([result], Console(file=buf, width=100, color_system=None), explain=explain)
    return buf.getvalue()


def row_heights(text: str) -> dict[str, int]:
    """Lines of each row of the table, by the id in its first cell."""
    heights, current = {}, None
    for line in text.splitlines():
        if line.startswith("│"):
            cell = line.split("│")[1].strip()
            if cell:
                current = cell
                heights[current] = 0
            heights[current] += 1
    return heights


def test_rows_are_one_or_two_lines_at_100_columns(results):
    heights = [h for r in results for h in row_heights(rendered(r)).values()]
    assert len(heights) > 14 * 19
    assert sum(h <= 2 for h in heights) / len(heights) >= 0.95
    assert max(heights) <= 3


def test_the_reading_and_chart_references_are_left_to_the_detail_view(results):
    r = next(r for r in results if r.patient == "lupus-recent-cyclophosphamide")
    table = rendered(r)
    assert "[reading:" not in table and "MedicationAdministration/cyc-2" not in table
    assert "--explain" in table  # says where the rest is
    exc2 = next(c for c in r.criteria if c.id == "exc-2")
    assert brief_reason(exc2).startswith("cyclophosphamide started within 6 months: cyclophosphamide 500 mg IV")


def test_exclusions_say_excluded_or_not_in_words(results):
    r = next(r for r in results if r.patient == "lupus-recent-cyclophosphamide")
    lines = {line.split("│")[1].strip(): line for line in rendered(r).splitlines()
             if line.startswith("│") and line.split("│")[1].strip()}
    assert "fail: excluded" in lines["exc-2"]
    assert "pass: not excluded" in lines["exc-3"]
    assert "excluded" not in lines["inc-1"]


def test_explain_gives_each_reading_once_with_the_evidence(results):
    r = next(r for r in results if r.patient == "lupus-recent-cyclophosphamide")
    text = rendered(r, explain=True)
    notes = [c.note for c in r.criteria if c.note]
    for note in notes:  # once per criterion that has it (several criteria share one reading)
        assert text.count(f"reading: {note}\n") == notes.count(note), note
    assert text.count("[reading:") == 0
    assert "evidence: cyclophosphamide: completed on 2026-06-23 'cyclophosphamide 500 mg IV' " \
           "[MedicationAdministration/cyc-2]" in text.replace("\n", " ")


def test_explain_one_criterion_of_a_patient_file():
    runner = CliRunner()
    args = ["explain", str(LUPUS / "excluded-cyclophosphamide-5-months.json"), "exc-2", "-t", str(RULES),
            "--as-of", "2026-11-23"]
    out = runner.invoke(app, args, env={"COLUMNS": "100"})
    assert out.exit_code == 0, out.output
    assert "exc-2 (exclusion): fail: excluded" in out.output
    assert "reading: 'prior N months of randomization' counted back from the screening date" in out.output
    assert "inc-1" not in out.output
    bullet = runner.invoke(app, args[:2] + ["inc-2"] + args[3:])
    assert "inc-2 (inclusion bullet, parts combined by 'and'): pass" in bullet.output
    assert [ln.split(" ")[0] for ln in bullet.output.splitlines() if ln.startswith("inc-2")] == \
           ["inc-2", "inc-2a", "inc-2b", "inc-2c"]
    wrong = runner.invoke(app, args[:2] + ["inc-9"] + args[3:])
    assert wrong.exit_code == 2 and "no criterion or bullet 'inc-9' in Phase-II-Lupus-MSC" in wrong.output
