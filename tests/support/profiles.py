"""Random native profiles (hypothesis strategies) built from a test's own codes, names, units and values."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from hypothesis import strategies as st

PARTS = ["conditions", "medications", "procedures", "immunizations", "facts"]


def record(codes: Sequence[str], names: Sequence[str], extra: dict) -> st.SearchStrategy:
    """A record with a code, codes and/or a name (at least one of them) and the fields of ``extra``."""
    ident = st.fixed_dictionaries({}, optional={"code": st.sampled_from(codes),
                                                "codes": st.lists(st.sampled_from(codes), max_size=2),
                                                "name": st.sampled_from(names)}).filter(
        lambda d: d.get("code") or d.get("codes") or d.get("name"))
    return st.tuples(ident, st.fixed_dictionaries(extra)).map(lambda t: {**t[0], **t[1]})


def profiles(codes: Sequence[str], names: Sequence[str], units: Sequence[str | None], values: st.SearchStrategy,
             first_day: dt.date, observation_statuses: Sequence[str] = ("final", "preliminary"),
             max_observations: int = 8) -> st.SearchStrategy:
    """Profiles (without an id) whose records are dated from ``first_day`` to 2027-01-01."""
    days = st.dates(first_day, dt.date(2027, 1, 1))
    opt_days = st.one_of(st.none(), days)

    def rec(extra: dict) -> st.SearchStrategy:
        return record(codes, names, extra)

    return st.fixed_dictionaries({
        "birth_date": st.one_of(st.none(), st.dates(dt.date(1940, 1, 1), dt.date(2010, 1, 1))),
        "sex": st.sampled_from([None, "female", "male", "other", "unknown"]),
        "observations": st.lists(rec({"value": values, "unit": st.sampled_from(list(units)), "date": days,
                                      "status": st.sampled_from(list(observation_statuses))}),
                                 max_size=max_observations),
        "conditions": st.lists(rec({"onset": opt_days, "abatement": opt_days, "status": st.sampled_from(
            ["active", "resolved", "remission", "refuted", "relapse"])}), max_size=4),
        "medications": st.lists(rec({"start": opt_days, "stop": opt_days, "status": st.sampled_from(
            ["active", "completed", "stopped", "not-taken", "intended", "on-hold"])}), max_size=4),
        "procedures": st.lists(rec({"date": opt_days, "end": opt_days, "status": st.sampled_from(
            ["completed", "in-progress", "not-done", "planned"])}), max_size=3),
        "immunizations": st.lists(rec({"date": opt_days, "status": st.sampled_from(["completed", "not-done"])}),
                                  max_size=2),
        "facts": st.lists(rec({"value": st.booleans(), "date": opt_days}), max_size=3),
        "complete": st.lists(st.sampled_from(PARTS), unique=True),
    })


def as_patients(drawn: list[dict]) -> list:
    """Drawn profiles as validated patients with ids h0, h1, ... (dates written as JSON writes them)."""
    import json

    from screening.model.patient import Patient

    out = []
    for i, d in enumerate(drawn):
        d = {k: v for k, v in d.items() if v is not None}
        d["id"] = f"h{i}"
        out.append(Patient.model_validate(json.loads(json.dumps(d, default=str))))
    return out
