"""Information monotonicity, and records after the screening date being invisible."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from screening import Status, Verdict, screen

from property_helpers import AS_OF, assemble, full_profile, iso, trial

DECIDED = (Status.PASS, Status.FAIL)


@st.composite
def profile_and_subsets(draw):
    groups = draw(full_profile())
    names = sorted(groups)
    bigger = draw(st.sets(st.sampled_from(names)))
    smaller = draw(st.sets(st.sampled_from(sorted(bigger)))) if bigger else set()
    return groups, smaller, bigger


@settings(max_examples=150, deadline=None)
@given(profile_and_subsets())
def test_adding_missing_data_never_flips_a_decision(case):
    groups, smaller, bigger = case
    t = trial()
    less = screen(assemble(groups, smaller), t, as_of=AS_OF)
    more = screen(assemble(groups, bigger), t, as_of=AS_OF)
    for a, b in zip(less.criteria, more.criteria):
        assert a.id == b.id
        if a.status in DECIDED:
            assert b.status is a.status, (a.id, sorted(smaller), sorted(bigger), a.reason, b.reason)
    if less.verdict is not Verdict.UNDETERMINED:
        assert more.verdict is less.verdict


@settings(max_examples=100, deadline=None)
@given(full_profile(), st.integers(1, 3000))
def test_the_full_profile_decides_at_least_what_the_empty_one_does(groups, _):
    t = trial()
    empty = screen({"id": "prop"}, t, as_of=AS_OF)
    full = screen(assemble(groups, groups), t, as_of=AS_OF)
    assert len(full.unknown) <= len(empty.unknown)


@st.composite
def future_records(draw):
    """Records whose every date is after the screening date."""
    later = st.integers(1, 3650).map(lambda n: iso(AS_OF + timedelta(days=n)))
    out: dict = {
        "observations": [
            {"name": draw(st.sampled_from(["UPCR", "PaO2", "FiO2", "body weight", "haemoglobin", "ANA"])),
             "value": draw(st.floats(0.1, 500) | st.sampled_from(["1:1280", "1:40"])), "unit": draw(
                 st.sampled_from(["mg/mg", "kPa", "%", "kg", "g/dL", "mmHg"])), "date": draw(later)}
            for _ in range(draw(st.integers(0, 4)))],
        "medications": [{"name": "cyclophosphamide", "start": draw(later)} for _ in range(draw(st.integers(0, 2)))],
        "conditions": [{"name": "breast cancer", "onset": draw(later),
                        "status": draw(st.sampled_from(["active", "refuted"]))} for _ in range(draw(st.integers(0, 2)))],
        "procedures": [{"name": "kidney biopsy", "date": draw(later)} for _ in range(draw(st.integers(0, 1)))],
        "immunizations": [{"code": "cvx:141", "date": draw(later)} for _ in range(draw(st.integers(0, 1)))],
        "facts": [{"name": "pregnant", "value": draw(st.booleans()), "date": draw(later)}
                  for _ in range(draw(st.integers(0, 1)))],
    }
    return out


@settings(max_examples=100, deadline=None)
@given(full_profile(), st.data(), future_records())
def test_records_after_as_of_change_nothing(groups, data, future):
    t = trial()
    chosen = data.draw(st.sets(st.sampled_from(sorted(groups))))
    base = assemble(groups, chosen)
    extended = {k: (v + future.get(k, []) if isinstance(v, list) else v) for k, v in base.items()}
    for k, v in future.items():
        extended.setdefault(k, v)
    before = screen(base, t, as_of=AS_OF)
    after = screen(extended, t, as_of=AS_OF)
    for a, b in zip(before.criteria, after.criteria):
        if a.status in DECIDED:
            assert b.status is a.status
        assert (a.status, a.reason) == (b.status, b.reason)  # the future is not seen at all
    assert before.verdict is after.verdict
