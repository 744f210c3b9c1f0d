"""The `screening` command, run in-process (CliRunner) and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from screening.cli import app

DATA = Path(__file__).resolve().parent.parent / "data"
P1, LUPUS, ENGINE = DATA / "p1.json", DATA / "lupus.yaml", DATA / "engine.yaml"
AS_OF = ["--as-of", "2026-11-23"]


@pytest.fixture(autouse=True)
def no_cache(monkeypatch):
    monkeypatch.setenv("SCREENING_CACHE_DIR", "")  # every test compiles its rule files afresh


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error_line(result, start: str) -> str:
    """The run failed with exit 2 and exactly one line on stderr, starting with ``start``; no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(start), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    return lines[0]


# ------------------------------------------------------------------ screen


def test_screen_table_output():
    r = invoke("screen", P1, "-t", LUPUS, *AS_OF)
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "Phase-II-Lupus-MSC - patient p1 - as of 2026-11-23" in out
    for cid in ("age", "inc-ab", "inc-upcr", "exc-cyc", "exc-preg", "pf", "consent"):
        assert cid in out
    assert "verdict: undetermined  eligible pending confirmation of: consent" in out
    assert "to confirm: consent" in out
    assert r.stderr == ""  # --as-of given: nothing to say about the date


def test_screen_json_output():
    r = invoke("screen", P1, "-t", LUPUS, *AS_OF, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["trial"], doc["patient"], doc["as_of"], doc["verdict"]) == (
        "Phase-II-Lupus-MSC", "p1", "2026-11-23", "undetermined")
    assert doc["pending_confirmation"] == ["consent"] and doc["unknown"] == ["consent"]
    assert doc["complete"] == ["medications"]
    by_id = {c["id"]: c for c in doc["criteria"]}
    assert {k: v["status"] for k, v in by_id.items()} == {
        "age": "pass", "inc-ab": "pass", "inc-upcr": "pass", "exc-cyc": "pass", "exc-preg": "pass", "pf": "pass",
        "consent": "unknown"}
    upcr = by_id["inc-upcr"]
    assert set(upcr) >= {"id", "kind", "text", "status", "met", "reason", "evidence", "missing",
                         "needs_confirmation", "applicable"}
    (ev,) = upcr["evidence"]
    assert (ev["item"], ev["value"], ev["unit"], ev["converted_unit"], ev["date"], ev["source"]) == (
        "upcr", 150, "mg/mmol", "mg/mg", "2026-10-02", "Observation/u1")
    assert ev["converted"] == pytest.approx(150 / 113.12)
    assert by_id["exc-preg"]["applicable"] is False and by_id["exc-preg"]["reason"].startswith("not applicable: ")


def test_screen_json_several_trials_is_a_list():
    r = invoke("screen", P1, "-t", LUPUS, "-t", ENGINE, *AS_OF, "--json")
    assert r.exit_code == 0, r.stderr
    docs = json.loads(r.stdout)
    assert [d["trial"] for d in docs] == ["Phase-II-Lupus-MSC", "TEST-ENGINE"]


def test_screen_complete_option():
    p = DATA / "p1.json"
    r = invoke("screen", p, "-t", ENGINE, *AS_OF, "--json", "--complete", "conditions, medications")
    doc = json.loads(r.stdout)
    assert doc["complete"] == ["conditions", "medications"]
    cancer = next(c for c in doc["criteria"] if c["id"] == "exc-cancer")
    assert cancer["status"] == "pass" and cancer["reason"].endswith("conditions declared complete")


@pytest.mark.parametrize("as_json", [False, True])
def test_as_of_omitted_prints_todays_date_on_stderr(as_json):
    r = invoke("screen", P1, "-t", LUPUS, *(["--json"] if as_json else []))
    assert r.exit_code == 0
    today = date.today().isoformat()
    assert r.stderr.strip() == f"as of {today} (today; use --as-of to fix the screening date)"
    if as_json:
        assert json.loads(r.stdout)["as_of"] == today  # stdout stays one JSON document


# ------------------------------------------------------------------ check


