"""x_uln() and x_lln(): a lab value as a multiple of its laboratory's own limits of normal.

"AST <= 2.5 x ULN" is read from the reference range reported with the result (native
`reference_range`, FHIR `Observation.referenceRange`), converted to the item's unit; with no
range, or no such limit, the criterion is unknown and says why.
"""

from __future__ import annotations

import pytest

from screening import screen
from screening.errors import RuleFileError
from screening.rules.compiler import compile_text
from screening.sources.fhir import bundle_to_patient

RULES = """
format: 1
trial: {id: ULN, title: reference ranges}
data:
  ast: {label: AST, codes: ['loinc:1920-8'], names: [AST], unit: U/L, window: P30D}
  bilirubin: {label: total bilirubin, codes: ['loinc:1975-2'], unit: umol/L, molar_mass: 584.66 g/mol, window: P30D}
  sodium: {label: sodium, codes: ['loinc:2951-2'], unit: mmol/L, window: P30D}
criteria:
  - {id: ast, kind: inclusion, text: "AST <= 2.5 x ULN", rule: x_uln(ast) <= 2.5}
  - {id: bili, kind: inclusion, text: "total bilirubin <= 1.5 x ULN", rule: x_uln(bilirubin) <= 1.5}
  - {id: na, kind: inclusion, text: "sodium within normal limits", rule: x_lln(sodium) >= 1 and x_uln(sodium) <= 1}
"""
AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def trial():
    return compile_text(RULES, "uln.yaml")


def patient(*obs):
    return {"id": "p", "birth_date": "1970-01-01", "sex": "female", "observations": list(obs)}


def ast(value, rr=None, unit="U/L", day="2026-11-10"):
    o = {"code": "loinc:1920-8", "name": "AST", "value": value, "unit": unit, "date": day, "source": "Observation/ast"}
    if rr is not None:
        o["reference_range"] = rr
    return o


def statuses(trial, p):
    r = screen(p, trial, AS_OF)
    return {c.id: (c.status.value, c.reason) for c in r.criteria}


def test_ratio_to_the_laboratorys_own_upper_limit(trial):
    s = statuses(trial, patient(ast(80, {"low": 10, "high": 40})))
    assert s["ast"][0] == "pass"
    assert "AST 80 U/L on 2026-11-10 [Observation/ast] = 2 x ULN (ULN 40 U/L of the laboratory's range 10-40 U/L)" \
        in s["ast"][1] and s["ast"][1].endswith("<= 2.5 x ULN")
    s = statuses(trial, patient(ast(120, {"low": 10, "high": 40})))  # 3 x ULN
    assert s["ast"][0] == "fail" and "= 3 x ULN" in s["ast"][1] and "not <= 2.5 x ULN" in s["ast"][1]
    # the same value against another laboratory's range decides differently
    assert statuses(trial, patient(ast(120, {"high": 50})))["ast"][0] == "pass"  # 2.4 x ULN


def test_no_range_or_no_upper_limit_is_unknown_with_the_reason(trial):
    r = screen(patient(ast(80)), trial, AS_OF)
    c = next(c for c in r.criteria if c.id == "ast")
    assert c.status.value == "unknown" and "has no reference range: AST x ULN cannot be computed" in c.reason
    assert "ast" in r.missing
    s = statuses(trial, patient(ast(80, {"low": 10})))
    assert s["ast"][0] == "unknown" and "without an upper limit (>= 10 U/L)" in s["ast"][1]


def test_limits_in_another_unit_are_converted(trial):
    # bilirubin 2.0 mg/dL against a range printed in umol/L: 34.2 umol/L / 20.5 umol/L = 1.67 x ULN
    bili = {"code": "loinc:1975-2", "name": "Bilirubin total", "value": 2.0, "unit": "mg/dL", "date": "2026-11-12",
            "reference_range": {"low": 3.4, "high": 20.5, "unit": "umol/L"}}
    s = statuses(trial, patient(bili))
    assert s["bili"][0] == "fail" and "= 1.67 x ULN" in s["bili"][1], s["bili"]
    bad = dict(bili, reference_range={"high": 1.2, "unit": "mmHg"})
    s = statuses(trial, patient(bad))
    assert s["bili"][0] == "unknown" and "cannot be read in umol/L" in s["bili"][1]


def test_within_normal_limits_reads_both_limits(trial):
    na = lambda v: {"code": "loinc:2951-2", "name": "Sodium", "value": v, "unit": "mmol/L", "date": "2026-11-10",  # noqa: E731
                    "reference_range": {"low": 135, "high": 145}}
    assert statuses(trial, patient(na(140)))["na"][0] == "pass"
    s = statuses(trial, patient(na(131)))
    assert s["na"][0] == "fail" and "= 0.97 x LLN (LLN 135 mmol/L" in s["na"][1]
    assert statuses(trial, patient(na(146)))["na"][0] == "fail"


def test_a_bound_or_stale_value_is_unknown(trial):
    assert statuses(trial, patient(ast("<10", {"high": 40})))["ast"][0] == "unknown"
    s = statuses(trial, patient(ast(30, {"high": 40}, day="2026-09-01")))
    assert s["ast"][0] == "unknown" and "outside the 30 days window (since 2026-10-24)" in s["ast"][1]


def test_check_rejects_x_uln_of_a_non_quantity():
    bad = RULES.replace("ast: {label: AST, codes: ['loinc:1920-8'], names: [AST], unit: U/L, window: P30D}",
                        "ast: {label: AST, type: coded, codes: ['loinc:1920-8']}")
    with pytest.raises(RuleFileError) as err:
        compile_text(bad, "bad.yaml")
    assert "x_uln(): data type mismatch (argument #1)" in err.value.first_line  # rule-engine types it: a number


def test_fhir_reference_range_is_mapped(trial):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1", "gender": "female",
                                                 "birthDate": "1970-01-01"}},
        {"fullUrl": "urn:uuid:o1", "resource": {
            "resourceType": "Observation", "id": "ast-1", "status": "final", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "1920-8", "display": "AST"}]},
            "effectiveDateTime": "2026-11-10",
            "valueQuantity": {"value": 95, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"},
            "referenceRange": [{"low": {"value": 10, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"},
                                "high": {"value": 35, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"},
                                "text": "10-35 U/L"}]}}]}
    p = bundle_to_patient(bundle)
    assert p.observations[0].reference_range.high == 35 and p.observations[0].reference_range.unit == "U/L"
    s = statuses(trial, p)
    assert s["ast"][0] == "fail" and "= 2.71 x ULN (ULN 35 U/L of the laboratory's range 10-35 U/L)" in s["ast"][1]
