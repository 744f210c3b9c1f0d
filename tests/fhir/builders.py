"""Small builders of FHIR R4 resources as EHR exports write them (for the FHIR tests)."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CVX = "http://hl7.org/fhir/sid/cvx"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"  # an EHR's local lab codes
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

PATIENT_REF = {"reference": "Patient/pat-1"}


def cc(*codings: tuple, text: str | None = None) -> dict:
    out: dict[str, Any] = {"coding": [dict(zip(("system", "code", "display"), c)) for c in codings]}
    if text:
        out["text"] = text
    return out


def patient(pid: str = "pat-1", birth: str = "1988-04-12", gender: str = "female") -> dict:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": gender,
            "name": [{"family": "Test", "given": ["Ana"]}]}


def lab(oid: str, code: tuple | dict, value: dict, when: str, status: str = "final", **more) -> dict:
    """An Observation; ``code`` is one coding (system, code[, display]) or a whole CodeableConcept."""
    return {"resourceType": "Observation", "id": oid, "status": status,
            "category": [cc((OBS_CATEGORY, "laboratory", "Laboratory"))],
            "code": code if isinstance(code, dict) else cc(code), "subject": PATIENT_REF, "effectiveDateTime": when, **value, **more}


def quantity(value: float, code: str, unit: str | None = None) -> dict:
    return {"valueQuantity": {"value": value, "unit": unit or code, "system": UCUM, "code": code}}


def condition(cid: str, *codings: tuple, clinical: str | None = "active", verification: str | None = "confirmed",
              onset: str | None = None, **more) -> dict:
    r: dict[str, Any] = {"resourceType": "Condition", "id": cid, "code": cc(*codings), "subject": PATIENT_REF}
    if clinical:
        r["clinicalStatus"] = cc((CLINICAL, clinical))
    if verification:
        r["verificationStatus"] = cc((VERIFICATION, verification))
    if onset:
        r["onsetDateTime"] = onset
    r.update(more)
    return r


def bundle(*resources: dict, btype: str = "collection", **more) -> dict:
    return {"resourceType": "Bundle", "id": "b-1", "type": btype,
            "entry": [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r.get('id', i)}", "resource": r}
                      for i, r in enumerate(resources)], **more}


def lupus_eligible() -> list[dict]:
    """Resources of a patient who meets every criterion of tests/fhir/rules/lupus-fhir-test.yaml on 2026-11-23."""
    return [
        patient(),
        condition("sle", (SNOMED, "55464009", "Systemic lupus erythematosus"), (ICD10CM, "M32.9", "SLE, unspecified"),
                  onset="2019-06-01"),
        lab("ana", (LOINC, "5048-4", "Nuclear Ab [Titer] in Serum by Immunofluorescence"),
            {"valueString": "1:320"}, "2026-09-14T08:30:00-03:00"),
        lab("dsdna", (LOINC, "5130-0", "DNA double strand Ab [Units/volume] in Serum"),
            {"valueCodeableConcept": cc((SNOMED, "10828004", "Positive"))}, "2026-09-14T08:30:00-03:00"),
        lab("upcr", (LOINC, "2890-5", "Protein/Creatinine [Mass Ratio] in Urine"),
            quantity(1850, "mg/g{creat}", "mg/g"), "2026-10-20T09:10:00-03:00"),
        {"resourceType": "Observation", "id": "bp", "status": "final",
         "code": cc((LOINC, "85354-9", "Blood pressure panel with all children optional")), "subject": PATIENT_REF,
         "effectiveDateTime": "2026-11-10T10:00:00-03:00",
         "component": [{"code": cc((LOINC, "8480-6", "Systolic blood pressure")), **quantity(138, "mm[Hg]")},
                       {"code": cc((LOINC, "8462-4", "Diastolic blood pressure")), **quantity(86, "mm[Hg]")}]},
        lab("preg", (LOINC, "82810-3", "Pregnancy status"),
            {"valueCodeableConcept": cc((SNOMED, "60001007", "Not pregnant"))}, "2026-11-10"),
        {"resourceType": "Procedure", "id": "biopsy", "status": "completed", "subject": PATIENT_REF,
         "code": cc((SNOMED, "90688005", "Biopsy of kidney"), (CPT, "50200", "Renal biopsy; percutaneous")),
         "performedDateTime": "2026-04-02"},
        {"resourceType": "Immunization", "id": "flu", "status": "completed", "patient": PATIENT_REF,
         "vaccineCode": cc((CVX, "158", "influenza, injectable, quadrivalent")), "occurrenceDateTime": "2026-10-01"},
        {"resourceType": "MedicationStatement", "id": "cyc", "status": "completed", "subject": PATIENT_REF,
         "medicationReference": {"reference": "Medication/cyc-inj"},
         "effectivePeriod": {"start": "2025-09-01", "end": "2026-02-28"}},
        {"resourceType": "Medication", "id": "cyc-inj",
         "code": cc((RXNORM, "1734919", "cyclophosphamide 500 MG Injection")),
         "ingredient": [{"itemCodeableConcept": cc((RXNORM, "3002", "cyclophosphamide"))}]},
        {"resourceType": "QuestionnaireResponse", "id": "checklist", "status": "completed",
         "questionnaire": "http://site.example/fhir/Questionnaire/FHIR-TEST-1", "subject": PATIENT_REF,
         "authored": "2026-11-20", "item": [{"linkId": "inc-consent", "text": "Written informed consent signed",
                                              "answer": [{"valueBoolean": True}]}]},
    ]


def replace(resources: list[dict], rid: str, new: dict | None) -> list[dict]:
    """The resources with the one whose id is ``rid`` replaced by ``new`` (or removed)."""
    out = [new if r.get("id") == rid else r for r in resources]
    return [r for r in out if r is not None]
