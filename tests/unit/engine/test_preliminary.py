"""A preliminary result is used, and every kind of value says so in the reason."""

from __future__ import annotations

from engine_helpers import criterion, obs, run


def test_preliminary_coded_result_is_flagged():
    trial = criterion("hiv == 'positive'", kind="exclusion")
    c, _ = run(trial, {"observations": [obs("HIV", "negative", status="preliminary")]})
    assert (c.status.value, c.met) == ("pass", False)
    assert "HIV test negative on 2026-11-01 (preliminary)" in c.reason


def test_preliminary_titer_is_flagged():
    trial = criterion("ana >= '1:80'")
    c, _ = run(trial, {"observations": [obs("ANA", "1:160", status="preliminary")]})
    assert c.status.value == "pass"
    assert "1:160 on 2026-11-01 (preliminary)" in c.reason


def test_final_result_is_not_flagged():
    trial = criterion("ana >= '1:80'")
    c, _ = run(trial, {"observations": [obs("ANA", "1:160")]})
    assert "preliminary" not in c.reason
