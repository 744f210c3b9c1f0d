"""Reasons a coordinator reads at a glance: near a threshold the shown value reads as true as the comparison
(199.5 < 200, not 200 < 200); an 'or' that ends unknown also names the alternatives that failed."""

from __future__ import annotations

import operator

import pytest

from screening import Status
from screening.values.units import format_against

from engine_helpers import criterion, obs, run

P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN


@pytest.mark.parametrize("x, threshold, test, shown", [
    (199.5, 200, operator.lt, "199.5"),      # rounded to '200' it would read '200 < 200'
    (199.96, 200, operator.lt, "199.96"),
    (200.4, 200, operator.gt, "200.4"),
    (0.9996, 1, operator.ge, "0.9996"),       # not '1 >= 1' for a value below 1
    (1.326, 1, operator.ge, "1.33"),          # far enough: the short form stays
    (150.2, 200, operator.lt, "150"),
    (200.0, 200, operator.le, "200"),
])
def test_a_value_shows_the_digits_its_comparison_needs(x, threshold, test, shown):
    assert format_against(x, threshold, test) == shown


def test_a_computed_ratio_just_under_the_threshold_reads_under_it():
    c, _ = run(criterion("pf < 200"), {"observations": [obs("PaO2", 79.8, "mmHg", "2026-11-23"),
                                                       obs("FiO2", 0.4, None, "2026-11-23")]})
    assert c.status is P
    assert c.reason.startswith("PaO2/FiO2 199.5 mmHg computed as pao2 / fio2 from PaO2 79.8 mmHg")
    assert c.reason.endswith("< 200 mmHg")


def test_a_converted_value_just_under_the_threshold_reads_under_it():
    # 112.9 mg/mmol is 0.998 mg/mg: shown as '1 mg/mg' it would read '1 mg/mg, not >= 1 mg/mg'
    c, _ = run(criterion("upcr >= 1"), {"observations": [obs("UPCR", 112.9, "mg/mmol", "2026-11-10")]})
    assert c.status is F
    assert "UPCR 112.9 mg/mmol (0.998 mg/mg) on 2026-11-10" in c.reason
    assert "not >= 1 mg/mg" in c.reason


def test_an_unknown_or_names_the_alternative_that_failed():
    # no UPCR on record: unknown; the urine RBC alternative was read and fails
    c, _ = run(criterion("upcr >= 1 or rbc_urine > 5"), {"observations": [obs("urine RBC", 2, "/hpf")]})
    assert c.status is U
    assert c.reason.startswith("no UPCR on record")
    assert "urine RBC 2 /hpf on 2026-11-01, not > 5 /hpf" in c.reason
    assert c.missing == ["upcr"]  # only the open alternative is asked for
