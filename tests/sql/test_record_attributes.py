"""Drug concept sets with a dose, a daily dose or a stop reason decided in SQL per record identity (the
engine's own attribute check, run once per distinct record): the statuses of the Python path on the same
persons read through the OMOP source, and no person referred for them. Exposure and stable dose read a
record's dates and the person's other records: those criteria stay on the Python path."""

from __future__ import annotations

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
trial: {id: SQLDOSE, title: drug attributes per record}
concepts:
  mp_pulse: {label: pulse methylprednisolone, names: [methylprednisolone, Solu-Medrol], route: intravenous,
             daily_dose: ">= 200 mg"}
  pred_low: {label: low-dose prednisone, names: [prednisone], dose: "<= 10 mg"}
  mtx_stopped: {label: methotrexate stopped for intolerance, names: [methotrexate], stop_reason: [intolerance]}
  mtx_long: {label: methotrexate for 12 weeks, names: [methotrexate], exposure: P12W}
criteria:
  - {id: exc-1, kind: exclusion, text: pulse methylprednisolone in 3 months, rule: "started_within(mp_pulse, 'P3M')"}
  - {id: inc-1, kind: inclusion, text: low-dose prednisone, rule: taking(pred_low)}
  - {id: exc-2, kind: exclusion, text: methotrexate stopped for intolerance, rule: ever_taken(mtx_stopped)}
  - {id: inc-2, kind: inclusion, text: methotrexate for 12 weeks, rule: ever_taken(mtx_long)}
"""

NAMES = ["methylprednisolone 500 mg IV", "Solu-Medrol 40 mg IV", "methylprednisolone 125 mg IV every 8 hours",
         "methylprednisolone 250 mg oral tablet", "methylprednisolone", "prednisone 5 mg oral tablet",
         "prednisone 20 mg oral tablet", "prednisone", "methotrexate 15 mg weekly", "ibuprofen 400 mg"]


def _patients() -> list[Patient]:
    out = []
    for i, name in enumerate(NAMES):
        for j, (stop, status) in enumerate([(None, "active"), ("2026-10-01", "stopped"), (None, "stopped")]):
            for complete in ([], ["medications"]):
                med = {"name": name, "start": "2026-09-15", "status": status, **({"stop": stop} if stop else {})}
                out.append(Patient.model_validate({"id": f"d{i}-{j}-{len(complete)}", "birth_date": "1970-01-01",
                                                   "sex": "female", "medications": [med], "complete": complete}))
    return out


def test_dose_and_stop_reason_decided_in_sql_per_record(tmp_path):
    trial = compile_text(RULES, "sqldose.yaml")
    plan = plan_trials([trial])
    assert [(c, why) for _, c, why in plan.untranslated] == [
        ("inc-2", "ever_taken(mtx_long): drug attributes (exposure) are decided on the Python path")]
    patients = _patients()
    db = tmp_path / "dose.duckdb"
    load_profiles(patients, db)
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        result = SqlScreen(source, [trial], AS_OF).run()
    assert all(referred == {"inc-2"} for referred in result.via_python[trial.id].values())
    bad, seen = [], set()
    with OmopSource.open(str(db), as_of=AS_OF) as source:  # the same persons as the Python path reads them
        for patient, location in source:
            pid = int(location.rsplit("/", 1)[1])
            python = screen(patient, trial, AS_OF)
            for c, s in zip(python.criteria, result.statuses[trial.id][pid]):
                seen.add((c.id, c.status.value))
                if c.status.value != s:
                    bad.append(f"{patient.id} {c.id}: python {c.status.value}, sql {s} ({c.reason})")
    assert bad == []
    # every status occurs (an OMOP drug_exposure row read by the source carries no stop reason: no exc-2 fail)
    assert seen >= {(c, s) for c in ("exc-1", "inc-1", "exc-2") for s in ("pass", "fail", "unknown")} - {
        ("exc-2", "fail")}


QUALIFIED = """
format: 1
trial: {id: SQLQUAL, title: condition qualifiers per record}
concepts:
  ln_flare: {label: lupus nephritis flare, names: [lupus nephritis], clinical_status: [recurrence, relapse]}
  ln_quiet: {label: lupus nephritis in remission, names: [lupus nephritis], clinical_status: [remission, inactive]}
  severe_sepsis: {label: severe sepsis, names: [sepsis], severity: [moderate, severe]}
  ln_class_iv: {label: class IV lupus nephritis, names: [lupus nephritis], note_words: [class IV]}
criteria:
  - {id: exc-1, kind: exclusion, text: lupus nephritis flare, rule: has_condition(ln_flare)}
  - {id: inc-1, kind: inclusion, text: lupus nephritis in remission in a year, rule: "history_of(ln_quiet, 'P12M')"}
  - {id: exc-2, kind: exclusion, text: severe sepsis, rule: has_condition(severe_sepsis)}
  - {id: inc-2, kind: inclusion, text: class IV lupus nephritis, rule: history_of(ln_class_iv)}
"""

STATUSES = ["active", "recurrence", "relapse", "inactive", "remission", "resolved", "unknown", "refuted"]


def test_condition_qualifiers_decided_in_sql_per_record(tmp_path):
    trial = compile_text(QUALIFIED, "sqlqual.yaml")
    assert plan_trials([trial]).untranslated == []
    patients = []
    for name in ("lupus nephritis", "sepsis", "Personal history of sepsis"):
        for status in STATUSES:
            for onset, abated in (("2026-05-01", None), ("2024-01-01", "2024-06-01"), ("2026-01-01", "2026-08-01")):
                for complete in ([], ["conditions"]):
                    cond = {"name": name, "onset": onset, "status": status, **({"abatement": abated} if abated else {})}
                    patients.append(Patient.model_validate({
                        "id": f"q{len(patients)}", "birth_date": "1970-01-01", "sex": "female", "conditions": [cond],
                        "complete": complete}))
    db = tmp_path / "qual.duckdb"
    load_profiles(patients, db)
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        result = SqlScreen(source, [trial], AS_OF).run()
    assert result.via_python[trial.id] == {}
    bad, seen = [], set()
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        for patient, location in source:
            pid = int(location.rsplit("/", 1)[1])
            python = screen(patient, trial, AS_OF)
            for c, s in zip(python.criteria, result.statuses[trial.id][pid]):
                seen.add((c.id, c.status.value))
                if c.status.value != s:
                    bad.append(f"{patient.id} {c.id}: python {c.status.value}, sql {s} ({c.reason})")
    assert bad == []
    assert seen >= {(c, s) for c in ("exc-1", "inc-1") for s in ("pass", "fail", "unknown")}