def test_check_success():
    r = invoke("check", LUPUS, ENGINE)
    assert r.exit_code == 0
    assert [line for line in r.stdout.splitlines() if ": warning: " not in line] == [
        f"{LUPUS}: ok: Phase-II-Lupus-MSC, 7 criteria, 8 data items, 2 concept sets",
        f"{ENGINE}: ok: TEST-ENGINE, 8 criteria, 8 data items, 2 concept sets",
    ]
    # valid but suspicious: a set read among conditions that nothing places in ICD-10 or the vocabulary
    assert (f"{ENGINE}: warning: concept set 'malignancy' has no ICD-10 code and names no condition of the "
            "vocabulary: with conditions declared complete, every condition record it does not match is a "
            "question for a person") in r.stdout.splitlines()


def test_check_failure_lists_every_problem_located(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = LUPUS.read_text(encoding="utf-8")
    text = text.replace("unit: mg/mg", "unit: mg/mgx").replace("rule: upcr >= 1", "rule: upcrr >= 1")
    bad.write_text(text, encoding="utf-8")
    r = invoke("check", bad, LUPUS)
    assert r.exit_code == 2
    lines = r.stdout.splitlines()
    assert lines[0] == f"{bad}:25:11: error: unknown unit 'mg/mgx': 'mgx' is not defined in the unit registry"
    assert lines[1] == f"{bad}:54:11: error: unknown name 'upcrr' (did you mean 'upcr'?)"
    assert lines[2].startswith(f"{LUPUS}: ok:")
    assert len(lines) == 3


# ------------------------------------------------------------------ schema


def _check_schema(schema: dict) -> None:
    """Structural JSON Schema checks: types are schema types, every $ref resolves, required fields exist."""
    types = {"object", "array", "string", "number", "integer", "boolean", "null"}
    defs = schema.get("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                ref = node["$ref"]
                assert ref.startswith("#/$defs/") and ref.split("/")[-1] in defs, ref
            t = node.get("type")
            if t is not None:
                assert (t in types) if isinstance(t, str) else set(t) <= types, t
            if "required" in node:
                assert set(node["required"]) <= set(node.get("properties", {})), node["required"]
            for key, v in node.items():
                if key in ("properties", "$defs", "patternProperties"):  # names -> schemas
                    for sub in v.values():
                        walk(sub)
                elif key not in ("default", "examples", "const", "enum"):
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)


@pytest.mark.parametrize("which, title, required", [
    ("patient", "Patient profile", {"id"}),
    ("criteria", "Trial rule file", {"trial", "criteria"}),
    ("result", "Screening result", {"trial", "patient", "as_of", "verdict", "criteria"}),
])
def test_schema_is_json_schema(which, title, required):
    r = invoke("schema", which)
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert schema["type"] == "object" and schema["title"] == title
    assert required <= set(schema["required"])
    _check_schema(schema)


@pytest.mark.parametrize("which", ["patient", "criteria", "result"])
def test_schema_passes_the_metaschema(which):
    jsonschema = pytest.importorskip("jsonschema")  # optional: the structural test above always runs
    jsonschema.Draft202012Validator.check_schema(json.loads(invoke("schema", which).stdout))


def test_result_schema_describes_the_json_output():
    """Every field of a real result is declared in the result schema (and nothing required is absent)."""
    schema = json.loads(invoke("schema", "result").stdout)
    doc = json.loads(invoke("screen", P1, "-t", LUPUS, *AS_OF, "--json").stdout)
    assert set(doc) <= set(schema["properties"]) and set(schema["required"]) <= set(doc)
    crit = schema["$defs"]["CriterionResult"]
    for c in doc["criteria"]:
        assert set(c) <= set(crit["properties"]) and set(crit["required"]) <= set(c)
    assert set(schema["$defs"]["Verdict"]["enum"]) == {"eligible", "ineligible", "undetermined"}


def test_unknown_schema_is_bad_input():
    one_error_line(invoke("schema", "foo"), "error: unknown schema 'foo' (choose from patient, criteria, result)")


# ------------------------------------------------------------------ bad input: exit 2, one line, no traceback


def write(tmp_path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_malformed_patient_json(tmp_path):
    p = write(tmp_path, "bad.json", '{"id": "x",\n "observations": [}\n')
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}:2:19: error: invalid JSON: ")


def test_patient_schema_violation_names_the_path_line_and_column(tmp_path):
    p = write(tmp_path, "bad.json", json.dumps(
        {"id": "x", "observations": [{"name": "UPCR", "value": 1, "date": "2026-13-01"}]}, indent=2))
    # line 7 reads '      "date": "2026-13-01"': the value starts in column 15
    line = one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}:7:15: error: observations[0].date: ")
    assert "month" in line


