"""`screening load`: profiles written as OMOP tables read back and screen exactly like the originals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import Patient, load_patient, screen
from screening.sources.omop import OmopError, OmopSource
from screening.sources.omop.load import LOCAL_BASE, load_profiles, read_profiles
from screening.tools.synth import synth_patients

from support.profiles import as_patients, profiles as random_profiles

from .conftest import ROOT

AS_OF = dt.date(2026, 11, 23)


def _statuses(patients, trials, as_of=AS_OF):
    out = {}
    for p in patients:
        for t in trials:
            r = screen(p, t, as_of=as_of)
            out[(p.id, t.file)] = (r.verdict, [(c.id, c.status, c.met) for c in r.criteria])
    return out


def _read_back(out, as_of=AS_OF):
    with OmopSource.open(str(out), as_of=as_of) as src:
        return [p for p, _ in src]


@pytest.mark.parametrize("suffix", [".duckdb", ""])
def test_synthetic_patients_round_trip(tmp_path, seed_trials, suffix):
    patients = [Patient.model_validate(d) for d in synth_patients(150, 7, AS_OF)]
    out = tmp_path / f"omop{suffix}"
    summary = load_profiles(patients, out)
    assert summary.persons == 150 and summary.rows["person"] == 150
    assert summary.rows["measurement"] == sum(len(p.observations) for p in patients)
    assert summary.rows["drug_exposure"] == sum(len(p.medications) + len(p.immunizations) for p in patients)
    back = _read_back(out)
    assert [p.id for p in back] == [p.id for p in patients]
    for a, b in zip(patients, back):
        assert b.complete == a.complete
        for kind in ("observations", "conditions", "medications", "procedures", "immunizations", "facts"):
            assert len(getattr(b, kind)) == len(getattr(a, kind)), (a.id, kind)
    assert _statuses(back, seed_trials) == _statuses(patients, seed_trials)


def test_records_keep_names_codes_statuses_and_sources(tmp_path):
    p = Patient.model_validate({
        "id": "p-1", "birth_date": "1980-02-29", "sex": "female",
        "observations": [
            {"code": "loinc:2890-5", "name": "UPCR", "value": 150, "unit": "mg/mmol", "date": "2026-11-10",
             "source": "Observation/upcr-1"},
            {"code": "loinc:5048-4", "value": "1:160", "date": "2026-06-01", "status": "preliminary"},
            {"name": "anti-dsDNA", "value": "positive", "date": "2026-06-01"},
            {"code": "loinc:13945-1", "value": "<0.5", "unit": "/[HPF]", "date": "2026-06-02"},
            {"name": "pregnancy test", "value": False, "date": "2026-11-20"}],
        "conditions": [{"code": "icd10:M32.14", "codes": ["snomed:68815009"], "name": "lupus nephritis",
                        "onset": "2019-05-01"},
                       {"name": "tuberculosis", "status": "refuted"}],
        "medications": [{"code": "rxnorm:3002", "name": "cyclophosphamide", "start": "2026-06-23",
                         "stop": "2026-06-23"},
                        {"name": "rituximab", "status": "not-taken"}],
        "procedures": [{"code": "cpt:50200", "date": "2026-02-10"},
                       {"name": "plasmapheresis", "status": "planned"}],
        "immunizations": [{"code": "cvx:33", "date": "2025-01-01"}, {"name": "flu vaccine", "status": "not-done"}],
        "facts": [{"code": "exc-4a", "value": False, "date": "2026-11-23", "source": "investigator"},
                  {"name": "consent", "value": True}],
        "complete": ["conditions", "medications"]})
    out = tmp_path / "one.duckdb"
    load_profiles([p], out)
    (b,) = _read_back(out)
    assert (b.id, b.birth_date, b.sex) == ("p-1", dt.date(1980, 2, 29), "female")
    assert [str(c) for c in b.complete] == ["conditions", "medications"]
    obs = {o.code or o.name: o for o in b.observations}  # read back in date order
    upcr = obs["loinc:2890-5"]
    assert (upcr.name, upcr.value, upcr.unit, upcr.date) == ("UPCR", 150, "mg/mmol", dt.date(2026, 11, 10))
    assert upcr.source.endswith("(source value 'Observation/upcr-1')")
    assert (obs["loinc:5048-4"].value, obs["loinc:5048-4"].status) == ("1:160", "preliminary")
    assert (obs["anti-dsDNA"].code, obs["anti-dsDNA"].value) == (None, "positive")
    assert (obs["loinc:13945-1"].value, obs["loinc:13945-1"].unit) == ("<0.5", "/[HPF]")
    assert obs["pregnancy test"].value is False
    lupus, tb = b.conditions
    assert {lupus.code, *lupus.codes} == {"icd10:M32.14", "snomed:68815009"} and lupus.name == "lupus nephritis"
    assert (tb.name, tb.status, tb.onset) == ("tuberculosis", "refuted", None)
    assert [m.status for m in b.medications] == ["active", "not-taken"]  # as in the profile, stop or not
    assert [pr.status for pr in b.procedures] == ["completed", "planned"]
    assert [(i.code, i.status) for i in b.immunizations] == [("cvx:33", "completed"), (None, "not-done")]
    assert [(f.code, f.name, f.value, f.date) for f in b.facts] == [
        ("exc-4a", None, False, dt.date(2026, 11, 23)), (None, "consent", True, None)]


def test_omop_shape_and_deterministic_concepts(tmp_path):
    patients = [Patient.model_validate(d) for d in synth_patients(20, 3, AS_OF)]
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    load_profiles(patients, a)
    load_profiles(patients, b)
    rows = []
    for path in (a, b):
        con = duckdb.connect(str(path), read_only=True)
        rows.append(con.execute("SELECT * FROM concept ORDER BY concept_id").fetchall())
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        con.close()
    assert rows[0] == rows[1]
    assert {"person", "condition_occurrence", "drug_exposure", "procedure_occurrence", "measurement",
            "observation", "concept", "concept_ancestor"} <= tables
    by_code = {(r[3], r[6]): r[0] for r in rows[0]}
    assert by_code[("Gender", "F")] == 8532 or by_code.get(("Gender", "M")) == 8507
    assert all(cid >= LOCAL_BASE for (voc, _), cid in by_code.items() if voc in ("LOINC", "SNOMED"))


def test_real_concept_ids_from_a_vocabulary(tmp_path, synthea_csv):
    p = Patient.model_validate({"id": "w", "observations": [
        {"code": "loinc:29463-7", "name": "weight", "value": 70, "unit": "kg", "date": "2026-01-01"}]})
    out = tmp_path / "v.duckdb"
    load_profiles([p], out, vocabulary=synthea_csv)
    con = duckdb.connect(str(out), read_only=True)
    weight = con.execute("SELECT concept_id, concept_name FROM concept WHERE vocabulary_id = 'LOINC' "
                         "AND concept_code = '29463-7'").fetchall()
    unit = con.execute("SELECT unit_concept_id, unit_source_value FROM measurement").fetchall()
    con.close()
    assert weight == [(3025315, "Body weight")]  # the Synthea27Nj vocabulary's concept
    assert unit == [(9529, "kg")]  # UCUM kilogram
    (b,) = _read_back(out)
    assert (b.observations[0].code, b.observations[0].name, b.observations[0].unit) == ("loinc:29463-7", "weight",
                                                                                          "kg")


def test_fhir_bundles_and_ndjson_inputs(tmp_path, seed_trials):
    bundles = sorted((ROOT / "examples" / "fhir").glob("*.json"))
    assert bundles
    ndjson = tmp_path / "p.ndjson"
    ndjson.write_text("\n".join(json.dumps(d) for d in synth_patients(5, 1, AS_OF)) + "\n{not json}\n")
    problems = []
    patients = list(read_profiles([*bundles, ndjson], problems))
    assert len(patients) == len(bundles) + 5
    assert len(problems) == 1 and problems[0].line == 6 and "invalid JSON" in problems[0].message
    out = tmp_path / "mixed"
    load_profiles(patients, out)
    assert _statuses(_read_back(out), seed_trials) == _statuses(patients, seed_trials)


def test_existing_output_is_kept(tmp_path):
    out = tmp_path / "x.duckdb"
    p = Patient.model_validate({"id": "a"})
    load_profiles([p], out)
    with pytest.raises(OmopError, match="exists"):
        load_profiles([p], out)
    load_profiles([p, Patient.model_validate({"id": "b"})], out, replace=True)
    assert [q.id for q in _read_back(out)] == ["a", "b"]


# Property: random profiles built from the seed trials' codes, names, units and statuses.

_CODES = ["loinc:2890-5", "loinc:5048-4", "loinc:81716-3", "loinc:2703-7", "loinc:3150-0", "loinc:29463-7",
          "loinc:8302-2", "loinc:94500-6", "snomed:840539006", "snomed:67782005", "icd10:J80", "icd10:C50.9",
          "icd10:M32.14", "snomed:77386006", "rxnorm:3002", "rxnorm:6902", "atc:L04AA06", "atc:H02AB04",
          "cpt:50200", "snomed:233573008", "cvx:33", "cvx:140", "local:edss", "local:isn-rps-class",
          "local:childbearing-potential", "pregnant", "inc-7"]
_NAMES = ["UPCR", "ANA", "anti-dsDNA", "PaO2", "FiO2", "weight", "COVID-19", "ARDS", "cyclophosphamide",
          "methylprednisolone", "renal biopsy", "ECMO", "pregnant", "lactating", "EDSS", "influenza vaccine",
          "lupus nephritis", "breast cancer", "tumour", "rituximab"]
_UNITS = [None, "mg/mmol", "mg/mg", "mg/dL", "mmHg", "kPa", "%", "kg", "lb", "cm", "{score}", "10*9/L"]
_values = st.one_of(st.integers(-5, 2000), st.floats(0.01, 500, allow_nan=False).map(lambda x: round(x, 2)),
                    st.sampled_from(["1:40", "1:160", "<1:40", "<0.5", ">=30", "positive", "negative", "Detected",
                                     "not detected", "Class IV", "equivocal"]), st.booleans())
_profiles = random_profiles(_CODES, _NAMES, _UNITS, _values, dt.date(2024, 1, 1), ("final", "preliminary", "amended"),
                     max_observations=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(_profiles, min_size=1, max_size=4))
def test_random_profiles_screen_the_same_after_load(tmp_path_factory, seed_trials, profiles):
    patients = as_patients(profiles)
    out = tmp_path_factory.mktemp("hyp") / "h.duckdb"
    load_profiles(patients, out)
    back = _read_back(out)
    assert _statuses(back, seed_trials) == _statuses(patients, seed_trials)


def test_example_patients_round_trip(tmp_path, seed_trials):
    files = sorted(p for p in (ROOT / "examples").rglob("*.json") if "expected" not in p.name)
    patients = []
    for f in files:
        try:
            patients.append(load_patient(f))
        except Exception:  # expected-result files and the like are not profiles
            continue
    assert len(patients) > 10
    out = tmp_path / "examples"
    load_profiles(patients, out)
    assert _statuses(_read_back(out), seed_trials) == _statuses(patients, seed_trials)


def test_allergies_and_family_history_are_never_read_back_as_absent(tmp_path):
    # the loader does not write allergies or family history into OMOP (their observation-table
    # conventions are not mapped here): a profile declaring them complete must not read back as
    # "complete and empty", which would pass "no allergy to penicillin"
    from screening.rules.compiler import compile_text

    p = Patient.model_validate({
        "id": "p-a", "birth_date": "1980-01-01", "sex": "female",
        "allergies": [{"code": "rxnorm:7980", "name": "Penicillin G", "reactions": ["hives"]}],
        "family_history": [{"code": "icd10:C50.9", "name": "Breast cancer", "relationship": "mother"}],
        "complete": ["conditions", "allergies", "family_history"]})
    out = tmp_path / "allergy.duckdb"
    load_profiles([p], out)
    (b,) = _read_back(out)
    assert "conditions" in [str(c) for c in b.complete]
    assert not {"allergies", "family_history"} & {str(c) for c in b.complete}
    trial = compile_text("""
