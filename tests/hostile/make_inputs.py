"""Writes the hostile inputs of this folder (run once; the files are committed).

Each input is small on disk but built to break a reader that trusts its input: nesting
thousands deep, a 5,000-digit number, a lone surrogate, duplicate keys, recursive YAML
aliases, thousands of operators, a regex built to backtrack, a 125 KB name.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "inputs"
BASE = (Path(__file__).resolve().parent.parent / "batch" / "mini.yaml").read_text(encoding="utf-8")
FIRST_RULE = "rule: age >= 18 and age <= 75"


def rules(name: str, text: str) -> None:
    (HERE / name).write_text(text, encoding="utf-8")


def with_rule(rule: str) -> str:
    assert FIRST_RULE in BASE
    return BASE.replace(FIRST_RULE, "rule: " + rule)


def with_item(line: str, rule: str | None = None) -> str:
    text = BASE.replace("  pregnant:", line + "\n  pregnant:")
    return text.replace("rule: weight > 120", "rule: " + rule) if rule else text


def patient(**extra) -> dict:
    return {"id": "h1", "birth_date": "1980-05-01", "sex": "female", **extra}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    rules("ok.yaml", BASE)
    (HERE / "ok.json").write_text(json.dumps(patient()), encoding="utf-8")
    (HERE / "ok.ndjson").write_text(json.dumps(patient()) + "\n", encoding="utf-8")
    # JSON
    (HERE / "deep.json").write_text('{"id": "h1", "observations": ' + "[" * 5000 + "]" * 5000 + "}\n")
    (HERE / "bigint.json").write_text('{"id": "h1", "birth_date": "1980-05-01", "observations": [{"name": "weight", '
                                      '"value": ' + "9" * 5000 + ', "unit": "kg", "date": "2026-11-01"}]}\n')
    (HERE / "surrogate.json").write_text('{"id": "h1", "birth_date": "1980-05-01", "sex": "female", '
                                         '"observations": [{"name": "x\\ud800", "value": 1, "date": "2026-11-01"}]}\n')
    (HERE / "dupkey.json").write_text('{"id": "h1", "birth_date": "1980-05-01",\n "sex": "female", '
                                      '"birth_date": "2010-05-01"}\n')
    (HERE / "longname.json").write_text(json.dumps(patient(observations=[
        {"name": "weight " * 18_000, "value": 80, "unit": "kg", "date": "2026-11-01"}])))
    (HERE / "longunit.json").write_text(json.dumps(patient(observations=[
        {"name": "weight", "value": 80, "unit": "k" * 100_000, "date": "2026-11-01"}])))
    (HERE / "longid.json").write_text(json.dumps(patient(id="h" * 100_000)))
    item: dict = {"linkId": "leaf", "answer": [{"valueString": "x"}]}
    for i in range(150):
        item = {"linkId": f"l{i}", "item": [item]}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "h1", "birthDate": "1980-05-01",
                                               "gender": "female"}},
        {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "QuestionnaireResponse", "id": "q1",
                                               "status": "completed", "subject": {"reference": "Patient/h1"},
                                               "item": [item]}}]}
    (HERE / "qr-deep.json").write_text(json.dumps(bundle))
    # YAML
    rules("alias-recursive.yaml", "a: &a [*a]\n")
    rules("alias-recursive-map.yaml", BASE.replace("concepts:\n", "concepts: &c\n  loop: *c\n"))
    rules("deep-seq.yaml", BASE + "extra: " + "[" * 3000 + "]" * 3000 + "\n")
    rules("deep-map.yaml", BASE + "extra: " + "{a: " * 3000 + "v" + "}" * 3000 + "\n")
    rules("tag-unknown.yaml", BASE.replace("concepts:\n", "concepts: !foo\n"))
    rules("tag-python.yaml", BASE.replace("criteria:\n", "criteria: !!python/object/apply:os.system\n"))
    rules("large.yaml", BASE.replace("names: [cyclophosphamide, cytoxan]", "names: [" + ", ".join(["a"] * 50_001) + "]"))
    # rules
    rules("or-600.yaml", with_rule(" or ".join(["age > 1"] * 600)))
    rules("not-2000.yaml", with_rule("not " * 2000 + "pregnant"))
    rules("regex-backtrack.yaml", with_rule("\"'" + "a" * 64 + "!' =~ '(a+)+$'\""))
    rules("regex-item.yaml", with_rule("\"sex =~ 'fem.*'\""))
    rules("rule-div-zero.yaml", with_rule("age >= 18 / 0"))
    # formulas
    rules("formula-3000.yaml", with_item("  w2: {label: w2, unit: kg, derive: {formula: "
                                         + " + ".join(["weight"] * 3000) + "}}"))
    rules("formula-plus-one.yaml", with_item("  w2: {label: w2, unit: kg, derive: {formula: weight + 1}}"))
    rules("formula-div-zero.yaml", with_item("  w2: {label: w2, unit: kg, derive: {formula: weight / 0}}"))
    rules("formula-mixed-dims.yaml", with_item("  w2: {label: w2, unit: kg, derive: {formula: weight + upcr}}"))
    rules("formula-item-exponent.yaml", with_item("  w2: {label: w2, unit: kg, derive: {formula: weight ** weight}}"))
    rules("formula-circular.yaml", with_item("  a1: {label: a1, unit: kg, derive: {formula: a2 * 1}}\n"
                                             "  a2: {label: a2, unit: kg, derive: {formula: a1 * 1}}", "a1 > 120"))


if __name__ == "__main__":
    main()
