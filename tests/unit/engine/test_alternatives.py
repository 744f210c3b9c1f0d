"""'One of the following' and 'at least N of': a bullet with at_least holds when enough of its nested
bullets hold (Kleene: unknown while the undecided ones could still make it); the alternatives show their
own reading and take the bullet's status, so the verdict reads the bullet once."""

from __future__ import annotations

import pytest

from screening import screen
from screening.errors import RuleFileError
from screening.rules.compiler import compile_text
from screening.sql.plan import plan_trials

RULES = """
format: 1
trial: {id: ALT, title: alternatives}
data:
  stage: {label: FIGO stage, type: coded, codes: ['local:figo-stage'], values: [IA, IB, II, III]}
  grade: {label: grade, type: coded, codes: ['local:grade'], values: ['1', '2', '3']}
  a: {label: a, type: fact, names: [a]}
  b: {label: b, type: fact, names: [b]}
  c: {label: c, type: fact, names: [c]}
criteria:
  - {id: inc-10, kind: inclusion, text: "one of the following combinations", at_least: 1}
  - {id: inc-10.1, parent: inc-10, kind: inclusion, text: "Cohort A1:", at_least: 1}
  - {id: inc-10.1.1, parent: inc-10.1, kind: inclusion, text: "Stage IA, grade 3", rule: "stage == 'IA' and grade == '3'"}
  - {id: inc-10.1.2, parent: inc-10.1, kind: inclusion, text: "Stage IB, grade 1 or 2",
     rule: "stage == 'IB' and grade in ['1', '2']"}
  - {id: inc-10.2, parent: inc-10, kind: inclusion, text: "Stage III, any grade", rule: "stage == 'III'"}
  - {id: exc-2, kind: exclusion, text: "two or more of:", at_least: 2}
  - {id: exc-2.1, parent: exc-2, kind: exclusion, text: a, rule: a}
  - {id: exc-2.2, parent: exc-2, kind: exclusion, text: b, rule: b}
  - {id: exc-2.3, parent: exc-2, kind: exclusion, text: c, rule: c}
"""
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "alt.yaml")


def run(trial, stage=None, grade=None, **facts):
    obs = [{"code": "local:figo-stage", "value": stage, "date": "2026-10-01"}] if stage else []
    obs += [{"code": "local:grade", "value": grade, "date": "2026-10-01"}] if grade else []
    result = screen({"id": "p", "observations": obs,
                     "facts": [{"name": k, "value": v} for k, v in facts.items()]}, trial, as_of=AS_OF)
    return result, {c.id: c for c in result.criteria}


def test_one_alternative_is_enough(trial):
    result, r = run(trial, "IB", "2", a=False, b=False, c=False)
    assert [r[k].status.value for k in ("inc-10", "inc-10.1", "inc-10.1.1", "inc-10.1.2", "inc-10.2")] == ["pass"] * 5
    assert r["inc-10.1.1"].met is False and "this alternative does not hold" in r["inc-10.1.1"].reason
    assert "inc-10.1.2" in r["inc-10"].reason
    assert result.verdict.value == "eligible"


def test_none_holds(trial):
    result, r = run(trial, "IB", "3", a=False, b=False, c=False)
    assert r["inc-10"].status.value == "fail" and "none of the 2 alternatives holds" in r["inc-10"].reason
    assert r["inc-10.2"].status.value == "fail"
    assert result.verdict.value == "ineligible"


def test_unknown_while_an_undecided_alternative_could_make_it(trial):
    result, r = run(trial, "IB", None, a=False, b=False, c=False)  # grade missing: IB 1/2 or IA 3 undecided
    assert r["inc-10"].status.value == "unknown"
    assert "grade" in result.missing
    result, r = run(trial, "III", None, a=False, b=False, c=False)  # stage III decides it whatever the grade
    assert r["inc-10"].status.value == "pass"


def test_at_least_two_for_an_exclusion(trial):
    _, r = run(trial, "III", a=True, b=False, c=False)
    assert r["exc-2"].status.value == "pass" and r["exc-2.1"].status.value == "pass"
    _, r = run(trial, "III", a=True, b=True, c=False)
    assert r["exc-2"].status.value == "fail" and r["exc-2.3"].status.value == "fail"
    _, r = run(trial, "III", a=True, b=False)  # c unknown: one more could make two
    assert r["exc-2"].status.value == "unknown"


def test_sql_decides_them_as_the_python_path(trial, tmp_path):
    import datetime as dt
    import itertools

    from screening.model.patient import Patient
    from screening.sources.omop.load import load_profiles
    from screening.sources.omop.reader import OmopSource
    from screening.sql.population import SqlScreen

    assert plan_trials([trial]).untranslated == []
    patients = []
    for stage, grade, a, b in itertools.product([None, "IA", "IB", "III"], [None, "2", "3"], [None, True, False],
                                                [None, True, False]):
        obs = [{"code": "local:figo-stage", "value": stage, "date": "2026-10-01"}] if stage else []
        obs += [{"code": "local:grade", "value": grade, "date": "2026-10-01"}] if grade else []
        facts = [{"name": k, "value": v} for k, v in (("a", a), ("b", b), ("c", False)) if v is not None]
        patients.append(Patient.model_validate({"id": f"p{len(patients)}", "observations": obs, "facts": facts}))
    db = tmp_path / "alt.duckdb"
    load_profiles(patients, db)
    as_of = dt.date.fromisoformat(AS_OF)
    with OmopSource.open(str(db), as_of=as_of) as source:
        result = SqlScreen(source, [trial], as_of).run()
    assert result.via_python[trial.id] == {}
    ids = {text: pid for pid, text in result.persons}
    bad, seen = [], set()
    for p in patients:
        python = screen(p, trial, as_of)
        sql = result.statuses[trial.id][ids[p.id]]
        seen |= {(c.id, c.status.value) for c in python.criteria}
        bad += [f"{p.id} {c.id}: python {c.status.value}, sql {s}" for c, s in zip(python.criteria, sql)
                if c.status.value != s]
        if result.verdict(trial.id, ids[p.id]) != python.verdict.value:
            bad.append(f"{p.id}: verdict python {python.verdict.value}, sql {result.verdict(trial.id, ids[p.id])}")
    assert bad == []
    assert seen >= {(c, s) for c in ("inc-10", "exc-2") for s in ("pass", "fail", "unknown")}


@pytest.mark.parametrize("extra, message", [
    ("  - {id: x, kind: inclusion, text: x, at_least: 2}\n  - {id: x.1, parent: x, kind: inclusion, text: y, rule: a}\n",
     "at_least: 2, but 'x' has 1 nested bullet"),
    ("  - {id: x, kind: inclusion, text: x, at_least: 1, rule: a}\n  - {id: x.1, parent: x, kind: inclusion, text: y, rule: a}\n",
     "no rule or confirm"),
    ("  - {id: x, kind: inclusion, text: x, at_least: 1}\n  - {id: x.1, parent: x, kind: exclusion, text: y, rule: a}\n",
     "alternatives are of one kind"),
    ("  - {id: x, kind: inclusion, text: x, at_least: 0}\n", "greater than or equal to 1"),
])
def test_check_rejects(extra, message):
    with pytest.raises(RuleFileError) as err:
        compile_text(RULES + extra, "bad.yaml")
    assert message in str(err.value)
