"""Screening FHIR bundles with a rule file: verdicts, reasons citing resources, unmapped in the result."""

from __future__ import annotations

from pathlib import Path

import builders as B
import pytest

import screening
from screening.sources.fhir import bundle_to_patient

RULES = Path(__file__).parent / "rules" / "lupus-fhir-test.yaml"
AS_OF = "2026-11-23"
COMPLETE = ["medications", "procedures"]


@pytest.fixture(scope="module")
def trial():
    return screening.load_criteria(RULES)


def screen(trial, resources, complete=COMPLETE, **bundle):
    return screening.screen(bundle_to_patient(B.bundle(*resources, **bundle)), trial, AS_OF, complete=complete)


def status(result, cid):
    return crit(result, cid).status.value


def crit(result, cid):
    return next(c for c in result.criteria if c.id == cid)


def test_eligible(trial):
    r = screen(trial, B.lupus_eligible())
    assert r.verdict is screening.Verdict.ELIGIBLE, r.summary
    assert r.unmapped == []


def test_same_bundle_undetermined_without_declared_completeness(trial):
    r = screen(trial, B.lupus_eligible(), complete=[])
    assert r.verdict is screening.Verdict.UNDETERMINED
    assert r.unknown == ["exc-cyc", "exc-plasmapheresis"]


def test_upcr_in_mg_per_mmol_below_threshold_is_ineligible(trial):
    low = B.lab("upcr", (B.LOINC, "2890-5", "Protein/Creatinine [Mass Ratio] in Urine"),
                B.quantity(85, "mg/mmol{creat}", "mg/mmol"), "2026-10-20")
    r = screen(trial, B.replace(B.lupus_eligible(), "upcr", low))
    assert r.verdict is screening.Verdict.INELIGIBLE and r.failed == ["inc-upcr"]
    c = next(c for c in r.criteria if c.id == "inc-upcr")
    assert c.reason == ("UPC ratio 85 mg/mmol{creat} (0.751 mg/mg) on 2026-10-20 [Observation/upcr] "
                        "(within 3 months), not >= 1 mg/mg")


def _bound(value: float, comparator: str) -> dict:
    q = B.quantity(value, "mg/mmol{creat}", "mg/mmol")
    return {"valueQuantity": {**q["valueQuantity"], "comparator": comparator}}


def test_a_quantity_with_a_comparator_is_a_bound_that_decides_when_beyond_the_threshold(trial):
    below = B.lab("upcr", (B.LOINC, "2890-5", "Protein/Creatinine [Mass Ratio] in Urine"),
                  _bound(50, "<"), "2026-10-20")
    c = next(c for c in screen(trial, B.replace(B.lupus_eligible(), "upcr", below)).criteria if c.id == "inc-upcr")
    assert (c.status.value, c.reason) == ("fail", "UPC ratio <50 mg/mmol{creat} (<0.442 mg/mg) on 2026-10-20 "
                                                  "[Observation/upcr] (within 3 months), not >= 1 mg/mg")
    above = B.lab("upcr", (B.LOINC, "2890-5", "Protein/Creatinine [Mass Ratio] in Urine"),
                  _bound(100, ">"), "2026-10-20")
    c = next(c for c in screen(trial, B.replace(B.lupus_eligible(), "upcr", above)).criteria if c.id == "inc-upcr")
    assert c.status.value == "unknown"  # above 0.884 mg/mg: may or may not reach 1
    assert c.reason.endswith(": cannot tell whether >= 1 mg/mg")


def test_refuted_diagnosis_is_an_explicit_negative(trial):
    refuted = B.condition("sle", (B.SNOMED, "55464009", "Systemic lupus erythematosus"), clinical=None,
                          verification="refuted")
    r = screen(trial, B.replace(B.lupus_eligible(), "sle", refuted))
    assert status(r, "inc-sle") == "unknown"  # lupus nephritis could still qualify
    r = screen(trial, B.replace(B.lupus_eligible(), "sle", refuted), complete=COMPLETE + ["conditions"])
    assert status(r, "inc-sle") == "fail"


def test_provisional_diagnosis_is_unknown_and_listed(trial):
    provisional = B.condition("sle", (B.SNOMED, "55464009"), verification="provisional")
    r = screen(trial, B.replace(B.lupus_eligible(), "sle", provisional))
    assert status(r, "inc-sle") == "unknown"
    assert "provisional diagnosis" in crit(r, "inc-sle").reason and "Condition/sle" in crit(r, "inc-sle").reason
    assert r.unmapped == []


def test_icd10_only_condition_matches_by_its_code(trial):
    icd = B.condition("sle", (B.ICD10CM, "M32.14", "Glomerular disease in systemic lupus erythematosus"))
    r = screen(trial, B.replace(B.lupus_eligible(), "sle", icd))
    assert status(r, "inc-sle") == "pass"


def test_preliminary_result_is_flagged_in_the_reason(trial):
    prelim = B.lab("upcr", (B.LOINC, "2890-5"), B.quantity(1.3, "mg/mg"), "2026-11-01", status="preliminary")
    r = screen(trial, B.replace(B.lupus_eligible(), "upcr", prelim))
    c = next(c for c in r.criteria if c.id == "inc-upcr")
    assert c.status.value == "pass" and "(preliminary)" in c.reason


