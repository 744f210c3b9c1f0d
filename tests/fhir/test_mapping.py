"""FHIR R4 resources -> native records: codes, values, dates, statuses, sources and unmapped notes."""

from __future__ import annotations

import datetime as dt

import builders as B
import pytest

from screening.errors import PatientError
from screening.sources.fhir import bundle_to_patient


def mapped(*resources):
    return bundle_to_patient(B.bundle(B.patient(), *resources), "test.json")


def reasons(patient) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for u in patient.unmapped:
        out.setdefault(u.resource, []).append(u.reason)
    return out


def test_patient_demographics():
    p = mapped()
    assert (p.id, p.birth_date, p.sex) == ("pat-1", dt.date(1988, 4, 12), "female")
    assert p.unmapped == []


def test_partial_birth_date_is_not_guessed():
    b = B.bundle(B.patient(birth="1988-04"))
    p = bundle_to_patient(b)
    assert p.birth_date is None
    assert reasons(p) == {"Patient/pat-1": ["birthDate '1988-04' is not a full date: not used"]}


def test_quantity_keeps_the_ucum_code_and_the_local_day():
    p = mapped(B.lab("u", (B.LOINC, "2890-5", "Protein/Creatinine [Mass Ratio] in Urine"),
                     B.quantity(1850, "mg/g{creat}", "mg/g"), "2026-10-20T23:30:00-03:00"))
    (o,) = p.observations
    assert (o.code, o.value, o.unit, o.date, o.source) == ("loinc:2890-5", 1850, "mg/g{creat}", dt.date(2026, 10, 20),
                                                         "Observation/u")
    assert o.name == "Protein/Creatinine [Mass Ratio] in Urine"


def test_decimal_values_and_censored_values():
    p = mapped(B.lab("a", (B.LOINC, "2160-0"), B.quantity(0.92, "mg/dL"), "2026-10-01"),
               B.lab("b", (B.LOINC, "2160-0"), {"valueQuantity": {"value": 0.1, "comparator": "<", "system": B.UCUM,
                                                                 "code": "mg/dL"}}, "2026-10-02"))
    assert [(o.value, o.unit) for o in p.observations] == [(0.92, "mg/dL"), ("<0.1", "mg/dL")]


def test_titer_string_and_ratio():
    p = mapped(B.lab("s", (B.LOINC, "5048-4"), {"valueString": "1:160"}, "2026-09-01"),
               B.lab("r", (B.LOINC, "5048-4"), {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 640}}},
                     "2026-09-02"))
    assert [o.value for o in p.observations] == ["1:160", "1:640"]


def test_coded_values_from_the_table_then_display():
    p = mapped(B.lab("pos", (B.LOINC, "5130-0"), {"valueCodeableConcept": B.cc((B.SNOMED, "10828004", "Positive"))},
                     "2026-09-01"),
               B.lab("neg", (B.LOINC, "5130-0"), {"valueCodeableConcept": B.cc((B.SNOMED, "260385009", "Negative"))},
                     "2026-09-02"),
               B.lab("cls", B.cc((B.LOCAL, "LN-CLASS", "Lupus nephritis class"), text="Lupus nephritis class"),
                     {"valueCodeableConcept": {"text": "IV"}}, "2026-09-03"))
    assert [o.value for o in p.observations] == ["positive", "negative", "IV"]
    assert p.observations[2].code is None and p.observations[2].name == "Lupus nephritis class"
    assert reasons(p)["Observation/cls"] == [
        f"code: no coding from a known code system ({B.LOCAL}|LN-CLASS); kept under its name 'Lupus nephritis class' only"]


def test_several_codings_make_one_record_with_alternative_codes():
    p = mapped(B.condition("c", (B.SNOMED, "55464009", "Systemic lupus erythematosus"),
                           (B.ICD10CM, "M32.9", "SLE, unspecified"), (B.LOCAL, "D123", "SLE"), onset="2019-06-01"))
    (c,) = p.conditions
    assert (c.code, c.codes, c.status, c.onset) == ("snomed:55464009", ["icd10:M32.9"], "active", dt.date(2019, 6, 1))
    assert p.unmapped == []  # the EHR's own code beside SNOMED and ICD-10-CM adds nothing to match


