"""Patient JSON that breaks a trusting reader: duplicate keys, nesting thousands deep, huge
integers, lone surrogates and very long names each give a located PatientError, and the
name index grows linearly with a name's length."""

from __future__ import annotations

import json
import tracemalloc
from datetime import date
from types import SimpleNamespace

import pytest

from screening.errors import PatientError
from screening.sources.files import patient_from_text


def _error(text: str) -> str:
    with pytest.raises(PatientError) as err:
        patient_from_text(text, "p.json")
    assert len(err.value.problems) >= 1
    return str(err.value.problems[0])


def test_duplicate_keys_are_refused_where_they_stand():
    text = '{"id": "p", "birth_date": "1980-01-01",\n  "birth_date": "2010-01-01"}'
    assert _error(text) == "p.json:2:3: error: duplicate key 'birth_date'"


def test_duplicate_keys_inside_a_record_are_refused():
    text = '{"id": "p", "observations": [{"name": "weight", "value": 80, "value": 8, "date": "2026-01-01"}]}'
    assert _error(text).startswith("p.json:1:62: error: duplicate key 'value'")


@pytest.mark.parametrize("text,fragment", [
    ('{"id": "p", "x": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    ('{"id": "p", "observations": [{"name": "w", "value": ' + "9" * 5000 + ', "date": "2026-01-01"}]}', "digits"),
    ('{"id": "p\\ud800"}', "surrogate"),
    ('{"id": "p", "observations": [{"name": "w\\udfff", "value": 1, "date": "2026-01-01"}]}', "surrogate"),
], ids=["deep", "bigint", "surrogate-id", "surrogate-name"])
def test_hostile_json_gives_a_located_error(text, fragment):
    message = _error(text)
    assert message.startswith("p.json:1:") and fragment in message, message


def test_a_surrogate_pair_is_fine():
    p = patient_from_text('{"id": "p\\ud83d\\ude00"}', "p.json")
    assert p.id == "p\U0001F600"


def test_a_name_longer_than_the_limit_is_refused():
    text = json.dumps({"id": "p", "observations": [{"name": "weight " * 18_000, "value": 1, "date": "2026-01-01"}]})
    message = _error(text)
    assert "observations[0].name" in message and "longer than" in message, message


def test_the_name_index_grows_linearly():
    from screening.terms.matcher import RecordIndex

    record = SimpleNamespace(name="word " * 3000, code=None, codes=(), status=None)
    tracemalloc.start()
    try:
        RecordIndex([record], observation=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, peak  # a quadratic index of 3,000 words holds 4.5 million references


LONG = "x" * 2001
OBS = {"name": "weight", "value": 80, "unit": "kg", "date": "2026-01-01"}


@pytest.mark.parametrize("profile, where", [
    ({"id": LONG}, "id"),
    ({"observations": [dict(OBS, unit=LONG)]}, "observations[0].unit"),
    ({"observations": [dict(OBS, value=LONG)]}, "observations[0].value"),
    ({"observations": [dict(OBS, codes=["loinc:1", LONG])]}, "observations[0].codes[1]"),
    ({"observations": [dict(OBS, reference_range={"low": 1, "text": LONG})]}, "observations[0].reference_range.text"),
    ({"observations": [dict(OBS, reference_range={"low": 1, "unit": LONG})]}, "observations[0].reference_range.unit"),
    ({"conditions": [{"name": "asthma", "source": LONG}]}, "conditions[0].source"),
    ({"facts": [{"code": LONG, "value": True}]}, "facts[0].code"),
    ({"unmapped": [{"resource": "Observation/1", "reason": LONG}]}, "unmapped[0].reason"),
    ({"unmapped": [{"resource": LONG, "reason": "r"}]}, "unmapped[0].resource"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_every_string_of_a_record_is_capped_with_one_located_message(profile, where):
    text = json.dumps({"id": "p", **profile}) if "id" not in profile else json.dumps(profile)
    with pytest.raises(PatientError) as err:
        patient_from_text(text, "p.json")
    (problem,) = err.value.problems
    message = str(problem)
    assert message.startswith("p.json:1:") and where in message, message
    assert "longer than 2000 characters (2001)" in message, message


def test_a_string_at_the_limit_is_kept():
    p = patient_from_text(json.dumps({"id": "p", "observations": [dict(OBS, value="x" * 2000)]}), "p.json")
    assert len(p.observations[0].value) == 2000
