"""Allergies and family history: allergic_to() and family_history_of() on native records."""

from __future__ import annotations

import pytest

from screening import screen
from screening.rules.compiler import compile_text

RULES = """
format: 1
trial: {id: ALG, title: allergies}
concepts:
  penicillins: {label: penicillins, codes: ['atc:J01C*'], names: [penicillin, amoxicillin]}
  breast_ovarian_cancer: {label: breast or ovarian cancer, codes: ['icd10:C50', 'icd10:C56']}
criteria:
  - {id: allergy, kind: exclusion, text: "Allergy to penicillin", rule: allergic_to(penicillins)}
  - {id: family, kind: exclusion, text: "Family history of breast or ovarian cancer",
     rule: family_history_of(breast_ovarian_cancer)}
"""


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "alg.yaml")


def run(trial, complete=None, **parts):
    return {c.id: c for c in screen({"id": "p", **parts}, trial, as_of="2026-11-23", complete=complete).criteria}


def test_allergy_by_brand_and_code(trial):
    r = run(trial, allergies=[{"name": "Augmentin", "reactions": ["rash"]}])  # amoxicillin + clavulanate
    assert r["allergy"].status.value == "fail" and "Augmentin" in r["allergy"].reason
    r = run(trial, allergies=[{"code": "rxnorm:7980", "name": "Penicillin G"}])
    assert r["allergy"].status.value == "fail"


def test_refuted_unconfirmed_and_absent(trial):
    assert run(trial, allergies=[{"name": "penicillin", "status": "refuted"}])["allergy"].status.value == "pass"
    r = run(trial, allergies=[{"name": "penicillin", "verification": "unconfirmed"}])
    assert r["allergy"].status.value == "unknown"
    assert run(trial)["allergy"].status.value == "unknown"  # allergies not declared complete
    assert run(trial, complete=["allergies"])["allergy"].status.value == "pass"
    # a statin allergy is recognised as another drug: no question about it
    assert run(trial, complete=["allergies"], allergies=[{"name": "atorvastatin"}])["allergy"].status.value == "pass"


def test_family_history(trial):
    r = run(trial, family_history=[{"code": "icd10:C50.9", "name": "Breast cancer", "relationship": "mother",
                                    "onset_age": 52}])
    assert r["family"].status.value == "fail" and "Breast cancer in mother, onset at 52" in r["family"].reason
    assert run(trial, complete=["family_history"])["family"].status.value == "pass"
    r = run(trial, complete=["family_history"], family_history=[{"name": "Breast cancer", "status": "health-unknown"}])
    assert r["family"].status.value == "unknown"


@pytest.mark.parametrize("category, status", [
    (["food"], "pass"), (["environment"], "pass"), (["food", "environment"], "pass"),
    (["medication"], "unknown"), ([], "unknown"), (["food", "medication"], "unknown"),
])
def test_an_unrecognised_allergy_blocks_a_drug_allergy_only_when_it_may_be_one(trial, category, status):
    # a peanut allergy the drug vocabulary cannot place is not a drug allergy when its FHIR category says
    # food or environment: with allergies complete it is no evidence either way about penicillin
    r = run(trial, complete=["allergies"], allergies=[{"name": "Peanut", "category": category, "reactions": ["hives"]}])
    assert r["allergy"].status.value == status, r["allergy"].reason


def test_a_food_allergy_still_blocks_a_set_that_is_not_about_drugs():
    rules = RULES.replace("criteria:", "  eggs: {label: egg allergy, names: [egg]}\ncriteria:") + \
        '  - {id: egg, kind: exclusion, text: "Allergy to eggs", rule: allergic_to(eggs)}\n'
    t = compile_text(rules, "alg-egg.yaml")
    r = run(t, complete=["allergies"], allergies=[{"name": "Ovalbumin", "category": ["food"]}])
    assert r["egg"].status.value == "unknown", r["egg"].reason
