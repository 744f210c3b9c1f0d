"""Name matching never guesses: phrases inside drug and diagnosis names match, but not inside
negated or other-person contexts, and yes/no facts match only whole names."""

from __future__ import annotations

import pytest
from engine_helpers import AS_OF, criterion, obs, run

from screening import Status
from screening.terms.names import name_tokens


def test_drug_name_matches_inside_a_product_string():
    trial = criterion("started_within(cyclophosphamide, 'P6M')", kind="exclusion")
    c, _ = run(trial, {"medications": [{"name": "Cyclophosphamide 500 mg IV", "start": "2026-10-01"}]})
    assert (c.status.value, c.met) == ("fail", True)
    assert "Cyclophosphamide 500 mg IV started 2026-10-01" in c.reason


@pytest.mark.parametrize("charted", [
    "Family history of cancer",
    "No known cancer",
    "Cancer ruled out",
    "Screening for cancer",
])
def test_negated_or_family_names_do_not_match_by_phrase(charted):
    trial = criterion("has_condition(malignancy)", kind="exclusion")
    c, _ = run(trial, {"conditions": [{"name": charted, "onset": "2020-01-01"}]}, complete=["conditions"])
    # The record is not taken as a malignancy: with conditions complete, nothing excludes.
    assert (c.status.value, c.met) == ("pass", False)
    assert "no record of malignancy" in c.reason


def test_guarded_name_still_matches_a_concept_name_equal_to_all_of_it():
    trial = criterion("has_condition(malignancy)", kind="exclusion")
    c, _ = run(trial, {"conditions": [{"name": "Cancer", "onset": "2020-01-01"}]})
    assert c.met is True


def test_fact_matches_only_a_whole_name():
    # A 'pregnancy planned' answer must never be read as 'pregnant'.
    trial = criterion("pregnant", kind="exclusion")
    facts = [{"name": "Pregnant: planned within next 12 months", "value": False, "date": "2026-11-20"},
             {"name": "pregnant test done", "value": True, "date": "2026-11-20"}]
    c, result = run(trial, {"facts": facts})
    assert c.status.value == "unknown"
    assert result.missing == ["pregnant"]
    c, _ = run(trial, {"facts": [{"name": "Pregnant", "value": False, "date": "2026-11-20"}]})
    assert (c.status.value, c.met) == ("pass", False)


def test_guard_words_are_whole_words():
    assert name_tokens("Non-Hodgkin lymphoma")[1] is False  # 'non-hodgkin' is one word, a malignancy
    assert name_tokens("Nothing to report")[1] is False
    assert name_tokens("Not pregnant")[1] is True
    assert name_tokens("Family history of malignant neoplasm")[1] is True


# ---- qualifiers that make a different quantity (observation names)

def test_ideal_body_weight_is_not_the_weight_for_bmi():
    import json
    from pathlib import Path

    from screening import load_criteria, screen

    root = Path(__file__).resolve().parents[3]
    trial = load_criteria(root / "criteria" / "NCT01056471.yaml")
    patient = json.loads((root / "examples" / "NCT01056471" / "eligible.json").read_text(encoding="utf-8"))
    patient["observations"] = [o for o in patient["observations"] if "weight" not in o.get("name", "")] + [
        {"name": "Body weight", "value": 150, "unit": "kg", "date": "2026-10-01", "source": "Observation/wt"},
        {"name": "Ideal body weight", "value": 62, "unit": "kg", "date": "2026-11-20", "source": "Observation/ibw"}]
    result = screen(patient, trial, as_of=AS_OF)
    exc = next(c for c in result.criteria if c.id == "exc-9")
    assert (exc.status.value, exc.met) == ("fail", True), exc.reason
    assert "BMI 49 kg/m^2" in exc.reason and "150 kg on 2026-10-01 [Observation/wt]" in exc.reason
    assert "Observation/ibw" not in exc.reason
    assert result.verdict.value == "ineligible"


@pytest.mark.parametrize("charted", ["Ideal body weight", "Predicted body weight", "Target body weight",
                                     "Goal body weight", "Dry body weight", "Body weight change",
                                     "Usual body weight"])
