"""onset_within(set, window) in SQL: an acute event dated by its onset, with the fail-safe rule, gives the
Python path's status for every person (the charts of the engine's own tests, and their mixtures)."""

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
trial: {id: SQLON, title: onset within}
concepts:
  acs_mi_stroke:
    label: acute coronary syndrome, myocardial infarction or stroke
    codes: ['icd10:I21*', 'icd10:I63*', 'snomed:22298006', 'snomed:230690007']
    names: [myocardial infarction, stroke]
    exclude: [old_mi]
  old_mi: {label: old myocardial infarction, codes: ['icd10:I25.2'], names: [old myocardial infarction]}
criteria:
  - {id: exc-5, kind: exclusion, text: "myocardial infarction or stroke within the prior 12 months",
     rule: "onset_within(acs_mi_stroke, 'P12M')"}
  - {id: inc-1, kind: inclusion, text: "no myocardial infarction or stroke in the last month",
     rule: "not onset_within(acs_mi_stroke, 'P1M')"}
"""
RECORDS = [
    {"code": "snomed:230690007", "name": "Stroke", "onset": "2010-07-18", "status": "active"},  # old, still active
    {"code": "icd10:I21.4", "name": "Non-ST elevation myocardial infarction", "onset": "2026-03-10",
     "abatement": "2026-04-02", "status": "resolved"},  # inside 12 months, resolved since
    {"code": "icd10:I21.9", "name": "Acute myocardial infarction", "onset": "2026-11-10", "status": "active"},
    {"code": "icd10:I63.9", "name": "Cerebral infarction", "status": "active"},  # undated
    {"code": "icd10:I25.2", "name": "Old myocardial infarction", "onset": "2026-05-01"},  # excluded from the set
    {"code": "icd10:Z86.73", "name": "Personal history of TIA and cerebral infarction", "onset": "2026-06-01"},
    {"code": "icd10:I21.9", "name": "Acute myocardial infarction", "onset": "2026-02-01", "status": "refuted"},
    {"name": "cardiac event, see letter", "onset": "2026-09-01"},  # the vocabularies cannot place it
    {"name": "cardiac event, see letter", "onset": "2019-09-01"},  # nor this one, older than the window
    {"code": "icd10:I63.9", "name": "Cerebral infarction", "onset": "2027-01-05"},  # after the screening date
]


def _patients() -> list[Patient]:
    out = []
    for n, combo in enumerate(itertools.chain([()], itertools.combinations(range(len(RECORDS)), 1),
                                              itertools.combinations(range(len(RECORDS)), 2))):
        for complete in ([], ["conditions"]):
            out.append(Patient.model_validate({"id": f"p{n}-{len(complete)}", "birth_date": "1960-01-01",
                                               "sex": "male", "complete": complete,
                                               "conditions": [RECORDS[i] for i in combo]}))
    return out


def test_onset_within_in_sql_as_on_the_python_path(tmp_path):
    trial = compile_text(RULES, "sqlon.yaml")
    assert plan_trials([trial]).untranslated == []
    patients = _patients()
    db = tmp_path / "onset.duckdb"
    load_profiles(patients, db)
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        result = SqlScreen(source, [trial], AS_OF).run()
        read_back = {loc.rsplit("/", 1)[1]: p for p, loc in source}
    assert result.via_python[trial.id] == {}
    ids = {text: pid for pid, text in result.persons}
    seen = set()
    for p in patients:
        pid = ids[p.id]
        expected = [c.status.value for c in screen(read_back[str(pid)], trial, AS_OF).criteria]
        assert result.statuses[trial.id][pid] == expected, p.id
        seen.update(expected)
    assert seen == {"pass", "fail", "unknown"}
