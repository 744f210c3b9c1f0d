"""statuses.parquet carries what SQL decided on, compactly: the picked record's value in the item's unit and
its date for a comparison, the newest found record's date for a record function; nothing for a result
the Python path decided."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest

from screening.model.patient import Patient
from screening.rules.compiler import compile_text
from screening.sources.omop.load import load_profiles
from screening.sources.omop.reader import OmopSource
from screening.sql.population import SqlScreen

from .conftest import AS_OF

RULES = """
format: 1
trial: {id: SQLPQ, title: deciding values}
concepts:
  biopsy: {label: renal biopsy, names: [renal biopsy]}
data:
  creatinine: {label: serum creatinine, codes: ['loinc:2160-0'], unit: umol/L, molar_mass: 113.12 g/mol, window: P3M}
  weight: {label: body weight, codes: ['loinc:29463-7'], unit: kg, window: P3M}
  height: {label: height, codes: ['loinc:8302-2'], unit: m, window: P12M}
  bmi: {label: BMI, unit: kg/m^2, window: P3M, derive: {formula: weight / height ** 2}}
criteria:
  - {id: crea, kind: inclusion, text: creatinine 120 umol/L or less, rule: creatinine <= 120}
  - {id: bx, kind: inclusion, text: renal biopsy within a year, rule: "had_procedure(biopsy, 'P12M')"}
  - {id: bmi, kind: inclusion, text: BMI under 30, rule: bmi < 30}
"""


def test_statuses_parquet_has_the_deciding_values(tmp_path):
    trial = compile_text(RULES, "sqlpq.yaml")
    obs = [{"code": "loinc:2160-0", "value": 0.9, "unit": "mg/dL", "date": "2026-10-01"},
           {"code": "loinc:2160-0", "value": 1.5, "unit": "mg/dL", "date": "2026-11-02"},
           {"code": "loinc:29463-7", "value": 70, "unit": "kg", "date": "2026-11-01"},
           {"code": "loinc:8302-2", "value": 170, "unit": "cm", "date": "2026-06-01"}]
    patients = [Patient.model_validate({"id": "p1", "birth_date": "1970-01-01", "sex": "female", "observations": obs,
                                        "procedures": [{"name": "renal biopsy", "date": "2026-03-04"}]}),
                Patient.model_validate({"id": "p2", "birth_date": "1970-01-01", "sex": "male"})]
    db = tmp_path / "pq.duckdb"
    load_profiles(patients, db)
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        SqlScreen(source, [trial], AS_OF).run(out=tmp_path / "out")
    rows = {(r["person"], r["criterion"]): r for r in pq.read_table(tmp_path / "out" / "statuses.parquet").to_pylist()}
    crea = rows[("p1", "crea")]
    assert (crea["status"], crea["by"], crea["unit"], crea["date"]) == ("fail", "sql", "umol/L", dt.date(2026, 11, 2))
    assert crea["value"] == pytest.approx(1.5 * 88.42, rel=1e-3)  # the newest value, in the item's unit
    assert (rows[("p1", "bx")]["status"], rows[("p1", "bx")]["value"], rows[("p1", "bx")]["date"]) == \
        ("pass", None, dt.date(2026, 3, 4))
    # the derived item is decided in SQL (weight and height five months apart, max_spread P0D: unknown, as on the
    # Python path), with no deciding value
    assert (rows[("p1", "bmi")]["status"], rows[("p1", "bmi")]["by"], rows[("p1", "bmi")]["value"]) == \
        ("unknown", "sql", None)
    assert [(rows[("p2", c)]["status"], rows[("p2", c)]["value"], rows[("p2", c)]["date"]) for c in ("crea", "bx")] \
        == [("unknown", None, None), ("unknown", None, None)]
