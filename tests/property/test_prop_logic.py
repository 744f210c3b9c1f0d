"""Kleene laws hold for the logic module (and excluded middle does not: that is what unknown means)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from screening.values.logic import UNKNOWN, Status, and_, not_, or_

s = st.sampled_from(list(Status))
SETTINGS = settings(max_examples=100, deadline=None)


@SETTINGS
@given(s, s)
def test_de_morgan(a, b):
    assert not_(and_([a, b])) is or_([not_(a), not_(b)])
    assert not_(or_([a, b])) is and_([not_(a), not_(b)])


@SETTINGS
@given(s, s)
def test_commutativity(a, b):
    assert and_([a, b]) is and_([b, a])
    assert or_([a, b]) is or_([b, a])


@SETTINGS
@given(s, s, s)
def test_associativity_and_distributivity(a, b, c):
    assert and_([and_([a, b]), c]) is and_([a, and_([b, c])]) is and_([a, b, c])
    assert or_([or_([a, b]), c]) is or_([a, or_([b, c])]) is or_([a, b, c])
    assert and_([a, or_([b, c])]) is or_([and_([a, b]), and_([a, c])])
    assert or_([a, and_([b, c])]) is and_([or_([a, b]), or_([a, c])])


@SETTINGS
@given(s, s)
def test_absorption(a, b):
    assert and_([a, or_([a, b])]) is a
    assert or_([a, and_([a, b])]) is a


@SETTINGS
@given(s)
def test_double_negation_and_idempotence(a):
    assert not_(not_(a)) is a
    assert and_([a, a]) is a and or_([a, a]) is a


@SETTINGS
@given(st.lists(s, max_size=6))
def test_n_ary_forms_agree_with_folding(values):
    folded_and, folded_or = Status.PASS, Status.FAIL
    for v in values:
        folded_and, folded_or = and_([folded_and, v]), or_([folded_or, v])
    assert and_(values) is folded_and and or_(values) is folded_or


def test_excluded_middle_fails_only_for_unknown():
    for a in Status:
        expected = UNKNOWN if a is UNKNOWN else Status.PASS
        assert or_([a, not_(a)]) is expected
