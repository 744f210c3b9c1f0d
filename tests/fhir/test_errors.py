"""Invalid bundles: PatientError whose problems name the entry, the resource and the field."""

from __future__ import annotations

import json

import builders as B
import pytest

from screening.errors import PatientError
from screening.sources.fhir import bundle_to_patient


def problems(data, strict: bool = True) -> list[str]:
    with pytest.raises(PatientError) as err:
        bundle_to_patient(data, "b.json", strict=strict)
    return [str(p) for p in err.value.problems]


def test_every_invalid_field_is_named_with_entry_and_resource():
    bad_value = B.lab("u", (B.LOINC, "2890-5"), {"valueQuantity": {"value": "1,85", "system": B.UCUM, "code": "mg/g"}},
                      "2026-10-01")
    bad_date = B.condition("c", (B.SNOMED, "55464009"), onset="2020-13-01")
    unknown_field = {**B.patient(), "gender": "female", "sexe": "F"}
    no_status = B.lab("s", (B.LOINC, "2890-5"), B.quantity(1, "mg/mg"), "2026-10-01")
    del no_status["status"]
    assert problems(B.bundle(unknown_field, bad_value, bad_date, no_status)) == [
        "b.json: error: Bundle.entry[0] (Patient/pat-1): sexe: unknown field",
        "b.json: error: Bundle.entry[1] (Observation/u): valueQuantity.value: Decimal value string does not match spec regex",
        "b.json: error: Bundle.entry[2] (Condition/c): onsetDateTime: DateTime value string does not match spec regex",
        "b.json: error: Bundle.entry[3] (Observation/s): status: missing required field",
    ]


def test_without_strict_an_invalid_resource_is_listed_with_its_problems_and_the_rest_mapped():
    bad_value = B.lab("u", (B.LOINC, "2890-5"), {"valueQuantity": {"value": "1,85", "system": B.UCUM, "code": "mg/g"}},
                      "2026-10-01")
    bad_date = B.condition("c", (B.SNOMED, "55464009", "Systemic lupus erythematosus"), onset="2020-13-01")
    good = B.lab("g", (B.LOINC, "2890-5"), B.quantity(1, "mg/mg"), "2026-10-02")
    p = bundle_to_patient(B.bundle(B.patient(), bad_value, bad_date, good), "b.json")
    assert [o.source for o in p.observations] == ["Observation/g"] and p.conditions == []
    notes = {u.resource: u for u in p.unmapped}
    assert notes["Observation/u"].reason.startswith("not a valid FHIR R4 Observation: valueQuantity.value: Decimal")
    assert (notes["Observation/u"].category, notes["Observation/u"].code) == ("observations", "loinc:2890-5")
    c = notes["Condition/c"]
    assert "onsetDateTime: DateTime value string does not match" in c.reason
    assert (c.category, c.code, c.name) == ("conditions", "snomed:55464009", "Systemic lupus erythematosus")


def test_an_invalid_patient_rejects_the_bundle_even_without_strict():
    unknown_field = {**B.patient(), "gender": "female", "sexe": "F"}
    assert problems(B.bundle(unknown_field), strict=False) == [
        "b.json: error: Bundle.entry[0] (Patient/pat-1): sexe: unknown field"]


def test_unknown_or_missing_resource_type():
    b = B.bundle(B.patient())
    b["entry"] += [{"resource": {"resourceType": "Observaton", "id": "x"}}, {"resource": {"id": "y"}}]
    assert problems(b) == ["b.json: error: Bundle.entry[1] (Observaton/x): unknown resourceType 'Observaton'",
                           "b.json: error: Bundle.entry[2]: resource has no resourceType"]


@pytest.mark.parametrize("btype", ["history", "transaction-response", "colection"])
def test_bundle_types_that_would_double_count_or_hold_nothing(btype):
    assert problems(B.bundle(B.patient(), btype=btype)) == [
        f"b.json: error: Bundle.type: {btype!r} is not supported (expected one of collection, searchset, document, transaction, batch)"]


def test_two_patients_in_one_bundle():
    assert problems(B.bundle(B.patient(), B.patient("pat-2"))) == [
        "b.json: error: the bundle holds 2 Patient resources (Patient/pat-1, Patient/pat-2): a screen is about one patient"]


def test_not_a_bundle():
    assert problems({"resourceType": "Patient", "id": "p"}) == ["b.json: error: not a FHIR Bundle (resourceType 'Bundle')"]


def test_problems_are_located_in_the_bundle_text():
    """Given the text it was read from, each problem names the line and column of the bad value."""
    bad_date = B.condition("c", (B.SNOMED, "55464009"), onset="2020-13-01")
    data = B.bundle(B.patient(), bad_date)
    text = json.dumps(data, indent=2)
    with pytest.raises(PatientError) as err:
        bundle_to_patient(data, "b.json", text=text, strict=True)
    at = text.index('"2020-13-01"')
    line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    assert [str(p) for p in err.value.problems] == [
        f"b.json:{line}:{column}: error: Bundle.entry[1] (Condition/c): onsetDateTime: "
        "DateTime value string does not match spec regex"]


def test_bundle_without_a_type_is_one_problem():
    data = B.bundle(B.patient())
    del data["type"]
    assert problems(data) == [
        "b.json: error: Bundle.type: missing (expected one of collection, searchset, document, transaction, batch)"]
