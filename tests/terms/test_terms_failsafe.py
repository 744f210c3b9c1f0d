"""Fail-safe completeness and the concept-set features, through the engine: real rule files, real screens."""

from __future__ import annotations

import json
import textwrap
from datetime import date

import pytest

from screening import compile_text, screen
from screening.model.patient import Patient

AS_OF = date(2026, 11, 23)

RULES = textwrap.dedent("""
    format: 1
    trial: {id: TERMS-TEST, title: Terminology test trial}
    concepts:
      immunosuppressants:
        label: immunosuppressive drugs
        codes: [rxnorm:68149, atc:L04AA06, rxnorm:1256]
        names: [mycophenolate, azathioprine]
      other_immunosuppressants:
        label: immunosuppressive drugs other than cyclophosphamide and anti-B-cell biologics
        classes: [immunosuppressant]
        exclude: [cyclophosphamide, anti_b_cell]
      cyclophosphamide:
        codes: [rxnorm:3002]
        names: [cyclophosphamide]
      anti_b_cell:
        classes: [anti_b_cell]
      systemic_steroids:
        label: systemic corticosteroids
        classes: [corticosteroid]
        route: systemic
      iv_methylprednisolone:
        label: intravenous methylprednisolone
        names: [methylprednisolone]
        route: intravenous
      malignancy:
        label: malignancy
        codes: [icd10:C*]
        names: [cancer, carcinoma]
        exclude: [non_melanoma_skin_cancer]
      non_melanoma_skin_cancer:
        codes: [icd10:C44*]
        names: [basal cell carcinoma, squamous cell carcinoma of skin]
      multiple_sclerosis:
        label: multiple sclerosis
        codes: [icd10:G35]
      surgery:
        label: surgery
        names: [surgery]
    criteria:
      - {id: exc-is, kind: exclusion, text: "Immunosuppressants within 6 months", rule: "started_within(immunosuppressants, 'P6M')"}
      - {id: exc-other, kind: exclusion, text: "Other immunosuppressants within 6 months", rule: "started_within(other_immunosuppressants, 'P6M')"}
      - {id: exc-ster, kind: exclusion, text: "Systemic steroids within 1 month", rule: "started_within(systemic_steroids, 'P1M')"}
      - {id: exc-ivmp, kind: exclusion, text: "IV methylprednisolone within 1 month", rule: "started_within(iv_methylprednisolone, 'P1M')"}
      - {id: exc-mal, kind: exclusion, text: "Active malignancy", rule: "has_condition(malignancy)"}
      - {id: inc-ms, kind: inclusion, text: "Multiple sclerosis", rule: "has_condition(multiple_sclerosis)"}
      - {id: exc-surg, kind: exclusion, text: "Surgery within 3 months", rule: "had_procedure(surgery, 'P3M')"}
""")


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "terms-test.yaml")


def run(trial, complete=("medications", "conditions", "procedures"), **records):
    patient = Patient.model_validate({"id": "p", "complete": list(complete), **records})
    return {c.id: c for c in screen(patient, trial, AS_OF).criteria}


def med(name=None, start="2026-10-05", **extra):
    return {"name": name, "start": start, **extra} if name else {"start": start, **extra}


def test_a_brand_is_found_where_the_old_set_saw_no_record(trial):
    # before: 'CellCept 1 g' matched nothing, and with medications complete the exclusion passed
    c = run(trial, medications=[med("CellCept 1 g")])["exc-is"]
    assert c.status.value == "fail" and "CellCept 1 g started 2026-10-05" in c.reason


@pytest.mark.parametrize("name", ["Myfortic 360 mg", "mycophenolate mofetil 500 MG Oral Tablet [CellCept]",
                                  "Imurel 50 mg", "micofenolato de mofetilo 1 g"])
def test_product_names_and_other_markets(trial, name):
    assert run(trial, medications=[med(name)])["exc-is"].status.value == "fail"


def test_an_unrecognised_record_of_a_complete_part_makes_no_record_unknown_and_asks(trial):
    c = run(trial, medications=[med("XYZ-123 50 mg", source="MedicationRequest/m7")])["exc-is"]
    assert c.status.value == "unknown"
    (u,) = c.unrecognised
    assert u.record == "XYZ-123 50 mg started 2026-10-05 [MedicationRequest/m7]"
    assert u.question == "XYZ-123 50 mg started 2026-10-05 [MedicationRequest/m7]: does it count as immunosuppressive drugs?"
    assert u.category == "medications" and u.source == "MedicationRequest/m7" and u.date == date(2026, 10, 5)
    assert "not recognised" in c.reason and "medications declared complete" in c.reason