format: 1
trial: {id: ALG, title: allergies}
concepts:
  penicillins: {label: penicillins, codes: ['atc:J01C*'], names: [penicillin]}
  breast_cancer: {label: breast cancer, codes: ['icd10:C50']}
criteria:
  - {id: allergy, kind: exclusion, text: "Allergy to penicillin", rule: allergic_to(penicillins)}
  - {id: family, kind: exclusion, text: "Family history of breast cancer", rule: family_history_of(breast_cancer)}
""", "alg.yaml")
    r = {c.id: c.status.value for c in screen(b, trial, as_of=AS_OF).criteria}
    assert r == {"allergy": "unknown", "family": "unknown"}


def test_an_onset_known_only_to_an_interval_is_written_without_a_date(tmp_path):
    """OMOP dates are days: an onset known only to a year of age (or a year, a period, a recorded date) is not
    written as one of its days, which would read back as exact. condition_start_date (and condition_end_date
    for such an abatement) stays NULL, the load says how many dates it left out, and the record reads back
    undated, as the Python reader and the SQL path both read a NULL date: what its interval decided is unknown."""
    from typer.testing import CliRunner

    from screening.cli import app
    from screening.rules.compiler import compile_text

    doc = {"id": "p-i", "birth_date": "1958-03-01", "complete": ["conditions"], "conditions": [
        {"code": "icd10:I21.9", "name": "Acute myocardial infarction", "onset_earliest": "2012-03-01",
         "onset_latest": "2013-02-28", "onset_text": "at age 54", "abatement_earliest": "2013-01-01",
         "abatement_latest": "2013-12-31", "abatement_text": "in 2013", "status": "resolved",
         "source": "Condition/mi"},
        {"code": "icd10:I10", "name": "hypertension", "onset": "2010-01-01", "source": "Condition/htn"}]}
    p = Patient.model_validate(doc)
    out = tmp_path / "interval.duckdb"
    summary = load_profiles([p], out)
    assert summary.imprecise_dates == 2
    con = duckdb.connect(str(out), read_only=True)
    rows = con.execute("SELECT condition_source_value, condition_start_date, condition_end_date "
                       "FROM condition_occurrence ORDER BY condition_occurrence_id").fetchall()
    con.close()
    assert rows == [("Condition/mi", None, None), ("Condition/htn", dt.date(2010, 1, 1), None)]
    (b,) = _read_back(out)
    mi = next(c for c in b.conditions if c.code == "icd10:I21.9")
    assert (mi.onset, mi.onset_earliest, mi.onset_latest, mi.abatement, mi.status) == (None, None, None, None,
                                                                                       "resolved")
    trial = compile_text("""
