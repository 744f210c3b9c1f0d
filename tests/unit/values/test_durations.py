"""Windows are calendar windows with both ends inclusive; age is completed years."""

from __future__ import annotations

from datetime import date

import pytest

from screening.values.durations import Window, age_in_years, parse_window


@pytest.mark.parametrize("text, window", [
    ("P6M", Window(months=6)),
    ("P12M", Window(months=12)),
    ("P1Y6M", Window(years=1, months=6)),
    ("P3Y", Window(years=3)),
    ("P2W", Window(weeks=2)),
    ("P30D", Window(days=30)),
    ("p6m", Window(months=6)),
    ("6 months", Window(months=6)),
    ("3 years", Window(years=3)),
    ("1 day", Window(days=1)),
])
def test_parse_window(text, window):
    assert parse_window(text) == window


@pytest.mark.parametrize("text", ["P", "6M", "P6X", "", "six months", "P-1M", "PT6H", "P1.5M"])
def test_parse_window_rejects(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_window(text)


@pytest.mark.parametrize("window, iso, words", [
    (Window(months=6), "P6M", "6 months"),
    (Window(years=1, months=6), "P1Y6M", "1 year 6 months"),
    (Window(days=1), "P1D", "1 day"),
    (Window(), "P0D", "0 days"),
])
def test_window_iso_and_words(window, iso, words):
    assert window.iso == iso
    assert str(window) == words


@pytest.mark.parametrize("as_of, window, start", [
    (date(2026, 11, 23), "P6M", date(2026, 5, 23)),   # calendar months, not 180 days
    (date(2026, 11, 23), "P3M", date(2026, 8, 23)),
    (date(2026, 11, 23), "P12M", date(2025, 11, 23)),
    (date(2026, 11, 23), "P1Y", date(2025, 11, 23)),
    (date(2026, 11, 23), "P2W", date(2026, 11, 9)),
    (date(2026, 11, 23), "P30D", date(2026, 10, 24)),
    (date(2026, 8, 31), "P6M", date(2026, 2, 28)),    # clamped to the end of a short month
    (date(2028, 8, 31), "P6M", date(2028, 2, 29)),    # leap year
    (date(2028, 2, 29), "P1Y", date(2027, 2, 28)),
    (date(2026, 3, 31), "P1M", date(2026, 2, 28)),
])
def test_window_start_is_calendar(as_of, window, start):
    assert parse_window(window).start(as_of) == start


def test_window_bounds_are_inclusive():
    w, as_of = parse_window("P6M"), date(2026, 11, 23)
    assert w.contains(date(2026, 5, 23), as_of)       # first day inside
    assert not w.contains(date(2026, 5, 22), as_of)   # the day before
    assert w.contains(as_of, as_of)                   # the reference date itself
    assert not w.contains(date(2026, 11, 24), as_of)  # after the reference date


@pytest.mark.parametrize("birth, as_of, age", [
    (date(2008, 11, 23), date(2026, 11, 23), 18),   # 18th birthday on the reference date
    (date(2008, 11, 24), date(2026, 11, 23), 17),   # the day before the 18th birthday
    (date(2008, 11, 22), date(2026, 11, 23), 18),
    (date(1951, 11, 23), date(2026, 11, 23), 75),
    (date(1951, 11, 24), date(2026, 11, 23), 74),
    (date(2008, 2, 29), date(2026, 2, 28), 17),     # Feb 29 birth: birthday not yet reached on Feb 28
    (date(2008, 2, 29), date(2026, 3, 1), 18),      # reached on Mar 1 in a common year
    (date(2008, 2, 29), date(2028, 2, 29), 20),     # and on Feb 29 in a leap year
    (date(2008, 2, 29), date(2028, 2, 28), 19),
    (date(2026, 11, 23), date(2026, 11, 23), 0),
    (date(2000, 1, 1), date(2000, 12, 31), 0),
])
def test_age_in_completed_years(birth, as_of, age):
    assert age_in_years(birth, as_of) == age


@pytest.mark.parametrize("window, as_of", [("P1D", date(1, 1, 1)), ("P1Y", date(1, 6, 1)), ("P6M", date(1, 3, 1))])
def test_window_reaching_before_year_one_starts_at_the_first_day(window, as_of):
    assert parse_window(window).start(as_of) == date.min
    assert parse_window(window).contains(date.min, as_of)
