"""FHIR references resolved by full identity: relative (against the referring entry's base),
absolute with their server base, urn:uuid, and versioned (``/_history/N``) forms."""

from __future__ import annotations

import builders as B
import pytest

from screening.sources.fhir import bundle_to_patient

from screening.sources.fhir.references import resolve_reference

A, B_ = "https://a.example/fhir", "https://b.example/fhir"


@pytest.mark.parametrize("reference,referrer,expected", [
    ("Patient/X", None, (None, "Patient", "X")),
    ("Patient/X/_history/3", None, (None, "Patient", "X")),
    ("Patient/X", f"{A}/Observation/1", (A, "Patient", "X")),
    ("Patient/X/_history/3", f"{A}/Observation/1/_history/9", (A, "Patient", "X")),
    (f"{A}/Patient/X", None, (A, "Patient", "X")),
    (f"{A}/Patient/X/_history/2", f"{B_}/Observation/1", (A, "Patient", "X")),
    ("urn:uuid:0f6c2b9e-6d1b-4a45-9c1e-1f1b2c3d4e5f", None, ("urn:uuid:0f6c2b9e-6d1b-4a45-9c1e-1f1b2c3d4e5f", None, None)),
    ("Patient/X", "urn:uuid:0f6c2b9e-6d1b-4a45-9c1e-1f1b2c3d4e5f", (None, "Patient", "X")),
])
def test_resolve_reference(reference, referrer, expected):
    got = resolve_reference(reference, referrer)
    assert (got.base, got.type, got.id) == expected


def test_identities_match_by_base_when_both_are_known():
    x = resolve_reference("Patient/X", f"{A}/Observation/1")
    assert x.same_as(resolve_reference(f"{A}/Patient/X/_history/4"))
    assert not x.same_as(resolve_reference(f"{B_}/Patient/X"))
    assert not x.same_as(resolve_reference("Patient/Y", f"{A}/Observation/1"))
    assert resolve_reference("Patient/X").same_as(resolve_reference(f"{B_}/Patient/X"))  # no base to compare
    assert not resolve_reference("Patient/X").same_as(resolve_reference("Group/X"))


def _bundle(patient_url: str, *subjects: tuple[str, str | None]) -> dict:
    """A bundle whose Patient X has ``patient_url`` and one Observation per (subject reference, entry fullUrl)."""
    entries = [{"fullUrl": patient_url, "resource": B.patient("X")}]
    for i, (ref, url) in enumerate(subjects):
        r = B.lab(f"o{i}", (B.LOINC, "2890-5"), B.quantity(2, "mg/mg"), "2026-10-01", subject={"reference": ref})
        entries.append({"fullUrl": url or f"urn:uuid:obs-{i}", "resource": r})
    return {"resourceType": "Bundle", "id": "b", "type": "collection", "entry": entries}


def _kept(bundle: dict) -> list[str]:
    return [o.source for o in bundle_to_patient(bundle, "b.json").observations]


def test_a_versioned_reference_to_the_patient_is_kept():
    assert _kept(_bundle(f"{A}/Patient/X", ("Patient/X/_history/3", f"{A}/Observation/o0"),
                         (f"{A}/Patient/X/_history/1", None))) == ["Observation/o0", "Observation/o1"]
    assert _kept(_bundle("urn:uuid:p", ("Patient/X/_history/3", None))) == ["Observation/o0"]


def test_another_servers_patient_with_the_same_id_is_not_this_patient():
    b = _bundle(f"{A}/Patient/X", (f"{B_}/Patient/X", None), ("Patient/X", f"{B_}/Observation/o1"),
                ("Patient/X", f"{A}/Observation/o2"))
    p = bundle_to_patient(b, "b.json")
    assert [o.source for o in p.observations] == ["Observation/o2"]
    notes = {u.resource: u.reason for u in p.unmapped}
    assert f"{B_}/Patient/X" in notes["Observation/o0"] and "not this bundle's patient" in notes["Observation/o0"]
    assert f"{B_}/Patient/X" in notes["Observation/o1"]


def test_urn_references_to_the_patient_entry_are_kept():
    assert _kept(_bundle("urn:uuid:p-1", ("urn:uuid:p-1", None), ("urn:uuid:p-2", None))) == ["Observation/o0"]
