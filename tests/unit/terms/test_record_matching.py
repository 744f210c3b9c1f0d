"""Which records a screen sees and which records a concept set or a confirmation finds:
planned procedures dated after the screening date, ICD-10 / ATC class prefixes, and
trial-qualified confirmation facts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from engine_helpers import AS_OF, criterion, make_trial, run

from screening import RuleFileError, compile_text, load_criteria, load_patient, screen
from screening.engine.records import PatientView
from screening.terms.matcher import Matcher
from screening.model.patient import Patient

ROOT = Path(__file__).resolve().parents[3]


def _seed(trial: str, example: str, **more: list) -> tuple:
    patient = load_patient(ROOT / "examples" / trial / example).model_dump(mode="json")
    for category, records in more.items():
        patient[category] = patient[category] + records
    return load_criteria(ROOT / "criteria" / f"{trial}.yaml"), patient


# ---------------------------------------------------------------- planned procedures

@pytest.mark.parametrize("trial, plan, criterion_id, shown", [
    ("NCT04348461", {"code": "snomed:233573008", "status": "planned", "date": "2026-12-05"},
     "exc-4a", "snomed:233573008 on 2026-12-05 (planned)"),
    ("NCT04348461", {"name": "ECMO", "status": "planned", "date": "2026-11-25", "source": "ServiceRequest/ecmo"},
     "exc-4a", "ECMO on 2026-11-25 (planned) [ServiceRequest/ecmo]"),
])
def test_a_procedure_planned_after_the_screening_date_excludes(trial, plan, criterion_id, shown):
    t, patient = _seed(trial, "eligible.json", procedures=[plan])
    result = screen(patient, t, AS_OF)
    exc = next(c for c in result.criteria if c.id == criterion_id)
    assert (exc.status.value, exc.met) == ("fail", True)
    assert shown in exc.reason
    assert result.verdict.value == "ineligible"


def test_done_procedures_after_the_screening_date_stay_invisible():
    # Only plans are seen ahead of time: a completed (or any other) record dated after the
    # screening date is still not seen, so a screen gives the same answer on a later day.
    trial = criterion("had_procedure(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "date": "2026-11-24"}]}, complete=["procedures"])
    assert c.status.value == "fail"
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "date": "2026-11-24"}]},
               as_of=date(2026, 11, 24), complete=["procedures"])
    assert c.status.value == "pass"


def test_a_later_plan_does_not_count_as_done():
    trial = criterion("had_procedure(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "status": "planned", "date": "2026-12-01"}]},
               complete=["procedures"])
    assert c.status.value == "fail"
    trial = criterion("procedure_planned(kidney_biopsy)")
    c, _ = run(trial, {"procedures": [{"name": "kidney biopsy", "status": "planned", "date": "2026-12-01"}]})
    assert c.status.value == "pass"


# ---------------------------------------------------------------- confirmation facts

CONSENT = make_trial("""
- id: inc-consent
  kind: inclusion
  text: Patients who give written consent to participate in the study.
  confirm: written informed consent is collected by the site
""")


@pytest.mark.parametrize("facts", [
    [{"code": "TEST-ENGINE/inc-consent", "value": False}, {"code": "inc-consent", "value": True}],
    [{"code": "inc-consent", "value": True}, {"code": "TEST-ENGINE/inc-consent", "value": False}],
    # the bare fact is later, but it may be another trial's criterion of the same id
    [{"code": "TEST-ENGINE/inc-consent", "value": False, "date": "2026-11-01"},
     {"code": "inc-consent", "value": True, "date": "2026-11-20"}],
])
def test_trial_qualified_confirmation_beats_a_bare_one(facts):
    c, result = run(CONSENT, {"facts": facts})
    assert c.status.value == "fail"
    assert result.verdict.value == "ineligible"
    assert [e.record for e in c.evidence] == ["TEST-ENGINE/inc-consent"]


def test_bare_confirmation_counts_when_no_qualified_one():
    c, _ = run(CONSENT, {"facts": [{"code": "inc-consent", "value": True},
                                   {"code": "OTHER-TRIAL/inc-consent", "value": False}]})
    assert c.status.value == "pass"


def test_qualified_confirmations_latest_wins():
    c, _ = run(CONSENT, {"facts": [{"code": "TEST-ENGINE/inc-consent", "value": True, "date": "2026-11-20"},
                                   {"code": "TEST-ENGINE/inc-consent", "value": False, "date": "2026-11-01"}]})
    assert c.status.value == "pass"


# ---------------------------------------------------------------- class prefixes of hierarchical codes

CLASSES = """\
format: 1
trial:
  id: T-1
  title: Test
