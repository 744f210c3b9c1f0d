"""The published JSON Schemas accept every real document the project ships or produces.

Clinic integrators validate with `screening schema ...`; if a shipped example patient, a
rule file or a real result failed its own schema, their validator would reject good data.
"""

import json
from pathlib import Path

import jsonschema
import pytest

from screening import Patient, RuleFile, ScreeningResult, load_criteria, load_patient, screen
from screening.rules.yamlsource import load as load_yaml

ROOT = Path(__file__).resolve().parents[3]
PATIENTS = sorted(p for p in ROOT.glob("examples/*/*.json")
                  if p.name != "expected.json" and p.parent.name != "fhir")
RULE_FILES = sorted(ROOT.glob("criteria/*.yaml"))


def validator(model) -> jsonschema.Draft202012Validator:
    schema = model.model_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_the_examples_are_found():
    assert len(PATIENTS) >= 16 and len(RULE_FILES) >= 4


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_patients_pass_the_patient_schema(path):
    validator(Patient).validate(json.loads(path.read_text()))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_files_pass_the_criteria_schema(path):
    validator(RuleFile).validate(json.loads(json.dumps(load_yaml(path.read_text(), str(path)).data, default=str)))


def test_a_schema_violation_is_caught_by_the_schema_as_by_the_engine():
    doc = json.loads(PATIENTS[0].read_text())
    doc["observations"][0]["date"] = "2026-13-01"
    errors = list(validator(Patient).iter_errors(doc))
    assert errors and any("2026-13-01" in e.message for e in errors)


def test_real_results_pass_the_result_schema():
    """Every example screened on its own date gives a result the result schema accepts."""
    check = validator(ScreeningResult)
    trials = {p.stem: load_criteria(p) for p in RULE_FILES}
    verdicts = set()
    for path in PATIENTS:
        expected = json.loads((path.parent / "expected.json").read_text())[path.name]
        result = screen(load_patient(path), trials[path.parent.name], as_of=expected["as_of"],
                        complete=expected.get("complete"))
        check.validate(result.model_dump(mode="json"))
        verdicts.add(result.verdict.value)
    assert verdicts == {"eligible", "ineligible", "undetermined"}
