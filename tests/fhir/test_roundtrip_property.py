"""Property: a native profile written as a FHIR Bundle and read back screens identically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import screening
from screening.sources.fhir import bundle_to_patient
from screening.tools.fhir_export import patient_to_bundle
from screening.model.patient import Condition, Fact, Immunization, Medication, Observation, Patient, Procedure

TRIAL = screening.load_criteria(Path(__file__).parent / "rules" / "lupus-fhir-test.yaml")
AS_OF = dt.date(2026, 11, 23)

days = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 2, 1))
maybe_day = st.none() | days
names = st.none() | st.sampled_from(["UPCR", "cyclophosphamide 500 MG Injection", "Kidney biopsy", "ANA titer",
                                     "Systemic lupus erythematosus", "influenza vaccine", "plasmapheresis"])


def coded(pool: list[str]):
    """code, alternative codes and name of a record; at least a code or a name."""
    return st.tuples(st.none() | st.sampled_from(pool), st.lists(st.sampled_from(pool), max_size=2, unique=True),
                     names).filter(lambda t: t[0] or t[2]).map(lambda t: {"code": t[0], "codes": [c for c in t[1]
                                                                                              if t[0] and c != t[0]],
                                                                                    "name": t[2]})


observation_values = st.one_of(
    st.tuples(st.floats(0.01, 5000, allow_nan=False).map(lambda x: round(x, 3)),
              st.sampled_from(["mg/mg", "mg/g", "mg/mmol", "mg/g{creat}", "mm[Hg]", "kPa"])),
    st.tuples(st.sampled_from(["1:40", "1:80", "1:160", "1:1280", "positive", "negative", "Not detected"]), st.none()),
    st.tuples(st.integers(0, 300), st.none() | st.just("mm[Hg]")),
)
observations = st.builds(
    lambda ident, value, day, status: Observation(value=value[0], unit=value[1], date=day, status=status, **ident),
    coded(["loinc:2890-5", "loinc:5048-4", "loinc:5130-0", "loinc:8480-6", "loinc:2160-0"]), observation_values, days,
    st.sampled_from(["final", "amended", "corrected", "preliminary", "registered"]))
conditions = st.builds(
    lambda ident, onset, abatement, status: Condition(onset=onset, abatement=abatement, status=status, **ident),
    coded(["snomed:55464009", "icd10:M32.9", "snomed:68815009", "icd10:M32.14", "snomed:38341003"]), maybe_day,
    maybe_day, st.sampled_from(["active", "recurrence", "relapse", "inactive", "remission", "resolved", "refuted"]))
medications = st.builds(
    lambda ident, start, stop, status: Medication(start=start, stop=stop, status=status, **ident),
    coded(["rxnorm:3002", "atc:L01AA01", "rxnorm:1734919", "rxnorm:68149"]), maybe_day, maybe_day,
    st.sampled_from(["active", "completed", "stopped", "on-hold", "not-taken", "intended"]))
procedures = st.builds(
    lambda ident, day, end, status: Procedure(date=day, end=end, status=status, **ident),
    coded(["snomed:90688005", "cpt:50200", "snomed:77723008", "cpt:36514"]), maybe_day, maybe_day,
    st.sampled_from(["completed", "in-progress", "not-done", "planned"]))
immunizations = st.builds(
    lambda ident, day, status: Immunization(date=day, status=status, **ident),
    coded(["cvx:158", "cvx:140", "cvx:33", "cvx:208"]), maybe_day, st.sampled_from(["completed", "not-done"]))
facts = st.one_of(
    st.builds(lambda v, d, c: Fact(name="pregnant", code=c, value=v, date=d), st.booleans(), days,
              st.none() | st.just("snomed:77386006")),
    st.builds(lambda v, d: Fact(code="FHIR-TEST-1/inc-consent", value=v, date=d), st.booleans(), maybe_day),
)
patients = st.builds(
    lambda birth, sex, obs, cond, meds, procs, imms, fs: Patient(
        id="p-1", birth_date=birth, sex=sex, observations=obs, conditions=cond, medications=meds, procedures=procs,
        immunizations=imms, facts=fs),
    st.none() | st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2015, 1, 1)),
    st.none() | st.sampled_from(["female", "male", "other", "unknown"]),
    st.lists(observations, max_size=5), st.lists(conditions, max_size=3), st.lists(medications, max_size=3),
    st.lists(procedures, max_size=3), st.lists(immunizations, max_size=2), st.lists(facts, max_size=2))
completeness = st.lists(st.sampled_from(["conditions", "medications", "procedures", "immunizations", "facts"]),
                        unique=True, max_size=3)


def outcome(result):
    return (result.verdict, [(c.id, c.status, c.met) for c in result.criteria], result.missing,
            result.pending_confirmation)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients, completeness)
def test_native_profile_through_fhir_screens_identically(patient, complete):
    again = bundle_to_patient(patient_to_bundle(patient))
    assert outcome(screening.screen(again, TRIAL, AS_OF, complete=complete)) == \
        outcome(screening.screen(patient, TRIAL, AS_OF, complete=complete))


@settings(max_examples=100, deadline=None)
@given(patients)
def test_records_keep_their_codes_values_and_dates(patient):
    again = bundle_to_patient(patient_to_bundle(patient))
    strip = dict(exclude={"source"})
    for category in ("observations", "conditions", "medications", "procedures", "immunizations"):
        back = [r for r in getattr(again, category) if r.code != "loinc:82810-3"]  # pregnancy status is kept too
        assert [r.model_dump(**strip) for r in back] == \
            [r.model_dump(**strip) for r in getattr(patient, category)], category
    assert every_record_cites_its_resource(again)


def every_record_cites_its_resource(patient) -> bool:
    records = [r for c in ("observations", "conditions", "medications", "procedures", "immunizations", "facts")
               for r in getattr(patient, c)]
    return all(r.source and r.source.split("/")[0] in ("Observation", "Condition", "MedicationStatement", "Procedure",
                                                      "Immunization", "QuestionnaireResponse") for r in records)