concepts:
  malignancy:
    codes: [icd10:C*, icd10:Z85*]
  copd:
    codes: [icd10:J44*]
  breast_cancer:
    codes: [icd10:C50.9*]
  immunosuppressants:
    codes: [atc:L04A*]
  lupus_nephritis:
    codes: [icd10:M32.14]
criteria:
  - id: c1
    kind: exclusion
    text: malignancy
    rule: has_condition(malignancy) or has_condition(copd) or has_condition(breast_cancer) or has_condition(lupus_nephritis) or taking(immunosuppressants)
"""


def _found(concept: str, *codes: str, category: str = "conditions") -> list[str]:
    trial = compile_text(CLASSES, "t.yaml")
    field = {"conditions": "onset", "medications": "start"}[category]
    patient = Patient.model_validate({"id": "p", category: [{"code": c, field: "2020-01-01"} for c in codes]})
    view = PatientView(patient, AS_OF, frozenset())
    return [r.code for r in view.find(category, trial.concepts[concept].matcher)]


def test_icd10_class_prefix_matches_codes_under_it():
    assert _found("malignancy", "icd10:C50.911", "icd10:C80.1", "icd10:C4A.9", "icd10:D05.10", "icd10:Z85.3",
                  "icd10:c7a.00") == ["icd10:C50.911", "icd10:C80.1", "icd10:C4A.9", "icd10:Z85.3", "icd10:c7a.00"]
    assert _found("copd", "icd10:J44.1", "icd10:J44", "icd10:J45.909", "icd10:J4") == ["icd10:J44.1", "icd10:J44"]


def test_icd10_class_prefix_ignores_the_dot():
    # the dot carries no meaning in ICD-10: C50911 (as in claims data) is C50.911
    assert _found("breast_cancer", "icd10:C50911", "icd10:C50.911", "icd10:C50.1", "icd10:C509") == [
        "icd10:C50911", "icd10:C50.911", "icd10:C509"]


def test_prefix_never_crosses_systems_and_an_icd10_code_takes_its_descendants_not_its_ancestors():
    assert _found("malignancy", "snomed:C50", "local:C50", "icd9:C50") == []
    # include_descendants (the default): a code under M32.14 is lupus nephritis, M32.1 is not
    assert _found("lupus_nephritis", "icd10:M32.14", "icd10:M32.1", "icd10:M32.149") == ["icd10:M32.14", "icd10:M32.149"]
    # the editions: an ICD-10-CM or WHO ICD-10 record code is an ICD-10 code
    assert _found("lupus_nephritis", "icd10cm:M32.14", "icd10who:M32.1") == ["icd10cm:M32.14"]


def test_atc_class_prefix():
    assert _found("immunosuppressants", "atc:L04AA06", "atc:L04AG04", "atc:L01AA01", "atc:L04",
                  category="medications") == ["atc:L04AA06", "atc:L04AG04"]


def test_class_prefix_in_a_seed_file_matches_a_complete_problem_list():
    trial, patient = _seed("NCT04348461", "eligible.json", conditions=[
        {"code": "icd10:C50.911", "onset": "2025-03-01", "status": "active", "source": "Condition/bc"}])
    result = screen(patient, trial, AS_OF)
    ids = [c.id for c in result.criteria if c.met and "icd10:C50.911" in c.reason]
    assert ids, [c.reason for c in result.criteria]
    assert result.verdict.value == "ineligible"


def test_matcher_keeps_exact_codes_a_set_and_prefixes_apart():
    m = Matcher.build(["ICD10:C50.9*", "icd10:J44*", "rxnorm:3002"], [])
    assert m.codes == frozenset({"rxnorm:3002"})
    assert m.prefixes == ("icd10:c509", "icd10:j44")


@pytest.mark.parametrize("code, message", [
    ("snomed:363346000*", "t.yaml:7:13: error: code 'snomed:363346000*': a class prefix ('*') needs a hierarchical "
                          "code system (atc, icd10, icd10cm, icd10who); snomed codes match exactly"),
    ("icd10:*", "t.yaml:7:13: error: code 'icd10:*' would match every icd10 code: give a class (a letter, then up "
                "to two category characters, a dot and four more (C*, C50*, C50.9*))"),
    ("icd10:C*50", "t.yaml:7:13: error: code 'icd10:C*50': '*' may appear only once, at the end "
                   "(a class prefix such as icd10:C50*)"),
    ("icd10:50*", "t.yaml:7:13: error: code 'icd10:50*' is not a class prefix of icd10: expected a letter, then up "
                  "to two category characters, a dot and four more (C*, C50*, C50.9*)"),
    ("atc:L0*", "t.yaml:7:13: error: code 'atc:L0*' is not a class prefix of atc: expected a whole ATC level: "
                "L*, L04*, L04A* or L04AA*"),
])
def test_bad_class_prefixes_are_located(code, message):
    text = CLASSES.replace("codes: [icd10:C*, icd10:Z85*]", f"codes: [{code}, icd10:Z85*]")
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "t.yaml")
    assert [str(p) for p in err.value.problems] == [message]


def test_class_prefix_in_a_data_item_is_an_error():
    text = CLASSES.replace("criteria:", "data:\n  w:\n    codes: [loinc:2946*]\n    unit: kg\ncriteria:")
    with pytest.raises(RuleFileError) as err:
        compile_text(text, "t.yaml")
    assert [str(p) for p in err.value.problems] == [
        "t.yaml:18:13: error: code 'loinc:2946*': class prefixes ('*') are for concept sets; "
        "a data item lists its codes exactly"]


@pytest.mark.parametrize("trial, code, criterion", [
    ("NCT01056471", "icd10:Z85.3", "exc-7"),       # personal history of breast cancer: history of malignancy
    ("NCT04348461", "icd10:J44.1", "exc-4b"),       # COPD with exacerbation (with home oxygen)
    ("NCT04348461", "icd10:I26.02", "exc-9b"),      # saddle pulmonary embolism
    ("NCT04348461", "icd10:I82.411", "exc-9a"),     # acute DVT of the right femoral vein
    ("Phase-II-Lupus-MSC", "icd10:D46.9", "exc-4e"),  # myelodysplastic syndrome: a neoplastic disease
])
def test_seed_concepts_take_the_class(trial, code, criterion):
    trial_c, patient = _seed(trial, "eligible.json", conditions=[
        {"code": code, "onset": "2025-03-01", "status": "active", "source": "Condition/x"},
        {"code": "icd10:Z99.81", "onset": "2025-04-01", "status": "active"}])  # dependence on supplemental oxygen
    result = screen(patient, trial_c, AS_OF)
    c = next(c for c in result.criteria if c.id == criterion)
    assert c.met is True, c.reason
    assert code in c.reason


def test_benign_neoplasm_codes_are_not_neoplastic_disease():
    trial, patient = _seed("Phase-II-Lupus-MSC", "eligible.json", conditions=[
        {"code": "icd10:D22.5", "onset": "2025-03-01", "status": "active"}])  # melanocytic naevus of trunk
    result = screen(patient, trial, AS_OF)
    assert result.verdict.value == "eligible"


@pytest.mark.parametrize("trial, name, criterion_id", [
    ("NCT04348461", "ECMO planned", "exc-4a"),
    ("NCT04348461", "Planned: extracorporeal membrane oxygenation", "exc-4a"),
])
def test_planned_in_the_name_of_a_planned_procedure_does_not_hide_it(trial, name, criterion_id):
    t, patient = _seed(trial, "eligible.json", procedures=[{"name": name, "status": "planned", "date": "2026-11-25"}])
    c = next(c for c in screen(patient, t, AS_OF, complete=["procedures"]).criteria if c.id == criterion_id)
    assert (c.status.value, c.met) == ("fail", True), c.reason
    # while 'planned' still guards a completed record's name: "surgery planned" is not surgery done
    t, patient = _seed(trial, "eligible.json", procedures=[{"name": name, "status": "completed", "date": "2026-11-20"}])
    c = next(c for c in screen(patient, t, AS_OF, complete=["procedures"]).criteria if c.id == criterion_id)
    assert c.status.value == "pass"


def test_one_side_of_a_ratio_is_not_the_measurement():
    trial = criterion("pao2 < 60")
    c, _ = run(trial, {"observations": [{"name": "PaO2/FiO2", "value": 250, "unit": "mmHg", "date": "2026-11-23"}]})
    assert (c.status.value, c.reason) == ("unknown", "no PaO2 on record")
    c, _ = run(trial, {"observations": [{"name": "PaO2 / FiO2 ratio", "value": 250, "unit": "mmHg", "date": "2026-11-23"}]})
    assert c.status.value == "unknown"
    c, _ = run(trial, {"observations": [{"name": "Arterial PaO2", "value": 55, "unit": "mmHg", "date": "2026-11-23"}]})
    assert c.status.value == "pass"
    # the ratio itself is found by its whole name, and a phrase containing the '/' still matches inside a longer name
    names = ["PaO2/FiO2", "Arterial PaO2 / FiO2 ratio", "PaO2", "FiO2/PaO2"]
    patient = Patient(id="p", observations=[{"name": n, "value": 1, "date": "2026-11-01"} for n in names])
    found = PatientView(patient, AS_OF, frozenset()).find("observations", Matcher.build([], ["PaO2/FiO2"]))
    assert [r.name for r in found] == names[:2]


def test_exact_icd10_codes_match_with_or_without_the_dot():
    trial, patient = _seed("NCT04348461", "eligible.json")
    patient["conditions"] = [c for c in patient["conditions"] if "U07" not in (c.get("code") or "")] + [
        {"code": "icd10:U071", "onset": "2026-11-15", "status": "active"}]
    c = next(c for c in screen(patient, trial, AS_OF, complete=["conditions"]).criteria if c.id == "inc-4b")
    assert c.status.value == "pass", c.reason


@pytest.mark.parametrize("charted, item_names, found", [
    ("HIV 1/2 antibody", ["HIV 1+2 antibody"], True),          # numbers either side of '/' are no ratio
    ("Protein/Creatinine Ratio", ["protein creatinine ratio"], True),
    ("Urine RBC /hpf", ["urine RBC"], True),                   # a unit after '/' is the measurement's
    ("Weight/kg", ["weight"], True),
    ("PaO2:FiO2 ratio", ["PaO2/FiO2"], True),
    ("PaO2:FiO2 ratio", ["FiO2"], False),                      # one side of a ratio
    ("BUN/Creatinine ratio", ["creatinine"], False),
    ("PaO2 (FiO2 0.4)", ["PaO2/FiO2"], False),                 # a ratio's name needs the ratio in the chart
    ("PaO2 FiO2 corrected", ["PaO2/FiO2"], False),
    ("Horowitz index (PaO2 / FiO2)", ["PaO2/FiO2"], True),
    ("EDSS: total score", ["EDSS"], True),                     # a label's colon is no ratio
    ("Weight: measured", ["weight"], True),
])
def test_ratios_in_names(charted, item_names, found):
    patient = Patient(id="p", observations=[{"name": charted, "value": 1, "date": "2026-11-01"}])
    hits = PatientView(patient, AS_OF, frozenset()).find("observations", Matcher.build([], item_names))
    assert bool(hits) is found
