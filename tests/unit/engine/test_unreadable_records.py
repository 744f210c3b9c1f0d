"""A source record that could not be read (an invalid FHIR Observation, listed in ``unmapped``) and that could be
what an item reads is named in the criterion's reason, and keeps the value unknown when it could be the one
the item's pick rule chooses: never a decision on the older value while a newer one could not be read."""

from __future__ import annotations

from screening import Status

from engine_helpers import criterion, obs, run

P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN


def unreadable(day: str | None, name: str = "UPCR", code: str | None = "loinc:2890-5") -> dict:
    u = {"resource": "Observation/bad-1", "reason": "not a valid FHIR R4 Observation: valueQuantity.value: "
         "Input should be a valid decimal: not used (screened without it; --strict refuses the bundle)",
         "category": "observations", "name": name}
    if code:
        u["code"] = code
    if day:
        u["date"] = day
    return u


def test_with_no_other_value_the_unreadable_record_is_named():
    c, _ = run(criterion("upcr >= 1"), {"unmapped": [unreadable("2026-11-10")]})
    assert c.status is U and c.missing == ["upcr"]
    assert c.reason == ("no UPCR on record; Observation/bad-1 (UPCR) could not be read: not a valid FHIR R4 "
                        "Observation: valueQuantity.value: Input should be a valid decimal")


def test_an_unreadable_record_newer_than_the_latest_value_keeps_it_unknown():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 1.5, "mg/mg", "2026-11-01")],
                                        "unmapped": [unreadable("2026-11-10")]})
    assert c.status is U
    assert c.reason.startswith("UPCR 1.5 mg/mg on 2026-11-01 (within 3 months); but Observation/bad-1 (UPCR) "
                               "could not be read")
    assert c.reason.endswith("and could be a newer UPCR")


def test_an_undated_unreadable_record_could_be_the_newest():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 1.5, "mg/mg", "2026-11-01")],
                                        "unmapped": [unreadable(None, code=None)]})  # found by its name
    assert c.status is U


def test_an_unreadable_record_older_than_the_latest_value_or_outside_the_window_is_no_obstacle():
    for day in ("2026-10-01", "2026-05-01"):
        c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 1.5, "mg/mg", "2026-11-01")],
                                            "unmapped": [unreadable(day)]})
        assert c.status is P and "bad-1" not in c.reason, day


def test_an_unreadable_record_of_another_test_is_no_obstacle():
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 1.5, "mg/mg", "2026-11-01")],
                                        "unmapped": [unreadable("2026-11-10", "haemoglobin", "loinc:718-7")]})
    assert c.status is P


# A record of a declared-complete part that could not be read, listed with its part (an OMOP row whose concept is
# 0 or not in the concept table: no resource type says its part, the record says it): never evidence of absence.

def _row(resource: str, category: str | None) -> dict:
    u = {"resource": resource, "reason": "no standard concept (concept_id 0)"}
    return {**u, "category": category} if category else u


def test_an_unmapped_record_of_a_complete_part_keeps_no_record_unknown():
    c, _ = run(criterion("not taking(cyclophosphamide)"),
               {"unmapped": [_row("drug_exposure/7", "medications")]}, complete=["medications"])
    assert c.status is U
    assert "drug_exposure/7: not mapped: no standard concept (concept_id 0)" in c.reason


def test_an_unmapped_record_of_another_part_or_without_its_part_is_no_obstacle():
    for u in (_row("drug_exposure/7", "procedures"), _row("drug_exposure/7", None)):
        c, _ = run(criterion("not taking(cyclophosphamide)"), {"unmapped": [u]},
                   complete=["medications"])
        assert c.status is P, u


def test_an_unmapped_record_blocks_whatever_its_date():
    u = {**_row("condition_occurrence/3", "conditions"), "date": "2030-01-01"}  # after the screening date
    c, _ = run(criterion("not has_condition(malignancy)"), {"unmapped": [u]}, complete=["conditions"])
    assert c.status is U
