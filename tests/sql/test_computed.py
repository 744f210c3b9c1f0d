"""Values computed from other values, in SQL: a formula over the latest operands (BMI from weight and height)
and change() / pct_change() over a window. SQL computes in doubles where the Python path rounds a computed
value to 12 digits, so only a person whose value lies within a billionth of the threshold (or a plausible
bound) is referred; every other person gets the Python path's status from SQL."""

from __future__ import annotations

from screening import screen
from screening.model.patient import Patient
from screening.rules.compiler import compile_text
from screening.sources.omop.load import load_profiles
from screening.sources.omop.reader import OmopSource
from screening.sql.population import SqlScreen

from .conftest import AS_OF

RULES = """
format: 1
trial: {id: SQLCALC, title: computed values}
data:
  weight: {label: body weight, codes: ['loinc:29463-7'], unit: kg, window: P3M}
  height: {label: height, codes: ['loinc:8302-2'], unit: m, window: P5Y}
  bmi: {label: BMI, codes: ['loinc:39156-5'], unit: kg/m^2, range: [8, 150], window: P3M,
        derive: {formula: weight / height ** 2, max_spread: P1Y}}
  edss: {label: EDSS, codes: ['loinc:EDSS'], unit: '1', window: P2Y}
  hba1c: {label: HbA1c, codes: ['loinc:4548-4'], unit: '%', window: P2Y}
criteria:
  - {id: bmi, kind: exclusion, text: BMI of 40 or more, rule: bmi >= 40}
  - {id: edss, kind: inclusion, text: EDSS up 0.5 in a year, rule: "change(edss, 'P12M') >= 0.5"}
  - {id: a1c, kind: inclusion, text: HbA1c down 10 percent, rule: "pct_change(hba1c, 'P12M') <= -10"}
"""


def _obs(code, value, unit, date):
    return {"code": code, "value": value, "unit": unit, "date": date}


W, H, E, A = "loinc:29463-7", "loinc:8302-2", "loinc:EDSS", "loinc:4548-4"
CASES = {  # id -> (observations, referred criteria)
    "bmi-at-40": ([_obs(W, 90, "kg", "2026-11-01"), _obs(H, 150, "cm", "2026-01-01")], {"bmi"}),  # 90 / 1.5^2
    "bmi-39": ([_obs(W, 87.75, "kg", "2026-11-01"), _obs(H, 1.5, "m", "2026-01-01")], set()),
    "bmi-lb": ([_obs(W, 220, "[lb_av]", "2026-11-01"), _obs(H, 62, "[in_i]", "2025-12-01")], set()),
    "bmi-recorded": ([_obs("loinc:39156-5", 41, "kg/m2", "2026-10-01"), _obs(W, 50, "kg", "2026-11-01"),
                      _obs(H, 1.7, "m", "2026-01-01")], set()),
    "bmi-two-weights": ([_obs(W, 90, "kg", "2026-11-01"), _obs(W, 95, "kg", "2026-11-01"),
                         _obs(H, 1.5, "m", "2026-01-01")], set()),
    "bmi-same-weights": ([_obs(W, 100, "kg", "2026-11-01"), _obs(W, 100, "kg", "2026-11-01"),
                          _obs(H, 1.5, "m", "2026-01-01")], set()),
    "bmi-far-apart": ([_obs(W, 100, "kg", "2026-11-01"), _obs(H, 1.5, "m", "2022-01-01")], set()),
    "bmi-near-spread": ([_obs(W, 100, "kg", "2026-11-01"), _obs(H, 1.5, "m", "2025-10-31")], {"bmi"}),  # 366 days
    "bmi-one-year": ([_obs(W, 100, "kg", "2026-11-01"), _obs(H, 1.5, "m", "2025-11-01")], set()),
    "bmi-stale-weight": ([_obs(W, 100, "kg", "2026-01-01"), _obs(H, 1.5, "m", "2026-01-01")], set()),
    "bmi-implausible": ([_obs(W, 100, "kg", "2026-11-01"), _obs(H, 0.5, "m", "2026-06-01")], set()),
    "bmi-no-height": ([_obs(W, 100, "kg", "2026-11-01")], set()),
    # 100 / 0: no value in SQL, the Python path says why (division by zero)
    "bmi-zero-height": ([_obs(W, 100, "kg", "2026-11-01"), _obs(H, 0, "m", "2026-06-01")], {"bmi"}),
    "edss-up": ([_obs(E, 3.0, "1", "2026-01-10"), _obs(E, 3.5, "1", "2026-10-10")], set()),
    "edss-flat": ([_obs(E, 3.0, "1", "2026-01-10"), _obs(E, 3.0, "1", "2026-05-10"), _obs(E, 3.0, "1", "2026-10-10")],
                  set()),
    "edss-one": ([_obs(E, 3.0, "1", "2026-10-10"), _obs(E, 2.0, "1", "2025-01-10")], set()),
    "edss-first-day-differs": ([_obs(E, 3.0, "1", "2026-01-10"), _obs(E, 2.0, "1", "2026-01-10"),
                                _obs(E, 4.0, "1", "2026-10-10")], set()),
    "edss-same-day-twice": ([_obs(E, 3.0, "1", "2026-10-10"), _obs(E, 3.5, "1", "2026-10-10")], set()),
    "a1c-down": ([_obs(A, 8.0, "%", "2026-01-10"), _obs(A, 7.0, "%", "2026-10-10")], set()),
    "a1c-down-exactly-10": ([_obs(A, 8.0, "%", "2026-01-10"), _obs(A, 7.2, "%", "2026-10-10")], {"a1c"}),
    "a1c-from-zero": ([_obs(A, 0, "%", "2026-01-10"), _obs(A, 7.2, "%", "2026-10-10")], set()),
    "a1c-bound": ([_obs(A, 8.0, "%", "2026-01-10"), {"code": A, "value": "<4", "unit": "%", "date": "2026-10-10"}],
                  set()),
}


