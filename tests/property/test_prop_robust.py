"""Any schema-valid profile screens without raising, and the verdict agrees with the criteria."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import Patient, Status, Verdict, screen

from property_helpers import AS_OF, EXTREME_DATE, NEAR_DATE, UNITS, VALUES, any_profile, assemble, full_profile, trial

ROBUST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_consistent(r) -> None:
    statuses = [c.status for c in r.criteria]
    assert r.failed == [c.id for c in r.criteria if c.status is Status.FAIL]
    assert r.unknown == [c.id for c in r.criteria if c.status is Status.UNKNOWN]
    if Status.FAIL in statuses:
        assert r.verdict is Verdict.INELIGIBLE and r.summary.startswith("ineligible: ")
    elif Status.UNKNOWN in statuses:
        assert r.verdict is Verdict.UNDETERMINED
    else:
        assert r.verdict is Verdict.ELIGIBLE and r.summary.startswith("eligible: ")
    assert r.pending_confirmation == [c.id for c in r.criteria
                                      if c.status is Status.UNKNOWN and c.needs_confirmation and not c.missing]
    if not r.unknown:
        assert r.missing == []
    for c in r.criteria:
        assert c.reason  # every result explains itself
        for e in c.evidence:  # a converted value is a real number (no NaN or infinity decides anything)
            assert e.converted is None or math.isfinite(e.converted), (c.id, e)
        if c.status is not Status.UNKNOWN:
            assert c.missing == []
        if c.kind.value == "exclusion" and c.met is not None:
            assert c.status is (Status.FAIL if c.met else Status.PASS)
        if c.applicable is False:
            assert c.status is Status.PASS and c.reason.startswith("not applicable: ")


@ROBUST
@given(any_profile, st.one_of(st.just(AS_OF), EXTREME_DATE))
def test_any_valid_profile_screens_without_raising(data, as_of):
    patient = Patient.model_validate(data)
    r = screen(patient, trial(), as_of=as_of)
    assert len(r.criteria) == len(trial().criteria)
    check_consistent(r)
    assert r.model_dump(mode="json")  # serialisable


@settings(max_examples=100, deadline=None)
@given(full_profile(), st.data())
def test_verdict_is_consistent_with_criteria(groups, data):
    chosen = data.draw(st.sets(st.sampled_from(sorted(groups))))
    complete = data.draw(st.lists(st.sampled_from(["conditions", "medications", "procedures", "facts"]), unique=True))
    check_consistent(screen(assemble(groups, chosen), trial(), as_of=AS_OF, complete=complete))


QUANTITY_NAMES = ["UPCR", "PaO2", "FiO2", "body weight", "haemoglobin", "EDSS", "urine RBC", "platelets"]


@ROBUST
@given(st.lists(st.tuples(st.sampled_from(QUANTITY_NAMES + ["ANA", "anti-dsDNA"]), VALUES, UNITS, NEAR_DATE),
                min_size=1, max_size=6))
def test_any_value_in_any_unit_gives_a_status_not_an_exception(rows):
    observations = [{"name": n, "value": v, "date": d.isoformat(), **({} if u is None else {"unit": u})}
                    for n, v, u, d in rows]
    r = screen({"id": "q", "birth_date": "1980-01-01", "observations": observations}, trial(), as_of=AS_OF)
    check_consistent(r)
