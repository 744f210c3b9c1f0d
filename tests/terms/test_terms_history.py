"""'Personal history of' records and accented names, through the engine on real rule files."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import pytest

from screening import compile_text, load_criteria, screen
from screening.model.patient import Patient
from screening.terms.names import says_history, words

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 23)

RULES = textwrap.dedent("""
    format: 1
    trial: {id: HISTORY-TEST, title: History test trial}
    concepts:
      pe:
        label: pulmonary embolism
        codes: [icd10:I26*]
        names: [pulmonary embolism]
      ms:
        label: multiple sclerosis
        names: [multiple sclerosis, esclerosis múltiple]
    criteria:
      - {id: exc-pe-now, kind: exclusion, text: "Active PE", rule: "has_condition(pe)"}
      - {id: exc-pe-3y, kind: exclusion, text: "PE in the last 3 years", rule: "history_of(pe, 'P3Y')"}
      - {id: exc-pe-ever, kind: exclusion, text: "PE ever", rule: "history_of(pe)"}
      - {id: inc-ms, kind: inclusion, text: "MS", rule: "has_condition(ms)"}
""")


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "history-test.yaml")


def run(trial, conditions):
    patient = Patient.model_validate({"id": "p", "complete": ["conditions"], "conditions": conditions})
    return {c.id: c for c in screen(patient, trial, AS_OF).criteria}


def test_accented_letters_do_not_split_words():
    assert words("Esclerosis Múltiple") == ("esclerosis", "multiple")
    assert words("biopsia de riñón") == words("biopsia de rinon")


@pytest.mark.parametrize("name", ["Esclerosis Múltiple", "esclerosis multiple", "ESCLEROSIS MÚLTIPLE remitente"])
def test_a_spanish_name_with_or_without_accents_is_found(trial, name):
    assert run(trial, [{"name": name, "onset": "2010-01-01"}])["inc-ms"].status.value == "pass"


@pytest.mark.parametrize("name,said", [("Personal history of pulmonary embolism", True), ("h/o DVT", True),
                                       ("antecedentes de cáncer de mama", True), ("pulmonary embolism", False),
                                       ("Family history of pulmonary embolism", False)])
def test_names_that_say_history(name, said):
    assert says_history(name) is said


def test_personal_history_of_pe_by_name_is_not_an_active_pe(trial):
    # before: the name's words 'pulmonary embolism' matched, and the record (status active) was an active PE
    c = run(trial, [{"name": "Personal history of pulmonary embolism", "onset": "2024-06-01"}])
    assert c["exc-pe-now"].status.value == "pass"
    assert "(personal history) onset 2024-06-01" in c["exc-pe-now"].reason
    # charted inside the 3 years: the embolism was on or before that day, so it may or may not be inside
    assert c["exc-pe-3y"].status.value == "unknown"
    assert c["exc-pe-ever"].status.value == "fail"


def test_a_history_record_charted_before_the_window_is_outside_it(trial):
    c = run(trial, [{"code": "icd10:Z86.711", "name": "Personal history of pulmonary embolism", "onset": "2019-02-01"}])
    assert c["exc-pe-3y"].status.value == "pass"


def test_an_active_pe_code_is_still_an_active_pe(trial):
    c = run(trial, [{"code": "icd10:I26.99", "name": "history of pulmonary embolism", "onset": "2026-11-01"}])
    assert c["exc-pe-now"].status.value == "fail"


def _covid_eligible():
    return json.loads((ROOT / "examples" / "NCT04348461" / "eligible.json").read_text(encoding="utf-8"))


def test_a_pe_history_is_decided_by_the_answer_to_its_question():
    trial = load_criteria(ROOT / "criteria" / "NCT04348461.yaml")
    p = _covid_eligible()
    p["conditions"].append({"code": "icd10:Z86.711", "name": "Personal history of pulmonary embolism",
                            "onset": "2025-02-11"})
    by_id = lambda patient: {c.id: c for c in screen(Patient.model_validate(patient), trial, AS_OF).criteria}  # noqa: E731
    assert by_id(p)["exc-9b"].status.value == "unknown"
    p["facts"].append({"code": "local:pe-last-3-years", "value": False, "date": "2026-11-23"})
    assert by_id(p)["exc-9b"].status.value == "pass"
    p["facts"][-1] = {"code": "local:pe-last-3-years", "value": True, "date": "2026-11-23"}
    assert by_id(p)["exc-9b"].status.value == "fail"


@pytest.mark.parametrize("name", ["Personal history of breast cancer, now with metastatic recurrence",
                                  "History of breast cancer with recurrence", "h/o breast cancer, active disease",
                                  "Antecedente de cáncer de mama con recidiva metastásica"])
def test_a_history_name_that_says_recurrence_or_active_is_not_read_as_past(name):
    assert says_history(name) is False


@pytest.mark.parametrize("conditions", [
    [{"name": "Personal history of breast cancer, now with metastatic recurrence", "onset": "2026-09-01"}],
    [{"code": "icd10:Z85.3", "name": "Personal history of breast cancer, now with metastatic recurrence",
      "onset": "2026-09-01"}],
])
def test_a_metastatic_recurrence_charted_under_a_history_name_is_not_inactive_history(conditions):
    # before: 'personal history' won, the record was past, and with conditions complete the active
    # malignancy exclusion passed
    trial = load_criteria(ROOT / "criteria" / "NCT04348461.yaml")
    patient = Patient.model_validate({"id": "p", "complete": ["conditions"], "conditions": conditions})
    c = next(c for c in screen(patient, trial, AS_OF).criteria if c.id == "exc-6")  # active tumour disease
    assert c.status.value in ("fail", "unknown"), c.reason
    assert "(personal history)" not in c.reason
