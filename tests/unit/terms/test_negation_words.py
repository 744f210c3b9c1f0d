"""Words beside a drug or procedure name that say it was not given ("declined", "refused",
"cancelled", "contraindicated", "allergy to"): such a record is not exposure."""

from __future__ import annotations

import pytest
from engine_helpers import criterion, run

NOT_GIVEN = [
    "Cyclophosphamide declined",
    "Patient declined cyclophosphamide",
    "Refused cyclophosphamide",
    "cyclophosphamide refused by patient",
    "Cyclophosphamide cancelled",
    "Cyclophosphamide canceled",
    "Cyclophosphamide contraindicated",
    "Contraindication to cyclophosphamide",
    "Allergy to cyclophosphamide",
    "Allergic to cyclophosphamide",
    "Cyclophosphamide not given",
    "Cyclophosphamide withheld",
    "Cyclophosphamide deferred",
    "Cyclophosphamide infusion cancelled by oncology",
]


@pytest.mark.parametrize("charted", [c for c in NOT_GIVEN if c != "Cyclophosphamide not given"])
def test_a_drug_not_given_is_not_exposure(charted):
    trial = criterion("started_within(cyclophosphamide, 'P6M')", kind="exclusion")
    c, _ = run(trial, {"medications": [{"name": charted, "start": "2026-10-01"}]}, complete=["medications"])
    assert (c.status.value, c.met) == ("pass", False), c.reason


def test_not_given_was_already_guarded():
    trial = criterion("started_within(cyclophosphamide, 'P6M')", kind="exclusion")
    c, _ = run(trial, {"medications": [{"name": "Cyclophosphamide not given", "start": "2026-10-01"}]},
               complete=["medications"])
    assert (c.status.value, c.met) == ("pass", False), c.reason


@pytest.mark.parametrize("charted", ["Kidney biopsy declined", "Kidney biopsy cancelled", "Refused kidney biopsy",
                                     "Kidney biopsy contraindicated"])
def test_a_procedure_not_done_is_not_the_procedure(charted):
    trial = criterion("had_procedure(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": charted, "date": "2026-10-01"}]}, complete=["procedures"])
    assert (c.status.value, c.met) == ("fail", False), c.reason


@pytest.mark.parametrize("charted", ["Cyclophosphamide 500 mg IV", "Cyclophosphamide (Cytoxan) infusion",
                                     "Cyclophosphamide discontinued"])
def test_plain_drug_names_still_count(charted):
    trial = criterion("started_within(cyclophosphamide, 'P6M')", kind="exclusion")
    c, _ = run(trial, {"medications": [{"name": charted, "start": "2026-10-01"}]}, complete=["medications"])
    assert (c.status.value, c.met) == ("fail", True), c.reason


@pytest.mark.parametrize("charted", ["Peanut allergy", "Allergic asthma"])
def test_allergies_themselves_are_still_conditions(charted):
    from screening.terms.names import name_tokens

    assert name_tokens(charted)[1] is False  # not guarded: an allergy is a condition in its own right