def test_observation_statuses():
    p = mapped(B.lab("f", (B.LOINC, "2890-5"), B.quantity(1.1, "mg/mg"), "2026-10-01", status="preliminary"),
               B.lab("e", (B.LOINC, "2890-5"), B.quantity(9, "mg/mg"), "2026-10-02", status="entered-in-error"),
               B.lab("x", (B.LOINC, "2890-5"), B.quantity(9, "mg/mg"), "2026-10-03", status="cancelled"))
    assert [(o.source, o.status) for o in p.observations] == [("Observation/f", "preliminary")]
    assert reasons(p) == {"Observation/e": ["status entered-in-error: not used"],
                          "Observation/x": ["status cancelled: not a result to use"]}


def test_observations_without_a_usable_value_are_listed():
    p = mapped(B.lab("absent", (B.LOINC, "2890-5"), {"dataAbsentReason": B.cc(
                   ("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed"))}, "2026-10-01"),
               B.lab("range", (B.LOINC, "2890-5"), {"valueRange": {"low": {"value": 1}}}, "2026-10-01"),
               B.lab("nodate", (B.LOINC, "2890-5"), B.quantity(1, "mg/mg"), "2026-10"))
    assert p.observations == []
    assert reasons(p) == {"Observation/absent": ["no value (dataAbsentReason: not-performed)"],
                          "Observation/range": ["valueRange values are not supported"],
                          "Observation/nodate": ["effectiveDateTime '2026-10' is not a full date: not used"]}


def test_effective_period_start_is_the_date():
    r = B.lab("p", (B.LOINC, "2890-5"), B.quantity(1, "mg/mg"), "2026-10-01")
    del r["effectiveDateTime"]
    r["effectivePeriod"] = {"start": "2026-10-05T08:00:00Z", "end": "2026-10-06T08:00:00Z"}
    assert mapped(r).observations[0].date == dt.date(2026, 10, 5)


def test_components_are_records_of_their_own():
    p = mapped({"resourceType": "Observation", "id": "bp", "status": "final", "subject": B.PATIENT_REF,
                "code": B.cc((B.LOINC, "85354-9")), "effectiveDateTime": "2026-11-10",
                "component": [{"code": B.cc((B.LOINC, "8480-6")), **B.quantity(150, "mm[Hg]")},
                              {"code": B.cc((B.LOINC, "8462-4")), **B.quantity(95, "mm[Hg]")}]})
    assert [(o.code, o.value, o.unit, o.source) for o in p.observations] == [
        ("loinc:8480-6", 150, "mm[Hg]", "Observation/bp"), ("loinc:8462-4", 95, "mm[Hg]", "Observation/bp")]
    assert p.unmapped == []


def test_pregnancy_status_is_a_fact():
    p = mapped(B.lab("preg", (B.LOINC, "82810-3", "Pregnancy status"),
                     {"valueCodeableConcept": B.cc((B.SNOMED, "77386006", "Pregnant"))}, "2026-11-10"),
               B.lab("unk", (B.LOINC, "82810-3", "Pregnancy status"),
                     {"valueCodeableConcept": B.cc((B.SNOMED, "261665006", "Unknown"))}, "2026-11-11"))
    (f,) = p.facts
    assert (f.name, f.value, f.date, f.source) == ("pregnant", True, dt.date(2026, 11, 10), "Observation/preg")
    assert reasons(p) == {"Observation/unk": [
        "pregnant: the value is not a yes/no answer listed in the mapping table: no fact recorded"]}


def test_yes_no_observations_are_facts():
    p = mapped(B.lab("plan", B.cc((B.LOCAL, "PREGPLAN"), text="Pregnancy planned within next 12 months"),
                     {"valueBoolean": False}, "2026-11-01"))
    (f,) = p.facts
    assert (f.name, f.value, f.source) == ("Pregnancy planned within next 12 months", False, "Observation/plan")


@pytest.mark.parametrize("verification, clinical, status", [
    ("confirmed", "active", "active"), (None, "remission", "remission"), ("confirmed", "resolved", "resolved"),
    ("refuted", None, "refuted"), ("refuted", "inactive", "refuted"),
])
def test_condition_statuses(verification, clinical, status):
    p = mapped(B.condition("c", (B.SNOMED, "68815009"), clinical=clinical, verification=verification))
    assert [c.status for c in p.conditions] == [status]