def test_records_recognised_as_something_else_do_not_block(trial):
    c = run(trial, medications=[med("Vitamin D3 1000 IU"), med("atorvastatin 40 mg"), med("Percocet 5/325")])["exc-is"]
    assert c.status.value == "pass" and c.unrecognised == []
    assert "medications declared complete" in c.reason


def test_an_unrecognised_record_outside_the_window_does_not_block(trial):
    c = run(trial, medications=[med("XYZ-123 50 mg", start="2025-01-01", stop="2025-02-01", status="completed")])
    assert c["exc-is"].status.value == "pass"


def test_without_completeness_nothing_changes(trial):
    c = run(trial, complete=(), medications=[med("XYZ-123 50 mg")])["exc-is"]
    assert c.status.value == "unknown" and c.unrecognised == [] and "not declared complete" in c.reason


def test_unmapped_source_records_of_a_complete_part_block(trial):
    c = run(trial, unmapped=[{"resource": "MedicationRequest/x1", "reason": "no usable date"}])["exc-is"]
    assert c.status.value == "unknown" and c.unrecognised[0].why == "not mapped: no usable date"
    ok = run(trial, unmapped=[{"resource": "MedicationRequest/x1", "reason": "status entered-in-error"},
                              {"resource": "Observation/o1", "reason": "unit unknown"}])["exc-is"]
    assert ok.status.value == "pass"


def test_classes_and_exclude(trial):
    c = run(trial, medications=[med("Genoxal 1 g")])
    assert c["exc-other"].status.value == "pass"  # cyclophosphamide is excluded from 'other'
    assert "excluded" in c["exc-other"].reason or "declared complete" in c["exc-other"].reason
    assert run(trial, medications=[med("Benlysta 10 mg/kg")])["exc-other"].status.value == "pass"
    assert run(trial, medications=[med("Prograf 2 mg")])["exc-other"].status.value == "fail"
    both = run(trial, medications=[med("rituximab + methotrexate")])["exc-other"]
    assert both.status.value == "fail"  # another of its ingredients is in the set


def test_route_systemic_leaves_out_creams_and_inhalers(trial):
    cream = run(trial, medications=[med("Hydrocortisone 1% cream", start="2026-11-10")])["exc-ster"]
    assert cream.status.value == "pass" and "topical" in cream.reason
    assert run(trial, medications=[med("Budesonide 0.5 MG/ML Inhalation Suspension", start="2026-11-10")]
               )["exc-ster"].status.value == "pass"
    assert run(trial, medications=[med("prednisone 20 mg", start="2026-11-10")])["exc-ster"].status.value == "fail"


def test_route_intravenous_asks_when_the_name_says_no_route(trial):
    assert run(trial, medications=[med("SoluMedrol 1 g IV", start="2026-11-10")])["exc-ivmp"].status.value == "fail"
    c = run(trial, medications=[med("methylprednisolone 1 g", start="2026-11-10")])["exc-ivmp"]
    assert c.status.value == "unknown" and "cannot tell whether it was intravenous" in c.reason
    assert run(trial, medications=[med("Medrol 4 mg oral tablet", start="2026-11-10")])["exc-ivmp"].status.value == "pass"


@pytest.mark.parametrize("record, status", [
    ({"code": "icd10:C50.911", "name": "Malignant neoplasm of right breast"}, "fail"),
    ({"code": "icd10who:C50.9"}, "fail"),
    ({"code": "icd10:C44.91", "name": "Basal cell carcinoma of skin"}, "pass"),  # excluded
    ({"code": "icd10:Z85.3", "name": "Personal history of malignant neoplasm of breast"}, "pass"),
    ({"name": "Glioblastoma"}, "unknown"),
])
def test_malignancy_except_non_melanoma_skin_cancer(trial, record, status):
    c = run(trial, conditions=[{**record, "onset": "2025-01-01"}])["exc-mal"]
    assert c.status.value == status, c.reason


def test_icd10_codes_include_their_descendants(trial):
    # ICD-10-CM FY2026 split G35 into G35.A-G35.D
    assert run(trial, conditions=[{"code": "icd10:G35.A", "onset": "2020-01-01"}])["inc-ms"].status.value == "pass"
    assert run(trial, conditions=[{"code": "icd10cm:G35.B0", "onset": "2020-01-01"}])["inc-ms"].status.value == "pass"


