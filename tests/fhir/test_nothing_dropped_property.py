"""Property: every resource of a bundle is either cited by a record or listed as unmapped."""

from __future__ import annotations

import builders as B
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.sources.fhir import bundle_to_patient

ids = st.integers(0, 10**6).map(lambda i: f"r{i}")
days = st.sampled_from(["2026-10-01", "2026-10-01T08:00:00+02:00", "2026-10", "2019"])
codings = st.sampled_from([(B.LOINC, "2890-5"), (B.SNOMED, "55464009"), (B.LOCAL, "X1"), ("http://unknown.example", "z"),
                           (B.RXNORM, "3002"), (B.CVX, "158"), (B.CPT, "50200"), (B.ICD10CM, "M32.14")])
concepts = st.tuples(st.lists(codings, max_size=2), st.none() | st.just("charted name")).map(
    lambda t: {**({"coding": [dict(zip(("system", "code"), c)) for c in t[0]]} if t[0] else {}),
               **({"text": t[1]} if t[1] else {})})
values = st.sampled_from([
    {}, {"valueString": "1:160"}, {"valueBoolean": True}, {"valueInteger": 3},
    {"valueQuantity": {"value": 1.2, "system": B.UCUM, "code": "mg/g{creat}"}},
    {"valueQuantity": {"value": 1.2, "comparator": "<"}}, {"valueCodeableConcept": {"text": "positive"}},
    {"valueRange": {"low": {"value": 1}}},
    {"dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                      "code": "unknown"}]}},
])


def observation(rid, status, code, value, day):
    return {"resourceType": "Observation", "id": rid, "status": status, "code": code or {"text": "x"},
            "subject": B.PATIENT_REF, "effectiveDateTime": day, **value}


observations = st.builds(observation, ids, st.sampled_from(["final", "preliminary", "amended", "entered-in-error",
                                                             "cancelled", "unknown", "registered"]),
                         concepts, values, days)
conditions = st.builds(
    lambda rid, clin, ver, code, day: B.condition(rid, clinical=clin, verification=ver, onset=day,
                                                  **({"code": code} if code else {})),
    ids, st.none() | st.sampled_from(["active", "resolved", "remission", "inactive"]),
    st.none() | st.sampled_from(["confirmed", "refuted", "provisional", "entered-in-error", "unconfirmed"]),
    concepts, days)
medications = st.builds(
    lambda rid, kind, status, code: {"resourceType": kind, "id": rid, "status": status, "subject": B.PATIENT_REF,
                                     "medicationCodeableConcept": code,
                                     **({"intent": "order"} if kind == "MedicationRequest" else {}),
                                     **({"effectiveDateTime": "2026-09-01"} if kind != "MedicationRequest" else {})},
    ids, st.sampled_from(["MedicationStatement", "MedicationAdministration", "MedicationRequest"]),
    st.sampled_from(["active", "completed", "stopped", "not-taken", "not-done", "entered-in-error", "unknown",
                     "cancelled", "draft", "in-progress", "on-hold", "intended"]), concepts)
procedures = st.builds(
    lambda rid, status, code, day: {"resourceType": "Procedure", "id": rid, "status": status, "subject": B.PATIENT_REF,
                                    "code": code, "performedDateTime": day},
    ids, st.sampled_from(["completed", "preparation", "not-done", "in-progress", "on-hold", "stopped", "unknown"]),
    concepts, days)
others = st.builds(lambda rid, kind: {"resourceType": kind, "id": rid, **(
    {"status": "finished", "class": {"code": "AMB"}} if kind == "Encounter" else {})},
    ids, st.sampled_from(["Encounter", "Organization", "Practitioner"]))


def compatible(resource):
    """Keep the statuses the FHIR R4 value set of each medication resource allows (the models do not check codes)."""
    allowed = {"MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
                                       "unknown", "not-taken"},
               "MedicationAdministration": {"in-progress", "not-done", "on-hold", "completed", "entered-in-error",
                                            "stopped", "unknown"},
               "MedicationRequest": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped",
                                     "draft", "unknown"}}
    kind = resource["resourceType"]
    return kind not in allowed or resource["status"] in allowed[kind]


resources = st.lists(st.one_of(observations, conditions, medications, procedures, others).filter(compatible),
                     max_size=12, unique_by=lambda r: r["id"])


@settings(max_examples=200, deadline=None)
@given(resources)
def test_every_resource_is_cited_or_listed(rs):
    patient = bundle_to_patient(B.bundle(B.patient(), *rs))
    cited = {r.source for c in ("observations", "conditions", "medications", "procedures", "immunizations", "facts",
                                "allergies", "family_history")
             for r in getattr(patient, c)}
    listed = {u.resource for u in patient.unmapped}
    for r in rs:
        ref = f"{r['resourceType']}/{r['id']}"
        assert ref in cited or ref in listed, ref