@pytest.mark.parametrize("verification", ["provisional", "differential", "unconfirmed"])
def test_unconfirmed_diagnoses_are_kept_with_their_verification(verification):
    p = mapped(B.condition("c", (B.SNOMED, "68815009"), clinical="active", verification=verification))
    assert [(c.status, c.verification) for c in p.conditions] == [("active", verification)] and p.unmapped == []


def test_a_condition_without_clinical_status_is_a_diagnosis_whose_activity_is_unknown():
    p = mapped(B.condition("c", (B.SNOMED, "68815009"), clinical=None, verification="confirmed"),
               B.condition("r", (B.SNOMED, "68815009"), clinical=None, abatementDateTime="2025-01-02"))
    assert [(c.source, c.status) for c in p.conditions] == [("Condition/c", "unknown"), ("Condition/r", "resolved")]
    assert p.unmapped == []


def test_a_condition_entered_in_error_is_no_record():
    p = mapped(B.condition("c", (B.SNOMED, "68815009"), verification="entered-in-error"))
    assert p.conditions == [] and reasons(p) == {"Condition/c": ["verificationStatus entered-in-error: not used"]}


def test_condition_dates():
    p = mapped(B.condition("c", (B.ICD10CM, "M32.14"), clinical="resolved", onsetDateTime="2018-02-03",
                           abatementDateTime="2021-05-06T00:00:00+02:00"),
               B.condition("p", (B.ICD10CM, "M32.14"), clinical="resolved", onsetPeriod={"start": "2018-02-03"},
                           abatementDateTime="2021-05-06"))
    c, period = p.conditions
    assert (c.code, c.onset, c.abatement) == ("icd10:M32.14", dt.date(2018, 2, 3), dt.date(2021, 5, 6))
    # onsetPeriod: the onset happened within the period, not on its first day
    assert (period.onset, period.onset_earliest, period.onset_latest, period.onset_text) == (
        None, dt.date(2018, 2, 3), None, "in the period from 2018-02-03")


def test_medication_statement_with_referenced_medication_and_ingredients():
    p = mapped({"resourceType": "MedicationStatement", "id": "ms", "status": "active", "subject": B.PATIENT_REF,
                "medicationReference": {"reference": "Medication/m1"}, "effectivePeriod": {"start": "2026-07-01"}},
               {"resourceType": "Medication", "id": "m1", "code": B.cc((B.RXNORM, "311625", "mycophenolate mofetil 500 MG Oral Tablet")),
                "ingredient": [{"itemCodeableConcept": B.cc((B.RXNORM, "68149", "mycophenolate mofetil"),
                                                            (B.ATC, "L04AA06"))}]})
    (m,) = p.medications
    assert (m.code, m.codes, m.name, m.start, m.stop, m.status, m.source) == (
        "rxnorm:311625", ["rxnorm:68149", "atc:L04AA06"], "mycophenolate mofetil 500 MG Oral Tablet",
        dt.date(2026, 7, 1), None, "active", "MedicationStatement/ms")
    assert p.unmapped == []


def test_medication_reference_by_full_url_and_missing_reference():
    b = B.bundle(B.patient(),
                 {"resourceType": "MedicationAdministration", "id": "ma", "status": "completed", "subject": B.PATIENT_REF,
                  "medicationReference": {"reference": "urn:uuid:medication-rtx"}, "effectiveDateTime": "2026-08-01"},
                 {"resourceType": "Medication", "id": "rtx", "code": B.cc((B.RXNORM, "121191", "rituximab"))},
                 {"resourceType": "MedicationAdministration", "id": "lost", "status": "completed",
                  "subject": B.PATIENT_REF, "medicationReference": {"reference": "Medication/elsewhere"},
                  "effectiveDateTime": "2026-08-01"})
    p = bundle_to_patient(b)
    (m,) = p.medications
    assert (m.code, m.start, m.stop, m.status) == ("rxnorm:121191", dt.date(2026, 8, 1), dt.date(2026, 8, 1), "completed")
    assert reasons(p) == {"MedicationAdministration/lost": [
        "medicationReference 'Medication/elsewhere' is not a Medication in the bundle"]}


