"""Name matching never guesses: phrases inside drug and diagnosis names match, but not inside
negated or other-person contexts, and yes/no facts match only whole names."""

from __future__ import annotations

import pytest
from engine_helpers import criterion, run

from screening.records import name_tokens


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