def test_patient_unknown_field(tmp_path):
    p = write(tmp_path, "bad.json", json.dumps({"id": "x", "medications": [{"name": "a"}, {"name": "b", "dosage": 5}]}))
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}:1:68: error: medications[1].dosage: unknown field")


def test_missing_field_points_at_the_record_that_lacks_it(tmp_path):
    p = write(tmp_path, "bad.json", '{"id": "x",\n "observations": [\n  {"name": "UPCR", "value": 1}\n ]\n}\n')
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF),
                   f"{p}:3:3: error: observations[0].date: missing required field")


def test_patient_file_with_a_byte_order_mark_is_read(tmp_path):
    """Notepad and PowerShell write UTF-8 with a byte-order mark: the profile is the same profile."""
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + P1.read_bytes())
    plain = invoke("screen", P1, "-t", LUPUS, *AS_OF, "--json")
    with_bom = invoke("screen", p, "-t", LUPUS, *AS_OF, "--json")
    assert with_bom.exit_code == 0, with_bom.stderr
    assert json.loads(with_bom.stdout) == json.loads(plain.stdout)
    assert invoke("convert", p).stdout == invoke("convert", P1).stdout


def test_empty_patient_file(tmp_path):
    p = write(tmp_path, "empty.json", "")
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}:1:1: error: empty file")
    one_error_line(invoke("convert", p), f"{p}:1:1: error: empty file")


def test_patient_not_an_object(tmp_path):
    p = write(tmp_path, "list.json", "[]")
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}: error: a patient profile must be a JSON object")


def test_missing_patient_file(tmp_path):
    p = tmp_path / "nope.json"
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF),
                   f"{p}: error: cannot read patient file: No such file or directory")


def test_missing_rule_file(tmp_path):
    t = tmp_path / "nope.yaml"
    one_error_line(invoke("screen", P1, "-t", t, *AS_OF), f"{t}: error: cannot read rule file: No such file or directory")


def test_unknown_unit_in_rule_file(tmp_path):
    t = write(tmp_path, "r.yaml", LUPUS.read_text(encoding="utf-8").replace("unit: mg/mg", "unit: mg/mgx"))
    one_error_line(invoke("screen", P1, "-t", t, *AS_OF),
                   f"{t}:25:11: error: unknown unit 'mg/mgx': 'mgx' is not defined in the unit registry")


def test_rule_syntax_error(tmp_path):
    t = write(tmp_path, "r.yaml", LUPUS.read_text(encoding="utf-8").replace("rule: upcr >= 1", "rule: upcr >= 1 and"))
    one_error_line(invoke("screen", P1, "-t", t, *AS_OF), f"{t}:54:24: error: syntax error at end of expression")


def test_several_rule_problems_still_give_one_line(tmp_path):
    text = LUPUS.read_text(encoding="utf-8").replace("unit: mg/mg", "unit: mg/mgx").replace("rule: upcr >= 1", "rule: x >")
    t = write(tmp_path, "r.yaml", text)
    line = one_error_line(invoke("screen", P1, "-t", t, *AS_OF), f"{t}:25:11: error: unknown unit 'mg/mgx'")
    assert line.endswith("(and 1 more problem; run 'screening check')")


@pytest.mark.parametrize("value", ["23/11/2026", "today", "", "20261123", "2026-W48-1", "2026-11-23T10:00"])
def test_bad_as_of(value):
    one_error_line(invoke("screen", P1, "-t", LUPUS, "--as-of", value),
                   f"error: --as-of {value!r}: expected a date as YYYY-MM-DD")


@pytest.mark.parametrize("value", ["2026-02-30", "2026-02-29", "2026-13-01", "2026-04-31"])
def test_as_of_that_is_no_date(value):
    one_error_line(invoke("screen", P1, "-t", LUPUS, "--as-of", value), f"error: --as-of {value!r}: no such date")


def test_bad_complete():
    one_error_line(invoke("screen", P1, "-t", LUPUS, *AS_OF, "--complete", "medications,meds"),
                   "error: --complete: unknown record part 'meds' (choose from allergies, conditions, facts, "
                   "family_history, immunizations, medications, procedures)")


def test_rule_file_that_is_not_utf8(tmp_path):
    t = tmp_path / "r.yaml"
    t.write_bytes(b"\xff\xfe\x00")
    one_error_line(invoke("screen", P1, "-t", t, *AS_OF), f"{t}:1:1: error: not UTF-8 text (byte 0xff); save the rule file as UTF-8")