def test_computed_values_decided_in_sql_as_python_decides_them(tmp_path):
    trial = compile_text(RULES, "sqlcalc.yaml")
    patients = [Patient.model_validate({"id": pid, "birth_date": "1970-01-01", "sex": "female", "observations": obs})
                for pid, (obs, _) in CASES.items()]
    db = tmp_path / "calc.duckdb"
    load_profiles(patients, db)
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        result = SqlScreen(source, [trial], AS_OF).run()
        ids = {text: pid for pid, text in result.persons}
        read_back = {loc.rsplit("/", 1)[1]: p for p, loc in source}
    statuses = {}
    for p in patients:
        pid = ids[p.id]
        python = screen(p, trial, AS_OF)
        again = screen(read_back[str(pid)], trial, AS_OF)
        expected = [c.status.value for c in python.criteria]
        assert [c.status.value for c in again.criteria] == expected, p.id
        assert result.statuses[trial.id][pid] == expected, (p.id, [c.reason for c in python.criteria])
        assert result.via_python[trial.id].get(pid, set()) == CASES[p.id][1], p.id
        statuses[p.id] = dict(zip(("bmi", "edss", "a1c"), expected))
    # the cases exercise every outcome, decided in SQL
    assert statuses["bmi-39"]["bmi"] == "pass" and statuses["bmi-lb"]["bmi"] == "fail"  # 220 lb, 62 in: 40.2
    assert statuses["bmi-recorded"]["bmi"] == "fail"  # a recorded BMI first
    assert {statuses[k]["bmi"] for k in ("bmi-two-weights", "bmi-far-apart", "bmi-stale-weight", "bmi-implausible",
                                         "bmi-no-height", "bmi-zero-height")} == {"unknown"}
    assert statuses["bmi-same-weights"]["bmi"] == "fail"
    assert [statuses[k]["edss"] for k in ("edss-up", "edss-flat", "edss-one", "edss-first-day-differs",
                                          "edss-same-day-twice")] == ["pass", "fail", "unknown", "unknown", "unknown"]
    assert [statuses[k]["a1c"] for k in ("a1c-down", "a1c-from-zero", "a1c-bound")] == ["pass", "unknown", "unknown"]


def test_postgres_computes_them_as_duckdb(tmp_path):
    """The same arithmetic, date differences and guards, transpiled to PostgreSQL (a division by zero there
    is an error, not a NULL: the guards must hold)."""
    import duckdb

    from support.postgres import URL, csv_schema

    trial = compile_text(RULES, "sqlcalc.yaml")
    patients = [Patient.model_validate({"id": pid, "birth_date": "1970-01-01", "sex": "female", "observations": obs})
                for pid, (obs, _) in CASES.items()]
    db = tmp_path / "calc.duckdb"
    load_profiles(patients, db)
    tables = {}
    with duckdb.connect(str(db), read_only=True) as duck:
        for (table,) in duck.execute("SELECT table_name FROM information_schema.tables").fetchall():
            tables[table] = tmp_path / f"{table}.csv"
            duck.execute(f"COPY \"{table}\" TO '{tables[table]}' (HEADER, DELIMITER ',')")
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        duck_result = SqlScreen(source, [trial], AS_OF).run()
    with csv_schema("sql_calc", tables) as schema, OmopSource.open(URL, schema, as_of=AS_OF) as source:
        pg_result = SqlScreen(source, [trial], AS_OF).run()
    assert pg_result.statuses == duck_result.statuses and len(pg_result.persons) == len(CASES)
    assert pg_result.via_python == duck_result.via_python
