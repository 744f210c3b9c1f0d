"""Bullets with their own and/or and 'at least N of' bullets decided in SQL: their parts' statuses, the
bullets' statuses and the verdicts are the Python path's, and no person goes to the Python path for them."""

from __future__ import annotations

import itertools

from screening import screen
from screening.model.patient import Patient
from screening.rules.compiler import compile_text
from screening.sources.omop.load import load_profiles
from screening.sources.omop.reader import OmopSource
from screening.sql.plan import plan_trials
from screening.sql.population import SqlScreen

from .conftest import AS_OF

RULES = """
format: 1
trial: {id: SQLBUL, title: own and/or and at least N of}
data:
  route: {label: entry route, type: coded, codes: ['local:route'], values: [x, y]}
  score: {label: score, codes: ['local:score'], unit: '1', window: P3M}
  marker: {label: marker, codes: ['local:marker'], unit: '1', window: P3M}
bullets:
  inc-1: {combine: or}
  exc-1: {combine: and}
criteria:
  - {id: inc-1a, kind: inclusion, parent: inc-1, bullet: entry by route x or y, text: route x with score 5, rule: score >= 5, applies_if: route == 'x'}
  - {id: inc-1b, kind: inclusion, parent: inc-1, bullet: entry by route x or y, text: route y with score 3, rule: score >= 3, applies_if: route == 'y'}
  - {id: exc-1a, kind: exclusion, parent: exc-1, bullet: marker high and score low, text: marker high, rule: marker >= 2}
  - {id: exc-1b, kind: exclusion, parent: exc-1, bullet: marker high and score low, text: score low, rule: score < 4}
  - {id: inc-2, kind: inclusion, text: 'two of the following', at_least: 2, applies_if: "route in ['x', 'y']"}
  - {id: inc-2.1, kind: inclusion, parent: inc-2, text: score 4 or more, rule: score >= 4}
  - {id: inc-2.2, kind: inclusion, parent: inc-2, text: marker 1 or less, rule: marker <= 1}
  - {id: inc-2.3, kind: inclusion, parent: inc-2, text: 'one of the following', at_least: 1}
  - {id: inc-2.3.1, kind: inclusion, parent: inc-2.3, text: route y, rule: route == 'y'}
  - {id: inc-2.3.2, kind: inclusion, parent: inc-2.3, text: score 6 or more, rule: score >= 6}
"""


def _patients() -> list[Patient]:
    out = []
    grid = itertools.product([None, "x", "y"], [None, 1, 4, 6], [None, 0, 2])
    for i, (route, score, marker) in enumerate(grid):
        obs = [{"code": code, "value": value, "date": "2026-11-01", **({"unit": "1"} if code != "local:route" else {})}
               for code, value in (("local:route", route), ("local:score", score), ("local:marker", marker))
               if value is not None]
        out.append(Patient.model_validate({"id": f"b{i}", "birth_date": "1970-01-01", "sex": "female",
                                           "observations": obs}))
    return out


def test_bullets_decided_in_sql_as_on_the_python_path(tmp_path):
    trial = compile_text(RULES, "sqlbul.yaml")
    plan = plan_trials([trial])
    assert plan.untranslated == []
    assert [b.id for b in plan.bullets] == ["exc-1", "inc-1"]
    patients = _patients()
    db = tmp_path / "bullets.duckdb"
    load_profiles(patients, db)
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        result = SqlScreen(source, [trial], AS_OF).run()
    assert result.via_python[trial.id] == {}  # nothing referred: SQL decided every part and bullet
    ids = {text: pid for pid, text in result.persons}
    bad, seen = [], set()
    for p in patients:
        python = screen(p, trial, AS_OF)
        pid = ids[p.id]
        bad += [f"{p.id} {c.id}: python {c.status.value}, sql {s}"
                for c, s in zip(python.criteria, result.statuses[trial.id][pid]) if c.status.value != s]
        own = {b.bullet: b.status.value for b in python.bullets if b.bullet in ("inc-1", "exc-1")}
        if result.bullets[trial.id][pid] != own:
            bad.append(f"{p.id} bullets: python {own}, sql {result.bullets[trial.id][pid]}")
        if result.verdict(trial.id, pid) != python.verdict.value:
            bad.append(f"{p.id} verdict: python {python.verdict.value}, sql {result.verdict(trial.id, pid)}")
        seen |= {(b, s) for b, s in own.items()} | {("inc-2", python.criteria[4].status.value),
                                                     ("inc-2.3", python.criteria[7].status.value)}
    assert bad == []
    # every bullet takes every status somewhere, so the comparison is not vacuous
    assert seen == {(b, s) for b in ("inc-1", "exc-1", "inc-2", "inc-2.3") for s in ("pass", "fail", "unknown")}
