"""Reading patient profiles: errors name the file and the place."""

from __future__ import annotations

import json
from datetime import date

import pytest

from screening import Patient, PatientError, load_patient, parse_patient


def messages(data, file="p.json"):
    with pytest.raises(PatientError) as err:
        parse_patient(data, file)
    return [str(p) for p in err.value.problems]


def test_valid_profile():
    p = parse_patient({"id": "x", "birth_date": "2008-02-29", "observations": [
        {"name": "UPCR", "value": 1.5, "unit": "mg/mg", "date": "2026-11-01"}]})
    assert isinstance(p, Patient) and p.birth_date == date(2008, 2, 29)
    assert p.observations[0].value == 1.5 and p.observations[0].status == "final"


@pytest.mark.parametrize("data, expected", [
    ({"id": "x", "observations": [{"name": "a", "value": 1, "date": "2026-13-01"}]},
     "p.json: error: observations[0].date: Input should be a valid date or datetime, month value is outside"),
    ({"id": "x", "medications": [{"name": "a"}, {"name": "b", "dosage": 5}]},
     "p.json: error: medications[1].dosage: unknown field"),
    ({"observations": []}, "p.json: error: id: missing required field"),
    ({"id": "x", "conditions": [{"status": "active"}]},
     "p.json: error: conditions[0]: a record needs a 'code' or a 'name'"),
    ({"id": "x", "observations": [{"name": "a", "value": {"v": 1}, "date": "2026-01-01"}]},
     "p.json: error: observations[0].value: expected a number, text or true/false"),
    ({"id": "x", "complete": ["labs"]}, "p.json: error: complete[0]: Input should be"),
    ({"id": "x", "facts": [{"name": "pregnant", "value": "yes"}]},
     "p.json: error: facts[0].value: Input should be a valid boolean"),
])
def test_schema_errors_name_the_path(data, expected):
    found = messages(data)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_every_schema_error_is_reported():
    found = messages({"id": "x", "sex": "f", "observations": [{"name": "a", "value": [1], "date": "x"}]})
    assert [m.split(": error: ")[1].split(":")[0] for m in found] == [
        "sex", "observations[0].value", "observations[0].date"]


def test_not_an_object():
    assert messages([1, 2]) == ["p.json: error: a patient profile must be a JSON object"]


def test_json_syntax_error_has_line_and_column(tmp_path):
    f = tmp_path / "p.json"
    f.write_text('{"id": "x",\n  "sex": "female",,\n}', encoding="utf-8")
    with pytest.raises(PatientError) as err:
        load_patient(f)
    assert str(err.value) == f"{f}:2:19: error: invalid JSON: Expecting property name enclosed in double quotes"


def test_load_patient_reads_a_file(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"id": "x", "sex": "male"}), encoding="utf-8")
    assert load_patient(f).sex == "male"


def test_missing_file(tmp_path):
    with pytest.raises(PatientError, match="cannot read patient file: No such file or directory"):
        load_patient(tmp_path / "nope.json")
