"""Random profiles and the example patients, loaded as OMOP tables: the SQL path gives the statuses of the
Python path on the very same profiles, criterion by criterion."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import screen
from screening.model.patient import Patient
from screening.sources.files import load_patient
from screening.sources.omop.load import load_profiles
from screening.sources.omop.reader import OmopSource
from screening.sql.population import SqlScreen

from support.profiles import as_patients, profiles as random_profiles

from .conftest import AS_OF, ROOT

_CODES = ["loinc:2890-5", "loinc:5048-4", "loinc:81716-3", "loinc:2703-7", "loinc:3150-0", "loinc:29463-7",
          "loinc:8302-2", "loinc:94500-6", "snomed:840539006", "snomed:67782005", "icd10:J80", "icd10:C50.9",
          "icd10:M32.14", "snomed:77386006", "rxnorm:3002", "rxnorm:6902", "atc:L04AA06", "atc:H02AB04",
          "cpt:50200", "snomed:233573008", "cvx:33", "cvx:140", "local:edss", "local:isn-rps-class",
          "local:childbearing-potential", "pregnant", "inc-7", "confirm:inc-5", "loinc:5130-0", "loinc:2106-3"]
_NAMES = ["UPCR", "ANA", "anti-dsDNA", "PaO2", "FiO2", "weight", "height", "BMI", "COVID-19", "ARDS",
          "cyclophosphamide", "methylprednisolone", "renal biopsy", "ECMO", "pregnant", "lactating", "EDSS",
          "influenza vaccine", "lupus nephritis", "breast cancer", "tumour", "rituximab", "PaO2/FiO2",
          "anti-dsDNA IgG", "urine hCG", "Little Pink Pill", "CellCept 500 mg", "menopause", "hysterectomy",
          "methotrexate topical", "portador de marcapasos", "Personal history of pulmonary embolism"]
_UNITS = [None, "mg/mmol", "mg/mg", "mg/dL", "mmHg", "kPa", "%", "kg", "lb", "cm", "m", "{score}", "10*9/L",
          "[IU]/mL"]
_values = st.one_of(st.integers(-5, 2000), st.floats(0.01, 500, allow_nan=False).map(lambda x: round(x, 2)),
                    st.sampled_from(["1:40", "1:160", "<1:40", ">1:80", "<0.5", ">=30", "positive", "negative",
                                     "Detected", "not detected", "Class IV", "III", "equivocal"]), st.booleans())
_profiles = random_profiles(_CODES, _NAMES, _UNITS, _values, dt.date(2025, 6, 1))


def _differences(patients: list[Patient], trials, db) -> list[str]:
    with OmopSource.open(str(db), as_of=AS_OF) as source:
        result = SqlScreen(source, trials, AS_OF).run()
    ids = {text: pid for pid, text in result.persons}
    out = []
    for p in patients:
        for t in trials:
            python = screen(p, t, AS_OF)
            sql = result.statuses[t.id][ids[p.id]]
            out += [f"{p.id} {t.id} {c.id}: python {c.status.value}, sql {s} ({c.reason})"
                    for c, s in zip(python.criteria, sql) if c.status.value != s]
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(_profiles, min_size=1, max_size=6))
def test_random_profiles_same_statuses_both_ways(tmp_path_factory, seed_trials, profiles):
    patients = as_patients(profiles)
    db = tmp_path_factory.mktemp("sql-hyp") / "h.duckdb"
    load_profiles(patients, db)
    assert _differences(patients, seed_trials, db) == []


def test_example_patients_same_statuses_both_ways(tmp_path, seed_trials):
    patients = []
    for f in sorted((ROOT / "examples").rglob("*.json")):
        try:
            patients.append(load_patient(f))
        except Exception:  # expected-result files and the like are not profiles
            continue
    assert len(patients) > 10
    seen: set = set()
    patients = [p for p in patients if not (p.id in seen or seen.add(p.id))]  # one person per id
    db = tmp_path / "examples.duckdb"
    load_profiles(patients, db)
    assert _differences(patients, seed_trials, db) == []