format: 1
trial: {id: IV, title: interval onsets}
concepts:
  mi: {label: myocardial infarction, codes: ['icd10:I21*']}
criteria:
  - {id: began, kind: exclusion, text: "infarction within 12 months", rule: "onset_within(mi, 'P12M')"}
""", "iv.yaml")
    for as_of, original in (("2013-09-01", "unknown"), ("2015-06-01", "pass"), ("2013-02-28", "fail")):
        (a,) = screen(p, trial, as_of=as_of).criteria
        (c,) = screen(b, trial, as_of=as_of).criteria
        assert (a.status.value, c.status.value) == (original, "unknown"), as_of
    # the command line says what it left out
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(doc))
    r = CliRunner().invoke(app, ["load", str(profile), "--out", str(tmp_path / "cli.duckdb")])
    assert r.exit_code == 0, r.output
    assert ("2 condition onset or abatement dates known only to an interval written as NULL (OMOP dates are days)"
            in r.output)


def test_a_deceased_profile_is_written_as_a_death_row(tmp_path):
    profiles = [Patient.model_validate({"id": "a", "deceased": True, "deceased_date": "2026-01-01"}),
                Patient.model_validate({"id": "b", "deceased": True}), Patient.model_validate({"id": "c"})]
    out = tmp_path / "dead.duckdb"
    load_profiles(profiles, out)
    con = duckdb.connect(str(out), read_only=True)
    try:
        assert con.execute("SELECT person_id, death_date FROM death ORDER BY 1").fetchall() == [
            (1, dt.date(2026, 1, 1)), (2, None)]
    finally:
        con.close()
    back = _read_back(out)
    assert [(p.deceased, p.deceased_date) for p in back] == [(True, dt.date(2026, 1, 1)), (True, None), (False, None)]
