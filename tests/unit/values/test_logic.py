"""Kleene three-valued logic: the truth tables, written out as data."""

from __future__ import annotations

import pytest

from screening.values.logic import FAIL, PASS, UNKNOWN, Status, and_, not_, or_

P, F, U = PASS, FAIL, UNKNOWN

AND_TABLE = [
    (P, P, P), (P, F, F), (P, U, U),
    (F, P, F), (F, F, F), (F, U, F),
    (U, P, U), (U, F, F), (U, U, U),
]
OR_TABLE = [
    (P, P, P), (P, F, P), (P, U, P),
    (F, P, P), (F, F, F), (F, U, U),
    (U, P, P), (U, F, U), (U, U, U),
]
NOT_TABLE = [(P, F), (F, P), (U, U)]


@pytest.mark.parametrize("a, b, expected", AND_TABLE)
def test_and_truth_table(a, b, expected):
    assert and_([a, b]) is expected


@pytest.mark.parametrize("a, b, expected", OR_TABLE)
def test_or_truth_table(a, b, expected):
    assert or_([a, b]) is expected


@pytest.mark.parametrize("a, expected", NOT_TABLE)
def test_not_truth_table(a, expected):
    assert not_(a) is expected


def test_tables_cover_every_pair():
    pairs = {(a, b) for a in Status for b in Status}
    assert {(a, b) for a, b, _ in AND_TABLE} == pairs
    assert {(a, b) for a, b, _ in OR_TABLE} == pairs
    assert {a for a, _ in NOT_TABLE} == set(Status)


def test_empty_conjunction_is_pass_and_empty_disjunction_is_fail():
    assert and_([]) is PASS
    assert or_([]) is FAIL


@pytest.mark.parametrize("values, expected", [
    ([P, P, U, P], U), ([P, U, F, U], F), ([U, U, U], U), ([P] * 5, P),
])
def test_and_over_many(values, expected):
    assert and_(values) is expected


@pytest.mark.parametrize("values, expected", [
    ([F, F, U, F], U), ([F, U, P, U], P), ([U, U, U], U), ([F] * 5, F),
])
def test_or_over_many(values, expected):
    assert or_(values) is expected


def test_and_or_accept_generators():
    assert and_(s for s in [P, U]) is U
    assert or_(s for s in [F, U]) is U


@pytest.mark.parametrize("value, status", [(True, P), (False, F), (None, U)])
def test_status_of_and_as_bool_round_trip(value, status):
    assert Status.of(value) is status
    assert status.as_bool() is value


def test_status_values_are_the_json_words():
    assert [s.value for s in Status] == ["pass", "fail", "unknown"]
    assert str(UNKNOWN) == "unknown"