@pytest.mark.parametrize("kind, status, extra, expected", [
    ("MedicationStatement", "not-taken", {}, "not-taken"),
    ("MedicationStatement", "intended", {}, "intended"),
    ("MedicationAdministration", "not-done", {}, "not-taken"),
    ("MedicationAdministration", "in-progress", {}, "active"),
    ("MedicationRequest", "active", {"intent": "order"}, "active"),
    ("MedicationRequest", "active", {"intent": "plan"}, "intended"),
    ("MedicationRequest", "draft", {"intent": "order"}, "intended"),
])
def test_medication_statuses(kind, status, extra, expected):
    r = {"resourceType": kind, "id": "m", "status": status, "subject": B.PATIENT_REF,
         "medicationCodeableConcept": B.cc((B.RXNORM, "3002", "cyclophosphamide")), **extra}
    if kind == "MedicationAdministration":
        r["effectiveDateTime"] = "2026-08-01"
    assert [m.status for m in mapped(r).medications] == [expected]


def test_medication_request_dates_come_from_the_dosage_bounds_else_the_order_date_as_the_earliest_start():
    base = {"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": B.PATIENT_REF,
            "medicationCodeableConcept": B.cc((B.RXNORM, "3002", "cyclophosphamide")), "authoredOn": "2026-05-02"}
    bounded = {**base, "id": "b", "dosageInstruction": [
        {"timing": {"repeat": {"boundsPeriod": {"start": "2026-05-10", "end": "2026-11-10"}}}}]}
    p = mapped(bounded, {**base, "id": "o"})
    assert [(m.start, m.stop, m.start_is_earliest) for m in p.medications] == [
        (dt.date(2026, 5, 10), dt.date(2026, 11, 10), False), (dt.date(2026, 5, 2), None, True)]
    assert p.unmapped == []


def test_medication_request_cancelled_is_listed():
    p = mapped({"resourceType": "MedicationRequest", "id": "c", "status": "cancelled", "intent": "order",
                "subject": B.PATIENT_REF, "medicationCodeableConcept": B.cc((B.RXNORM, "3002"))})
    assert p.medications == [] and reasons(p) == {
        "MedicationRequest/c": ["status cancelled: withdrawn before any administration, not an exposure"]}
    assert p.unmapped[0].category == "medications" and p.unmapped[0].code == "rxnorm:3002"


@pytest.mark.parametrize("status, expected", [("completed", "completed"), ("preparation", "planned"),
                                              ("not-done", "not-done"), ("in-progress", "in-progress")])
def test_procedures(status, expected):
    p = mapped({"resourceType": "Procedure", "id": "p", "status": status, "subject": B.PATIENT_REF,
                "code": B.cc((B.CPT, "50200", "Renal biopsy; percutaneous")),
                "performedPeriod": {"start": "2026-04-02T09:00:00Z", "end": "2026-04-02T10:00:00Z"}})
    (r,) = p.procedures
    assert (r.code, r.status, r.date, r.end) == ("cpt:50200", expected, dt.date(2026, 4, 2), dt.date(2026, 4, 2))


def test_immunizations():
    p = mapped({"resourceType": "Immunization", "id": "i1", "status": "completed", "patient": B.PATIENT_REF,
                "vaccineCode": B.cc((B.CVX, "33", "pneumococcal polysaccharide PPV23")), "occurrenceDateTime": "2024-10-01"},
               {"resourceType": "Immunization", "id": "i2", "status": "not-done", "patient": B.PATIENT_REF,
                "vaccineCode": B.cc((B.CVX, "158")), "occurrenceString": "autumn campaign"})
    assert [(i.code, i.status, i.date) for i in p.immunizations] == [
        ("cvx:33", "completed", dt.date(2024, 10, 1)), ("cvx:158", "not-done", None)]
    assert reasons(p) == {"Immunization/i2": ["occurrenceString 'autumn campaign' is not a date: kept without a date"]}


def consent(cid: str, status: str, scope: str = "research", **more) -> dict:
    return {"resourceType": "Consent", "id": cid, "status": status, "patient": B.PATIENT_REF, "dateTime": "2026-11-20",
            "scope": B.cc(("http://terminology.hl7.org/CodeSystem/consentscope", scope)),
            "category": [B.cc((B.LOINC, "59284-0", "Patient Consent"))], **more}