def test_other_weights_are_not_body_weight(charted):
    trial = criterion("weight > 100")
    c, result = run(trial, {"observations": [obs("Body weight", 120, "kg", "2026-10-01"),
                                             obs(charted, 60, "kg", "2026-11-20")]})
    assert c.status.value == "pass", c.reason
    assert "120 kg on 2026-10-01" in c.reason


def test_ana_pattern_is_not_an_ana_titer():
    trial = criterion("ana >= '1:80'")
    c, _ = run(trial, {"observations": [obs("ANA", "1:160", day="2026-06-01"),
                                        obs("ANA pattern", "homogeneous", day="2026-06-01")]})
    assert c.status.value == "pass", c.reason
    c, _ = run(trial, {"observations": [obs("ANA pattern: homogeneous", "positive", day="2026-06-01")]})
    assert c.status.value == "unknown" and c.reason == "no ANA on record"


def test_qualifiers_guard_observation_names_only():
    # 'target' is an ordinary word in a diagnosis ('hypertension with target organ damage')
    assert name_tokens("Hypertension with target organ damage")[1] is False
    assert name_tokens("Target INR", observation=True)[1] is True
    # eGFR is the GFR laboratories report: 'estimated' is not a qualifier
    assert name_tokens("Estimated GFR (CKD-EPI)", observation=True)[1] is False


# ---- hyphenated negations

@pytest.mark.parametrize("charted", ["Non-invasive mechanical ventilation", "Non invasive mechanical ventilation",
                                     "non-invasive ventilation (BiPAP)"])
def test_non_invasive_ventilation_is_guarded_in_both_spellings(charted):
    toks, guarded = name_tokens(charted)
    assert guarded is True and toks[:2] == ("non", "invasive")


def test_non_invasive_is_not_invasive_mechanical_ventilation():
    import json
    from pathlib import Path

    from screening import load_criteria, screen

    root = Path(__file__).resolve().parents[3]
    trial = load_criteria(root / "criteria" / "NCT04348461.yaml")
    patient = json.loads((root / "examples" / "NCT04348461" / "eligible.json").read_text(encoding="utf-8"))
    patient["procedures"] = [p for p in patient["procedures"] if "ventilation" not in (p.get("name") or "")
                             and p.get("code") != "snomed:1258985005"]
    for charted in ("Non-invasive invasive mechanical ventilation", "Non invasive invasive mechanical ventilation"):
        # (a contrived name: the phrase 'invasive mechanical ventilation' sits inside it after the negation)
        p = dict(patient, procedures=patient["procedures"] + [
            {"name": charted, "date": "2026-11-22", "status": "in-progress"}])
        c = next(c for c in screen(p, trial, as_of=AS_OF).criteria if c.id == "inc-4a")
        assert c.status.value == "fail", (charted, c.reason)


@pytest.mark.parametrize("charted", ["Non-Hodgkin lymphoma", "Non Hodgkin lymphoma", "Non-Hodgkin's lymphoma",
                                     "Non-small-cell lung cancer", "Non small cell lung cancer",
                                     "Non-melanoma skin cancer", "Non-muscle-invasive bladder cancer"])
def test_non_in_a_disease_name_is_not_a_negation(charted):
    assert name_tokens(charted)[1] is False
    trial = criterion("has_condition(malignancy)", kind="exclusion")
    c, _ = run(trial, {"conditions": [{"name": charted.replace("lymphoma", "cancer"), "onset": "2020-01-01"}]},
               complete=["conditions"])
    assert c.met is True, c.reason


def test_other_hyphenated_words_stay_whole():
    assert name_tokens("Anti-dsDNA antibodies")[0] == ("anti-dsdna", "antibodies")
    assert name_tokens("Pre-diabetes")[0] == ("pre-diabetes",)


def test_a_record_found_by_a_phrase_in_a_longer_name_is_named_in_the_reason():
    trial = criterion("weight >= 50")
    c, _ = run(trial, {"observations": [obs("Body weight, standing", 80, "kg")]})
    assert (c.status, c.reason) == (Status.PASS, "body weight (Body weight, standing) 80 kg on 2026-11-01 >= 50 kg")
    c, _ = run(trial, {"observations": [obs("Body Weight", 176.4, "lb")]})  # a name the item lists: label only
    assert c.reason == "body weight 176.4 lb (80 kg) on 2026-11-01 >= 50 kg"
