"""Named equations, formulas with age, percent change, days since events and counts on the SQL path:
the same statuses as the Python path (what SQL does not translate goes to the Python path)."""

from __future__ import annotations

from screening.model.patient import Patient
from screening.rules.compiler import compile_text
from screening.sources.omop.load import load_profiles
from screening.sql.plan import plan_trials

from .test_property import _differences

RULES = """
format: 1
trial: {id: SQLNEW, title: new rule features on the SQL path}
concepts:
  t2d: {label: type 2 diabetes, codes: ['icd10:E11']}
  metformin: {label: metformin, names: [metformin]}
data:
  creatinine: {label: serum creatinine, codes: ['loinc:2160-0'], unit: umol/L, molar_mass: 113.12 g/mol, window: P3M}
  weight: {label: body weight, codes: ['loinc:29463-7'], unit: kg, window: P3M}
  hba1c: {label: HbA1c, codes: ['loinc:4548-4'], unit: '%', window: P12M}
  egfr: {label: eGFR, unit: mL/min/1.73m2, window: P3M,
         derive: {equation: egfr_ckd_epi_2021, inputs: {creatinine: creatinine}}}
  crcl: {label: CrCl, unit: mL/min,
         derive: {formula: "('140 year' - age) * weight / ('72 year * kg * min * dL / (mg * mL)' * creatinine * '113.12 g/mol')"}}
criteria:
  - {id: egfr, kind: inclusion, text: eGFR >= 45, rule: egfr >= 45}
  - {id: crcl, kind: inclusion, text: CrCl >= 60, rule: crcl >= 60}
  - {id: a1c, kind: inclusion, text: HbA1c fell 10%, rule: "pct_change(hba1c, 'P12M') <= -10"}
  - {id: dx, kind: inclusion, text: diagnosed 180 days, rule: "days_since_onset(t2d) >= 180"}
  - {id: met, kind: exclusion, text: metformin within 4 weeks, rule: "days_since_stop(metformin) <= 28"}
"""


def _patients():
    def obs(code, value, unit, day):
        return {"code": code, "value": value, "unit": unit, "date": day}
    rows = [
        {"id": "s1", "birth_date": "1966-01-01", "sex": "female",
         "observations": [obs("loinc:2160-0", 1.0, "mg/dL", "2026-11-01"), obs("loinc:29463-7", 70, "kg", "2026-11-01"),
                          obs("loinc:4548-4", 8.0, "%", "2026-01-10"), obs("loinc:4548-4", 7.0, "%", "2026-10-01")],
         "conditions": [{"code": "icd10:E11.9", "onset": "2025-01-01"}],
         "medications": [{"name": "metformin 500 mg", "start": "2024-01-01", "stop": "2026-11-10", "status": "stopped"}]},
        {"id": "s2", "birth_date": "1950-05-05", "sex": "male",
         "observations": [obs("loinc:2160-0", 150, "umol/L", "2026-10-01")], "complete": ["conditions", "medications"]},
        {"id": "s3", "sex": "female", "observations": [obs("loinc:4548-4", 7.0, "%", "2026-10-01")]},
    ]
    return [Patient.model_validate(r) for r in rows]


def test_new_features_same_statuses_both_ways(tmp_path):
    trial = compile_text(RULES, "sqlnew.yaml")
    plan = plan_trials([trial])
    untranslated = {c for _, c, _ in plan.untranslated}
    assert {"dx", "met"} <= untranslated  # decided on the Python path for everyone
    patients = _patients()
    db = tmp_path / "new.duckdb"
    load_profiles(patients, db)
    assert _differences(patients, [trial], db) == []