def test_procedures_recognised_as_something_else(trial):
    c = run(trial, procedures=[{"name": "Plain chest X-ray", "date": "2026-11-01"}])["exc-surg"]
    assert c.status.value == "pass"
    found = run(trial, procedures=[{"code": "snomed:80146002", "name": "Appendectomy", "date": "2026-11-01"}])
    assert found["exc-surg"].status.value == "fail"  # an appendectomy is a surgery by its class
    odd = run(trial, procedures=[{"name": "Procedure X", "date": "2026-11-01"}])["exc-surg"]
    assert odd.status.value == "unknown" and odd.unrecognised


def test_the_result_json_carries_the_records(trial):
    patient = Patient.model_validate({"id": "p", "complete": ["medications"], "medications": [med("XYZ-123")]})
    data = json.loads(screen(patient, trial, AS_OF).model_dump_json())
    (c,) = [c for c in data["criteria"] if c["id"] == "exc-is"]
    assert c["unrecognised"][0]["record"] == "XYZ-123 started 2026-10-05"
    assert c["unrecognised"][0]["concept"] == "immunosuppressants"


EXACT_RULES = textwrap.dedent("""
    format: 1
    trial: {id: EXACT-TEST, title: Exact ICD-10 codes}
    concepts:
      skin_cancer_by_site:
        label: a skin cancer coded by site only
        codes: [icd10:C44.3]
        include_descendants: false
    criteria:
      - {id: exc-site, kind: exclusion, text: "Skin cancer of the face coded by site", rule: "has_condition(skin_cancer_by_site)"}
""")


@pytest.mark.parametrize("code, status", [
    ("icd10:C44.3", "fail"),      # the exact code
    ("icd10cm:C44.311", "pass"),  # a more specific code: recognised, and the set leaves it out
    ("icd10:C44", "unknown"),     # an ancestor: it may or may not be C44.3
])
def test_an_exact_code_set_does_not_hold_the_codes_under_it(code, status):
    trial = compile_text(EXACT_RULES, "exact.yaml")
    c = run(trial, conditions=[{"code": code, "onset": "2025-01-01"}])["exc-site"]
    assert c.status.value == status, c.reason


EXCLUDED_BY_CODE = textwrap.dedent("""
    format: 1
    trial: {id: EXCLUDE-TEST, title: Exclusion by a narrower set}
    concepts:
      immunosuppressants:
        label: immunosuppressive drugs
        codes: [atc:L04A*, rxnorm:1256]
        classes: [immunosuppressant]
        exclude: [antifibrotics]
      class_only:
        label: immunosuppressants by class
        classes: [immunosuppressant]
        exclude: [antifibrotics]
      antifibrotics:
        label: antifibrotic drugs
        codes: [atc:L04AX05]
        names: [pirfenidone]
    criteria:
      - {id: exc-is, kind: exclusion, text: "Immunosuppressants within 6 months", rule: "started_within(immunosuppressants, 'P6M')"}
      - {id: exc-cls, kind: exclusion, text: "Immunosuppressants within 6 months", rule: "started_within(class_only, 'P6M')"}
""")


@pytest.mark.parametrize("record", [
    {"name": "pirfenidone 267 mg", "code": "atc:L04AX05"},
    {"name": "Esbriet 267 mg", "code": "atc:L04AX05"},
    {"code": "atc:L04AX05"},
])
@pytest.mark.parametrize("criterion", ["exc-is", "exc-cls"])
def test_an_excluded_set_takes_out_a_record_the_including_set_holds_only_by_class(record, criterion):
    # atc:L04AX05 (pirfenidone) lies under L04A, but the set excludes it by that very code:
    # a class pattern of the including set does not outrank the narrower exclusion
    trial = compile_text(EXCLUDED_BY_CODE, "exclude-test.yaml")
    c = run(trial, complete=("medications",), medications=[med(**record)])[criterion]
    assert c.status.value == "pass", c.reason
    assert c.unrecognised == []


def test_a_record_with_another_ingredient_of_the_set_stays_despite_the_exclusion():
    trial = compile_text(EXCLUDED_BY_CODE, "exclude-test.yaml")
    c = run(trial, complete=("medications",), medications=[med("pirfenidone + azathioprine", code="atc:L04AX05")])
    assert c["exc-is"].status.value == "fail" and "pirfenidone + azathioprine" in c["exc-is"].reason