def test_research_consent_is_a_fact():
    p = mapped(consent("yes", "active"), consent("no", "rejected"),
               consent("deny", "active", provision={"type": "deny"}), consent("draft", "proposed"),
               consent("privacy", "active", scope="patient-privacy"))
    assert [(f.code, f.name, f.value, f.source) for f in p.facts] == [
        ("research-consent", "research informed consent", True, "Consent/yes"),
        ("research-consent", "research informed consent", False, "Consent/no"),
        ("research-consent", "research informed consent", False, "Consent/deny")]
    assert reasons(p) == {"Consent/draft": ["status proposed: consent neither given nor refused"],
                          "Consent/privacy": ["a consent of scope patient-privacy: only research consent is used"]}


def test_questionnaire_response_answers_confirmation_criteria():
    p = mapped({"resourceType": "QuestionnaireResponse", "id": "q", "status": "completed", "subject": B.PATIENT_REF,
                "questionnaire": "http://site.example/fhir/Questionnaire/NCT01056471|2", "authored": "2026-11-20T10:00:00Z",
                "item": [{"linkId": "exc-4", "text": "Inability to complete questionnaires",
                          "answer": [{"valueBoolean": False}]},
                         {"linkId": "notes", "answer": [{"valueString": "seen by PI"}]}]})
    assert [(f.code, f.value, f.date) for f in p.facts] == [("NCT01056471/exc-4", False, dt.date(2026, 11, 20))]
    assert reasons(p) == {"QuestionnaireResponse/q": ["item notes: the answer is not a single yes/no: not used"]}