def test_patient_file_that_is_not_utf8(tmp_path):
    p = tmp_path / "p.json"
    p.write_bytes(b"\xff\xfe\x00")
    one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}: error: cannot read patient file: not UTF-8 text")


# ------------------------------------------------------------------ a real process


def _run(*args: str, module: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCREENING_CACHE_DIR": ""}
    cmd = [sys.executable, "-m", "screening.cli", *args] if module else [
        str(Path(sys.executable).with_name("screening")), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_subprocess_module_screen_json():
    p = _run("screen", str(P1), "-t", str(LUPUS), *AS_OF, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"] == "undetermined"
    assert p.stderr == ""


def test_subprocess_console_script_bad_input_exit_2(tmp_path):
    script = Path(sys.executable).with_name("screening")
    if not script.exists():
        pytest.skip("console script not installed next to the interpreter")
    bad = write(tmp_path, "bad.json", "{")
    p = _run("screen", str(bad), "-t", str(LUPUS), *AS_OF, module=False)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [f"{bad}:1:2: error: invalid JSON: Expecting property name enclosed in double quotes"]
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_subprocess_check_failure(tmp_path):
    t = write(tmp_path, "r.yaml", LUPUS.read_text(encoding="utf-8").replace("rule: upcr >= 1", "rule: upcr >= 1:40"))
    p = _run("check", str(t))
    assert p.returncode == 2
    assert p.stdout.strip() == f"{t}:54:19: error: syntax error: write the titer 1:40 in quotes: '1:40'"


def test_several_patient_problems_do_not_suggest_check(tmp_path):
    p = write(tmp_path, "bad.json", json.dumps({"id": "x", "sex": "f", "observations": [{"name": "a"}]}))
    line = one_error_line(invoke("screen", p, "-t", LUPUS, *AS_OF), f"{p}:1:20: error: sex: ")
    assert line.endswith("(and 2 more problems)")  # 'screening check' reads rule files, not patients


# ------------------------------------------------------------------ help


def test_help_names_the_commands_whole_and_the_exit_status():
    r = invoke("--help")
    assert r.exit_code == 0
    lines = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  ") and line.split()}
    for command in ("screen", "check", "coverage", "schema", "convert", "batch", "synth"):
        assert not lines[command].endswith("..."), lines[command]  # no command summary cut short
    assert "Exit status: 0 when the command ran" in " ".join(r.stdout.split())


@pytest.mark.parametrize("command, shown", [
    ("screen", ["PATIENT.json", "--trial RULES.yaml", "--as-of YYYY-MM-DD", "--complete PARTS"]),
    ("batch", ["INPUT", "--out DIR", "--trial RULES.yaml", "--workers N", "--complete PARTS"]),
    ("synth", ["--n N", "--out FILE.ndjson", "--as-of YYYY-MM-DD"]),
    ("check", ["RULES.yaml"]),
    ("convert", ["BUNDLE.json"]),
])
def test_subcommand_help_names_what_each_value_is(command, shown):
    r = invoke(command, "--help")
    assert r.exit_code == 0
    for text in shown:
        assert text in r.stdout, (text, r.stdout)
    assert "<str>" not in r.stdout and "<int range>" not in r.stdout and "list[Path]" not in r.stdout.split("Arguments:")[-1].split("Options:")[-1]


def test_synth_to_a_place_it_cannot_write_is_one_located_line(tmp_path):
    one_error_line(invoke("synth", "--n", "1", "--out", tmp_path, "--as-of", "2026-11-23"),
                   f"{tmp_path}: error: cannot write: Is a directory")


def test_screen_and_convert_read_standard_input():
    """'-' reads the profile from standard input, as batch does."""
    text = P1.read_text(encoding="utf-8")
    piped = CliRunner().invoke(app, ["screen", "-", "-t", str(LUPUS), *AS_OF, "--json"], input=text)
    assert piped.exit_code == 0, piped.stderr
    assert json.loads(piped.stdout) == json.loads(invoke("screen", P1, "-t", LUPUS, *AS_OF, "--json").stdout)
    converted = CliRunner().invoke(app, ["convert", "-"], input=text)
    assert converted.exit_code == 0 and converted.stdout == invoke("convert", P1).stdout
    bad = CliRunner().invoke(app, ["screen", "-", "-t", str(LUPUS), *AS_OF], input='{"id": "x",\n')
    one_error_line(bad, "<stdin>:2:1: error: invalid JSON: ")