def test_entered_in_error_result_is_not_used(trial):
    wrong = B.lab("upcr", (B.LOINC, "2890-5"), B.quantity(3, "mg/mg"), "2026-11-01", status="entered-in-error")
    r = screen(trial, B.replace(B.lupus_eligible(), "upcr", wrong))
    assert status(r, "inc-upcr") == "unknown" and "upcr" in r.missing
    assert [u.reason for u in r.unmapped] == ["status entered-in-error: not used"]


def test_pregnant_is_excluded(trial):
    preg = B.lab("preg", (B.LOINC, "82810-3", "Pregnancy status"),
                 {"valueCodeableConcept": B.cc((B.SNOMED, "77386006", "Pregnant"))}, "2026-11-10")
    r = screen(trial, B.replace(B.lupus_eligible(), "preg", preg))
    assert r.failed == ["exc-pregnancy"]


def test_cyclophosphamide_started_recently_by_ingredient_code(trial):
    recent = {"resourceType": "MedicationRequest", "id": "cyc", "status": "active", "intent": "order",
              "subject": B.PATIENT_REF, "medicationReference": {"reference": "Medication/cyc-inj"},
              "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-08-03"}}}}]}
    r = screen(trial, B.replace(B.lupus_eligible(), "cyc", recent))
    assert r.failed == ["exc-cyc"]
    c = next(c for c in r.criteria if c.id == "exc-cyc")
    assert "cyclophosphamide 500 MG Injection started 2026-08-03 [MedicationRequest/cyc]" in c.reason


def test_planned_plasmapheresis_from_a_procedure_in_preparation(trial):
    planned = {"resourceType": "Procedure", "id": "tpe", "status": "preparation", "subject": B.PATIENT_REF,
               "code": B.cc((B.SNOMED, "77723008", "Plasmapheresis"))}
    r = screen(trial, B.lupus_eligible() + [planned])
    assert r.failed == ["exc-plasmapheresis"]


def test_missing_resources_make_criteria_unknown(trial):
    keep = [r for r in B.lupus_eligible() if r.get("id") not in ("ana", "dsdna", "flu")]
    r = screen(trial, keep)
    assert r.verdict is screening.Verdict.UNDETERMINED
    assert r.unknown == ["inc-serology", "inc-flu"]


def test_checklist_for_another_trial_does_not_confirm(trial):
    other = {"resourceType": "QuestionnaireResponse", "id": "checklist", "status": "completed",
             "questionnaire": "Questionnaire/NCT01056471", "subject": B.PATIENT_REF, "authored": "2026-11-20",
             "item": [{"linkId": "inc-consent", "answer": [{"valueBoolean": True}]}]}
    r = screen(trial, B.replace(B.lupus_eligible(), "checklist", other))
    assert r.pending_confirmation == ["inc-consent"]


def test_a_new_upcr_loinc_code_is_one_line_in_the_rule_file():
    """Mapping keeps any LOINC code; only the rule file's codes list decides whether it counts."""
    upcr_24h = B.lab("upcr", (B.LOINC, "13801-3", "Protein/Creatinine [Mass Ratio] in 24 hour Urine"),
                     B.quantity(1.6, "mg/mg"), "2026-10-20")
    patient = bundle_to_patient(B.bundle(*B.replace(B.lupus_eligible(), "upcr", upcr_24h)))
    text = RULES.read_text(encoding="utf-8")
    before = screening.compile_text(text, "before.yaml")
    after = screening.compile_text(text.replace("codes: [loinc:2890-5]", "codes: [loinc:2890-5, loinc:13801-3]"),
                                   "after.yaml")
    assert status(screening.screen(patient, before, AS_OF, complete=COMPLETE), "inc-upcr") == "unknown"
    assert status(screening.screen(patient, after, AS_OF, complete=COMPLETE), "inc-upcr") == "pass"


# ------------------------------------------------------------------ Consent naming a trial

STUDY_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"


def _consent(status: str, nct: str) -> list[dict]:
    return [{"resourceType": "Consent", "id": "c", "status": status, "patient": B.PATIENT_REF,
             "dateTime": "2026-11-20",
             "scope": B.cc(("http://terminology.hl7.org/CodeSystem/consentscope", "research")),
             "category": [B.cc((B.LOINC, "59284-0", "Patient Consent"))],
             "extension": [{"url": STUDY_EXT, "valueReference": {"reference": "ResearchStudy/rs"}}]},
            {"resourceType": "ResearchStudy", "id": "rs", "status": "active",
             "identifier": [{"system": "https://clinicaltrials.gov", "value": nct}]}]


@pytest.fixture(scope="module")
def ms_trial():
    return screening.load_criteria(Path(__file__).resolve().parents[2] / "criteria" / "NCT01056471.yaml")


@pytest.mark.parametrize("status, nct, consent, refusal", [
    ("active", "NCT01056471", "pass", "pass"),      # given: inc-5 holds, exc-4 (refusal) does not
    ("rejected", "NCT01056471", "fail", "fail"),    # refused
    ("active", "NCT09999999", "unknown", "unknown"),  # another trial's consent answers neither
])
def test_a_research_consent_answers_the_consent_criteria_of_the_trial_it_names(ms_trial, status, nct, consent,
                                                                                 refusal):
    r = screening.screen(bundle_to_patient(B.bundle(B.patient(), *_consent(status, nct))), ms_trial, AS_OF)
    assert (crit(r, "inc-5").status.value, crit(r, "exc-4").status.value) == (consent, refusal)
    if consent != "unknown":
        assert "Consent/c" in crit(r, "inc-5").reason
