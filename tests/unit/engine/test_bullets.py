"""Bullet-level results: a bullet split into parts has its own status, its parts combined with the bullet's
own and/or, and the verdict is taken from the bullets (issue: real charts)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from screening import RuleFileError, Status, Verdict, compile_text, load_criteria, load_patient, screen

ROOT = Path(__file__).resolve().parents[3]
P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN


@pytest.fixture(scope="module")
def msv():
    return load_criteria(ROOT / "criteria" / "MSV-allo-LN.yaml")


@pytest.fixture(scope="module")
def lupus():
    return load_criteria(ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml")


def msv_patient(biopsy: str, course: str | None) -> dict:
    """MSV-allo-LN's eligible example with the biopsy (and its class) on ``biopsy`` and the nephritis course
    as charted (``None``: not recorded)."""
    doc = json.loads((ROOT / "examples/MSV-allo-LN/eligible.json").read_text())
    doc = copy.deepcopy(doc)
    doc["procedures"][0]["date"] = biopsy
    obs = [o for o in doc["observations"] if o["code"] != "local:ln-course" or course is not None]
    for o in obs:
        if o["code"] == "local:isn-rps-class":
            o["date"] = biopsy
        if o["code"] == "local:ln-course":
            o["value"] = course
    doc["observations"] = obs
    return doc


def bullet(result, key):
    return next(b for b in result.bullets if b.bullet == key)


def test_every_criterion_is_in_one_bullet_in_rule_file_order(lupus):
    r = screen(load_patient(ROOT / "examples/Phase-II-Lupus-MSC/eligible.json"), lupus, "2026-11-23")
    assert [p.id for b in r.bullets for p in b.parts] == [c.id for c in r.criteria]
    inc2 = bullet(r, "inc-2")
    assert [p.id for p in inc2.parts] == ["inc-2a", "inc-2b", "inc-2c"]
    assert (inc2.combine, inc2.status, inc2.met) == ("and", P, True)
    assert inc2.text.startswith("Fulfilling following criteria for active renal disease:")
    exc1 = bullet(r, "exc-1")
    assert (exc1.combine, exc1.status, exc1.met) == ("or", P, False)  # an exclusion holds when any part does
    assert bullet(r, "exc-2").parts[0].id == "exc-2" and bullet(r, "exc-2").text.endswith("of Cyclophosphamide")
    assert r.verdict is Verdict.ELIGIBLE
    assert {c.id: c.parent for c in r.criteria}["inc-2b"] == "inc-2"


def test_an_excluding_part_excludes_the_bullet(lupus):
    r = screen(load_patient(ROOT / "examples/Phase-II-Lupus-MSC/excluded-recambio-plasmatico.json"), lupus,
               "2026-11-23")
    exc1 = bullet(r, "exc-1")
    assert (exc1.status, exc1.met) == (F, True)
    assert "exc-1d fails" in exc1.reason
    assert r.verdict is Verdict.INELIGIBLE and r.summary == "ineligible: excluded by exc-1d"


def test_two_routes_that_both_fail_make_the_bullet_fail_when_the_route_is_unknown(msv):
    # no course of the nephritis recorded: which route applies is unknown; the biopsy (2025-06-01) is older
    # than both windows (6 and 12 months before 2026-11-23), so neither route can hold
    r = screen(msv_patient("2025-06-01", None), msv, "2026-11-23")
    parts = {c.id: c.status for c in r.criteria}
    assert parts["inc-3a"] is U and parts["inc-3b"] is U  # each part alone is undecided
    inc3 = bullet(r, "inc-3")
    assert (inc3.combine, inc3.status) == ("or", F)
    assert [(p.applicable, p.holds) for p in inc3.parts] == [(None, False), (None, False)]
    assert inc3.reason == ("no route holds: inc-3a fails, whether or not it applies; "
                           "inc-3b fails, whether or not it applies")
    assert r.verdict is Verdict.INELIGIBLE
    assert "inc-3" in r.failed and "fails inc-3 (" in r.summary


def test_one_route_holding_is_not_enough_while_the_route_is_unknown(msv):
    # biopsy 8 months ago: inside the 12-month route, outside the 6-month one
    inc3 = bullet(screen(msv_patient("2026-03-20", None), msv, "2026-11-23"), "inc-3")
    assert inc3.status is U and [p.holds for p in inc3.parts] == [False, True]


@pytest.mark.parametrize("course, status", [("moderate/severe recurrence", P), ("partial response", F)])
def test_the_route_that_applies_decides(msv, course, status):
    r = screen(msv_patient("2026-03-20", course), msv, "2026-11-23")
    assert bullet(r, "inc-3").status is status
    assert [c.status for c in r.criteria if c.parent == "inc-3"] == [status, P]  # the other is not applicable


def test_a_bullets_entry_names_a_split_bullet():
    text = """
trial: {id: T, title: t}
bullets:
  inc-9: {combine: or}
criteria:
  - {id: a1, kind: inclusion, text: t, parent: inc-1, bullet: 'a or b', rule: 'true'}
"""
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "t.yaml")
    assert "no criterion has parent 'inc-9' (bullets split into parts: inc-1)" in str(err.value)