def test_other_resources_are_listed_not_dropped():
    p = mapped({"resourceType": "Encounter", "id": "e", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
               {"resourceType": "Medication", "id": "unused", "code": B.cc((B.RXNORM, "3002"))})
    assert reasons(p) == {"Encounter/e": ["Encounter resources are not used for screening"],
                          "Medication/unused": ["Medication not referenced by any medication record of the bundle"]}


def test_allergy_intolerance_and_family_member_history():
    p = mapped({"resourceType": "AllergyIntolerance", "id": "a", "patient": B.PATIENT_REF,
                "clinicalStatus": B.cc(("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active")),
                "verificationStatus": B.cc(("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                            "unconfirmed")),
                "type": "allergy", "category": ["medication"], "criticality": "high",
                "code": B.cc((B.RXNORM, "7980", "Penicillin G")),
                "onsetDateTime": "2010-03-01", "reaction": [{"manifestation": [B.cc((B.SNOMED, "247472004", "Hives"))]}]},
               {"resourceType": "AllergyIntolerance", "id": "r", "patient": B.PATIENT_REF,
                "verificationStatus": B.cc(("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                            "refuted")),
                "code": B.cc((B.RXNORM, "733", "Ampicillin")), "recordedDate": "2024-05-01"},
               {"resourceType": "FamilyMemberHistory", "id": "f", "patient": B.PATIENT_REF, "status": "completed",
                "date": "2025-01-10",
                "relationship": B.cc(("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "MTH", "mother")),
                "condition": [{"code": B.cc((B.SNOMED, "254837009", "Breast cancer")),
                               "onsetAge": {"value": 52, "unit": "yr", "system": "http://unitsofmeasure.org",
                                            "code": "a"}}]})
    a, r = p.allergies
    assert (a.code, a.name, a.verification, a.status, a.onset, a.reactions, a.source) == (
        "rxnorm:7980", "Penicillin G", "unconfirmed", "active", dt.date(2010, 3, 1), ["Hives"], "AllergyIntolerance/a")
    assert (r.status, r.onset) == ("refuted", dt.date(2024, 5, 1))  # no onset: the recorded date
    assert (a.category, r.category) == (["medication"], [])
    (f,) = p.family_history
    assert (f.code, f.relationship, f.onset_age, f.date, f.source) == (
        "snomed:254837009", "mother", 52.0, dt.date(2025, 1, 10), "FamilyMemberHistory/f")


def test_records_about_another_patient_are_not_used():
    other = B.lab("o", (B.LOINC, "2890-5"), B.quantity(2, "mg/mg"), "2026-10-01", subject={"reference": "Patient/pat-2"})
    same = B.lab("s", (B.LOINC, "2890-5"), B.quantity(2, "mg/mg"), "2026-10-01",
                 subject={"reference": "https://ehr.example/fhir/Patient/pat-1"})
    p = mapped(other, same)
    assert [o.source for o in p.observations] == ["Observation/s"]
    assert reasons(p) == {"Observation/o": ["about Patient/pat-2, not this bundle's patient (Patient/pat-1): not used"]}


def test_searchset_with_outcome_and_next_page():
    b = B.bundle(B.patient(), B.lab("u", (B.LOINC, "2890-5"), B.quantity(2, "mg/mg"), "2026-10-01"),
                 {"resourceType": "OperationOutcome", "id": "oo", "issue": [
                     {"severity": "warning", "code": "incomplete", "diagnostics": "results limited to 2 years"}]},
                 btype="searchset", link=[{"relation": "next", "url": "https://ehr.example/fhir/Observation?page=2"}])
    b["entry"][2]["search"] = {"mode": "outcome"}
    p = bundle_to_patient(b)
    assert len(p.observations) == 1
    assert reasons(p) == {
        "Bundle/b-1": ["one page of a search: the next page (link 'next') is not in the file, so its records are not seen"],
        "OperationOutcome/oo": ["OperationOutcome from the server: warning: results limited to 2 years"]}


def test_a_bundle_without_a_patient_is_refused():
    b = B.bundle(B.lab("u", (B.LOINC, "2890-5"), B.quantity(2, "mg/mg"), "2026-10-01"), btype="searchset")
    with pytest.raises(PatientError) as err:
        bundle_to_patient(b, "s.json")
    assert [str(p) for p in err.value.problems] == [
        "s.json: error: the bundle holds no Patient resource: a screen is about one patient, "
        "and whose records these are cannot be told"]


def test_adding_a_loinc_code_to_a_data_item_needs_no_mapping_change():
    """A second UPCR code (loinc:13801-3) maps like any LOINC code: only the rule file's codes list decides."""
    p = mapped(B.lab("u2", (B.LOINC, "13801-3", "Protein/Creatinine [Mass Ratio] in 24 hour Urine"),
                     B.quantity(1.4, "mg/mg"), "2026-10-01"))
    assert [o.code for o in p.observations] == ["loinc:13801-3"] and p.unmapped == []


def test_a_resource_twice_is_counted_once():
    lab = B.lab("u", (B.LOINC, "2890-5"), B.quantity(2, "mg/mg"), "2026-10-01")
    p = mapped(lab, dict(lab))
    assert len(p.observations) == 1
    assert reasons(p) == {"Observation/u (Bundle.entry[2])": ["the same resource as Bundle.entry[1]: counted once"]}


def test_contained_medication_and_partial_onset():
    p = mapped({"resourceType": "MedicationStatement", "id": "ms", "status": "active", "subject": B.PATIENT_REF,
                "contained": [{"resourceType": "Medication", "id": "m",
                               "code": B.cc((B.RXNORM, "3002", "cyclophosphamide"))}],
                "medicationReference": {"reference": "#m"}, "effectiveDateTime": "2026-09-01"},
               B.condition("c", (B.SNOMED, "55464009"), onsetDateTime="2019"))
    assert [(m.code, m.start) for m in p.medications] == [("rxnorm:3002", dt.date(2026, 9, 1))]
    # a year is an interval of days, never its first day (nor a missing onset)
    assert [(c.code, c.onset, c.onset_earliest, c.onset_latest, c.onset_text) for c in p.conditions] == [
        ("snomed:55464009", None, dt.date(2019, 1, 1), dt.date(2019, 12, 31), "in 2019")]
    assert reasons(p) == {}


STUDY_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"


def study(sid: str, nct: str) -> dict:
    return {"resourceType": "ResearchStudy", "id": sid, "status": "active",
            "identifier": [{"system": "https://clinicaltrials.gov", "value": nct}]}


@pytest.mark.parametrize("status, provision, given, refused", [
    ("active", None, True, False), ("rejected", None, False, True), ("active", "deny", False, True),
])
def test_consent_naming_a_study_records_generic_facts_for_that_study(status, provision, given, refused):
    more = {"extension": [{"url": STUDY_EXT, "valueReference": {"reference": "ResearchStudy/rs-ms"}}]}
    if provision:
        more["provision"] = {"type": provision}
    p = mapped(consent("c", status, **more), study("rs-ms", "NCT01056471"))
    assert [(f.code, f.value, f.source) for f in p.facts] == [  # by the study's identifier and by its id
        ("research-consent", given, "Consent/c"),
        ("consent-given/NCT01056471", given, "Consent/c"), ("consent-refused/NCT01056471", refused, "Consent/c"),
        ("consent-given/rs-ms", given, "Consent/c"), ("consent-refused/rs-ms", refused, "Consent/c")]
    assert p.unmapped == []


def test_withdrawn_consent_is_not_a_refusal_and_any_study_is_recorded():
    ext = {"extension": [{"url": STUDY_EXT, "valueReference": {"reference": "ResearchStudy/rs-ms"}}]}
    other = {"extension": [{"url": STUDY_EXT, "valueReference": {"identifier": {"value": "NCT09999999"}}}]}
    p = mapped(consent("w", "inactive", **ext), study("rs-ms", "NCT01056471"), consent("o", "active", **other),
               study("rs-unused", "NCT00000000"))
    assert [(f.code, f.value) for f in p.facts] == [
        ("research-consent", False), ("consent-given/NCT01056471", False), ("consent-given/rs-ms", False),
        ("research-consent", True), ("consent-given/NCT09999999", True), ("consent-refused/NCT09999999", False)]
    assert reasons(p) == {"ResearchStudy/rs-unused": ["ResearchStudy not named by any Consent of the bundle"]}


@pytest.mark.parametrize("policy, studies", [
    ({"policy": [{"uri": "https://clinicaltrials.gov/study/NCT04348461"}]}, ["NCT04348461"]),
    ({"policy": [{"authority": "https://www.clinicaltrialsregister.eu/ctr-search/trial/2019-001234-56/ES"}]},
     ["2019-001234-56"]),
    ({"policyRule": {"text": "Consent to the COPLANT study (NCT06323538, DRKS00033140)"}}, ["NCT06323538", "DRKS00033140"]),
    ({"policyRule": {"coding": [{"system": "http://site.example/studies", "code": "ISRCTN12345678"}]}},
     ["ISRCTN12345678"]),
    ({"policy": [{"uri": "http://hl7.org/fhir/ConsentPolicy/opt-in"}]}, []),  # a policy, not a study
    ({"policyRule": {"text": "NCT0434846 is not a registry id, nor is XNCT04348461"}}, []),
])
def test_a_policy_names_studies_by_their_registry_ids(policy, studies):
    p = mapped(consent("c", "active", **policy))
    assert [f.code for f in p.facts] == ["research-consent"] + [
        f"consent-{kind}/{s}" for s in studies for kind in ("given", "refused")]


def test_the_mapping_tables_name_no_trial():
    from screening.sources.fhir.tables import tables
    import re

    text = repr(tables().mapping)
    assert not re.search(r"NCT\d{8}|MSV-allo", text)


def test_a_string_over_the_limit_is_noted_and_the_rest_mapped():
    long = "y" * 5000
    p = mapped(B.lab("s", (B.LOINC, "8867-4", "Heart rate"), {"valueString": long}, "2026-10-20"),
               B.lab("u", (B.LOINC, "8867-4", "Heart rate"), B.quantity(70, long), "2026-10-20"),
               B.condition("c", ("http://local.example/codes", "x", long)),
               B.lab("ok", (B.LOINC, "8867-4", "Heart rate"), B.quantity(70, "/min"), "2026-10-20"))
    assert [o.source for o in p.observations] == ["Observation/ok"]
    why = reasons(p)
    assert why["Observation/s"] == ["value: longer than 2000 characters (5000): no charted name, code, value, unit "
                                    "or reference is this long: not used"]
    assert why["Observation/u"] == ["unit: longer than 2000 characters (5000): no charted name, code, value, unit "
                                    "or reference is this long: not used"]
    assert all(len(u.reason) <= 2000 and len(u.name or "") <= 2000 for u in p.unmapped)
    assert any("(5057 characters)" in r or "characters)" in r for r in why["Condition/c"]), why["Condition/c"]


def test_a_patient_id_over_the_limit_is_a_located_error():
    b = B.bundle({"resourceType": "Patient", "birthDate": "1988-04-12"},
                 B.lab("o", (B.LOINC, "8867-4", "Heart rate"), B.quantity(70, "/min"), "2026-10-20",
                       subject={"reference": "Patient/" + "z" * 3000}))
    with pytest.raises(PatientError) as err:
        bundle_to_patient(b, "long.json")
    assert str(err.value.problems[0]).startswith("long.json") and "longer than 2000" in str(err.value), str(err.value)


def test_genomics_result_is_about_the_gene_studied():
    """A variant assessment with a gene-studied component (LOINC 48018-6) is a result about that gene: a coded
    item with codes [gene:POLE] reads its present/absent as positive/negative (NCT06388018's POLE mutation)."""
    from screening import screen
    from screening.rules.compiler import compile_text

    variant = B.lab("v1", (B.LOINC, "69548-6", "Genetic variant assessment"),
                    {"valueCodeableConcept": B.cc((B.LOINC, "LA9633-4", "Present"))}, "2026-10-20",
                    component=[{"code": B.cc((B.LOINC, "48018-6", "Gene studied [ID]")),
                                "valueCodeableConcept": B.cc(("http://www.genenames.org/geneId", "HGNC:9177", "POLE"))}])
    p = mapped(variant)
    main = next(o for o in p.observations if o.code == "loinc:69548-6")
    assert "gene:POLE" in main.codes and main.value == "present" and main.name.endswith("(POLE)")
    trial = compile_text("""
format: 1
trial: {id: GEN, title: genomics}
data:
  pole_mutation: {label: POLE pathogenic mutation, type: coded, codes: ['gene:POLE']}
criteria:
  - {id: pole, kind: inclusion, text: POLE mutation, rule: "pole_mutation == 'positive'"}
""", "gen.yaml")
    r = screen(p, trial, as_of="2026-11-23").criteria[0]
    assert r.status.value == "pass" and "POLE pathogenic mutation present" in r.reason
    assert r.evidence[0].record == "Genetic variant assessment (POLE)"


def test_a_variant_of_uncertain_significance_is_no_mutation():
    """A 'Present' variant whose clinical significance component (LOINC 53037-8) says 'Uncertain significance'
    (or likely benign) carries it in its name, and a coded item reading the gene does not take it as positive:
    unknown, naming the significance. 'Pathogenic' still reads as positive."""
    from screening import screen
    from screening.rules.compiler import compile_text

    trial = compile_text("""
format: 1
trial: {id: GEN, title: genomics}
data:
  pole_mutation: {label: POLE pathogenic mutation, type: coded, codes: ['gene:POLE']}
criteria:
  - {id: pole, kind: inclusion, text: POLE mutation, rule: "pole_mutation == 'positive'"}
""", "gen.yaml")

    def variant(code: str, display: str):
        return B.lab("v1", (B.LOINC, "69548-6", "Genetic variant assessment"),
                     {"valueCodeableConcept": B.cc((B.LOINC, "LA9633-4", "Present"))}, "2026-10-20",
                     component=[{"code": B.cc((B.LOINC, "48018-6", "Gene studied [ID]")),
                                 "valueCodeableConcept": B.cc(("http://www.genenames.org/geneId", "HGNC:9177", "POLE"))},
                                {"code": B.cc((B.LOINC, "53037-8", "Genetic variation clinical significance [Imp]")),
                                 "valueCodeableConcept": B.cc((B.LOINC, code, display))}])

    vus = mapped(variant("LA26333-7", "Uncertain significance"))
    main = next(o for o in vus.observations if o.code == "loinc:69548-6")
    assert main.name == "Genetic variant assessment (POLE) (clinical significance: Uncertain significance)"
    r = screen(vus, trial, as_of="2026-11-23").criteria[0]
    assert r.status.value == "unknown" and "says 'uncertain significance': not read as positive" in r.reason
    benign = screen(mapped(variant("LA26334-5", "Likely benign")), trial, as_of="2026-11-23").criteria[0]
    assert benign.status.value == "unknown" and "'likely benign'" in benign.reason
    pathogenic = screen(mapped(variant("LA6668-3", "Pathogenic")), trial, as_of="2026-11-23").criteria[0]
    assert pathogenic.status.value == "pass"
