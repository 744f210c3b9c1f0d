"""The PatientSource seam: native profiles, FHIR bundles and patient files all yield validated
patients in order, and a record that cannot be read as a located error without stopping the rest."""

from __future__ import annotations

import json
from pathlib import Path

from screening import Patient, PatientError, load_patient
from screening.sources.base import PatientSource, SourcedPatient, Where
from screening.sources.fhir import FhirSource
from screening.sources.files import JsonFiles
from screening.sources.native import NativeSource

ROOT = Path(__file__).resolve().parents[3]
NATIVE = ROOT / "examples" / "NCT01056471" / "eligible.json"
BUNDLE = ROOT / "examples" / "fhir" / "nct01056471-eligible.json"


def test_every_source_is_a_patient_source():
    for source in (NativeSource([]), FhirSource([]), JsonFiles([])):
        assert isinstance(source, PatientSource)


def test_files_of_either_kind_and_a_bad_one(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x",\n "birth_date": "1980-13-01", "sex": "female"}', encoding="utf-8")
    got = list(JsonFiles([NATIVE, bad, BUNDLE]).patients())
    assert [g.where.file for g in got] == [str(NATIVE), str(bad), str(BUNDLE)]
    assert got[0].patient == load_patient(NATIVE) and got[0].error is None
    assert got[1].patient is None and isinstance(got[1].error, PatientError)
    problem = got[1].error.problems[0]
    assert (problem.file, problem.line, problem.column) == (str(bad), 2, 16)
    assert problem.message.startswith("birth_date: ")
    assert got[2].patient.id == load_patient(BUNDLE).id and got[2].patient.unmapped


def test_native_documents_with_their_places():
    good = json.loads(NATIVE.read_text(encoding="utf-8"))
    text = '{"id": "y", "sex": "female", "birth_date": "1990-01-01", "observations": [{"code": 5}]}'
    got = list(NativeSource([(good, Where("cohort.ndjson", 1), None),
                             (json.loads(text), Where("cohort.ndjson", 2), text)]).patients())
    assert isinstance(got[0].patient, Patient) and got[0].patient.id == good["id"]
    assert got[1].where == Where("cohort.ndjson", 2)
    assert [p.message.split(":")[0] for p in got[1].error.problems][:1] == ["observations[0].code"]


def test_fhir_bundles_and_a_document_that_is_no_bundle():
    bundle = json.loads(BUNDLE.read_text(encoding="utf-8"))
    got = list(FhirSource([(bundle, Where("b.json"), None), ({"resourceType": "Patient"}, Where("p.json"), None)])
               .patients())
    assert got[0].patient == load_patient(BUNDLE)
    assert got[0].patient.id == bundle_id(bundle) and got[0].patient.observations
    assert "not a FHIR Bundle" in got[1].error.problems[0].message


def bundle_id(bundle: dict) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def test_a_sourced_patient_has_a_patient_or_an_error_not_both():
    import pytest

    with pytest.raises(ValueError):
        SourcedPatient(Where("x"))
