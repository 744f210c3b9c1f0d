"""Classification and set membership: recognised as something else is 'no', unrecognised is 'maybe'."""

from __future__ import annotations

import pytest

from screening.model.patient import Condition, Immunization, Medication, Procedure
from screening.terms.vocabulary import MAYBE, NO, YES, Recognised, Unrecognised, terminology


@pytest.fixture(scope="module")
def T():
    return terminology()


@pytest.fixture(scope="module")
def immunosuppressants(T):
    return T.footprint(["rxnorm:68149", "atc:L04AA06", "rxnorm:1256", "atc:L04AX01", "rxnorm:42316"],
                       ["mycophenolate", "azathioprine", "tacrolimus"])


@pytest.mark.parametrize("name, verdict", [
    ("CellCept 1 g", YES), ("Imurel 50 mg", YES), ("Advagraf 3 mg", YES),
    ("Vitamin D3 1000 IU", NO), ("atorvastatin 40 mg", NO), ("Percocet", NO), ("Privigen 10%", NO),
    ("XYZ-123 50 mg", MAYBE), ("no azathioprine", NO), ("possible azathioprine intolerance", MAYBE),
])
def test_drug_membership(T, immunosuppressants, name, verdict):
    assert T.member("medications", Medication(name=name), immunosuppressants)[0] == verdict


def test_a_class_named_without_a_drug(T, immunosuppressants):
    statins = T.member("medications", Medication(name="statin therapy"), immunosuppressants)
    assert statins[0] == NO
    chemo = T.footprint([], [], classes=["chemotherapy"])
    assert T.member("medications", Medication(name="chemotherapy"), chemo)[0] == YES


def test_a_set_that_names_no_drug_of_the_vocabulary(T):
    # an investigational drug is no product the vocabulary knows: a known drug is something else, an
    # unknown one is a question (and `screening check` warns about such a set)
    study = T.footprint(["local:investigational-drug"], ["investigational drug", "study drug"])
    verdict, cls = T.member("medications", Medication(name="atorvastatin 40 mg"), study)
    assert verdict == NO and isinstance(cls, Recognised)
    assert T.member("medications", Medication(name="ABC-123 10 mg"), study)[0] == MAYBE


def test_exclude_removes_members(T):
    cyc = T.footprint(["rxnorm:3002"], ["cyclophosphamide"])
    rest = T.footprint([], [], classes=["immunosuppressant"], excluded=cyc)
    assert "cyclophosphamide" not in rest.drugs and "mycophenolate mofetil" in rest.drugs
    assert T.member("medications", Medication(name="Genoxal 1 g"), rest)[0] == NO


@pytest.mark.parametrize("record, verdict", [
    (Condition(code="icd10:I10", name="Essential hypertension"), NO),
    (Condition(code="snomed:59621000"), NO),
    (Condition(name="Type 2 diabetes mellitus"), NO),
    (Condition(code="icd10:Z85.3", name="Personal history of breast cancer"), NO),  # history is not active cancer
    (Condition(code="icd10who:C50.9"), YES),
    (Condition(code="icd10:C44.91", name="Basal cell carcinoma of skin"), NO),  # excluded
    (Condition(name="Glioblastoma"), MAYBE),
    (Condition(code="snomed:1234567"), MAYBE),
])
def test_condition_membership(T, record, verdict):
    nmsc = T.footprint(["icd10:C44*"], ["non-melanoma skin cancer"])
    malignancy = T.footprint(["icd10:C*", "snomed:363346000"], ["cancer"], excluded=nmsc)
    assert T.member("conditions", record, malignancy)[0] == verdict


def test_a_condition_set_without_icd10_codes(T):
    # placed by the condition vocabulary's entries ('MS relapse' lies under G35)
    relapse = T.footprint(["local:ms-relapse"], ["MS relapse"])
    assert T.member("conditions", Condition(code="icd10:I10"), relapse)[0] == NO
    assert T.member("conditions", Condition(code="icd10:G35.C"), relapse)[0] == NO  # secondary progressive MS
    assert T.member("conditions", Condition(code="icd10:G35"), relapse)[0] == MAYBE
    # a set the vocabularies cannot place at all: every record is a question
    odd = T.footprint(["local:x"], ["odd syndrome"])
    assert T.member("conditions", Condition(code="icd10:I10"), odd)[0] == MAYBE


def test_vaccines_by_cvx_and_name(T):
    flu = T.footprint(["cvx:88", "cvx:150"], ["influenza vaccine"])
    assert T.member("immunizations", Immunization(name="Fluad Tetra"), flu)[0] == YES
    assert T.member("immunizations", Immunization(code="cvx:208"), flu)[0] == NO
    assert T.member("immunizations", Immunization(name="Vacuna X"), flu)[0] == MAYBE


def test_procedures_by_entry_and_class(T):
    surgery = T.footprint(["snomed:387713003"], ["surgery"])
    assert T.member("procedures", Procedure(name="Appendectomy"), surgery)[0] == YES
    assert T.member("procedures", Procedure(code="snomed:399208008"), surgery)[0] == NO  # chest X-ray
    verdict, cls = T.member("procedures", Procedure(name="Procedure X"), surgery)
    assert verdict == MAYBE and isinstance(cls, Unrecognised)
    ecmo = T.footprint(["snomed:233573008"], ["ECMO"])
    assert T.member("procedures", Procedure(name="invasive mechanical ventilation"), ecmo)[0] == NO
    assert T.member("procedures", Procedure(name="Procedure X"), T.footprint(["local:x"], ["experimental procedure"]))[0] == MAYBE
