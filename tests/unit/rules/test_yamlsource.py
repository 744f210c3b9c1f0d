"""The YAML loader: no YAML 1.1 surprises, and a position for every value."""

from __future__ import annotations

import pytest
import yaml

from screening.errors import RuleFileError
from screening.rules.yamlsource import load, yaml_error_problem

DOC = """\
trial:
  id: T-1
  titer: 1:40
  answer: no
  flags: [yes, on, off, No]
  when: 2026-11-23
  n: 12
  x: 1.5
  t: true
  empty: ~
  nested:
    - name: first
      value: 1:160
    - name: second
"""


@pytest.fixture(scope="module")
def doc():
    return load(DOC, "rules.yaml")


def test_titer_stays_a_string(doc):
    assert doc.data["trial"]["titer"] == "1:40"
    assert doc.data["trial"]["nested"][0]["value"] == "1:160"


def test_yes_no_on_off_stay_strings(doc):
    assert doc.data["trial"]["answer"] == "no"
    assert doc.data["trial"]["flags"] == ["yes", "on", "off", "No"]


def test_dates_stay_strings_and_plain_scalars_keep_their_types(doc):
    t = doc.data["trial"]
    assert t["when"] == "2026-11-23"
    assert (t["n"], t["x"], t["t"], t["empty"]) == (12, 1.5, True, None)
    assert type(t["n"]) is int and type(t["x"]) is float


@pytest.mark.parametrize("path, line, column", [
    (("trial",), 2, 3),
    (("trial", "titer"), 3, 10),
    (("trial", "flags", 2), 5, 20),
    (("trial", "nested", 0, "value"), 13, 14),
    (("trial", "nested", 1, "name"), 14, 13),
    (("trial", "nested", 1), 14, 7),
    (("trial", "no_such_key"), 2, 3),  # nearest known ancestor
])
def test_positions_of_nested_values(doc, path, line, column):
    p = doc.problem(path, "msg")
    assert (p.file, p.line, p.column) == ("rules.yaml", line, column)
    assert str(p) == f"rules.yaml:{line}:{column}: error: msg"


def test_offset_inside_a_scalar_points_at_the_character():
    d = load("rule: ana >= 1 and bogus > 2\n", "r.yaml")
    p = d.problem(("rule",), "m", offset=len("ana >= 1 and "))
    assert (p.line, p.column) == (1, len("rule: ana >= 1 and ") + 1)


def test_offset_inside_a_folded_multiline_scalar():
    d = load("rule: >-\n  ana >= 1\n  and bogus > 2\n", "r.yaml")
    assert d.data["rule"] == "ana >= 1 and bogus > 2"
    p = d.problem(("rule",), "m", offset=d.data["rule"].index("bogus"))
    assert (p.line, p.column) == (3, 7)


def test_duplicate_keys_are_problems_with_positions():
    with pytest.raises(RuleFileError) as err:
        load("a: 1\nb: 2\na: 3\n", "dup.yaml")
    assert [str(p) for p in err.value.problems] == ["dup.yaml:3:1: error: duplicate key 'a'"]


def test_yaml_syntax_error_is_located():
    with pytest.raises(yaml.YAMLError) as err:
        load("a: [1, 2\nb: 3\n", "bad.yaml")
    p = yaml_error_problem(err.value, "bad.yaml")
    assert p.file == "bad.yaml" and p.line is not None and p.column is not None
    assert p.message.startswith("invalid YAML: ")


def test_safe_loading_executes_nothing(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(RuleFileError) as err:  # refused where it stands, never read as data or called
        load(f"a: !!python/object/apply:os.system ['touch {marker}']\n", "evil.yaml")
    assert str(err.value.problems[0]).startswith("evil.yaml:1:4: error: unknown YAML tag")
    assert not marker.exists()


def test_python_tags_on_scalars_are_rule_file_errors():
    from screening import compile_text

    with pytest.raises(RuleFileError) as err:
        compile_text("trial: !!python/name:os.system\n", "evil.yaml")
    (p,) = err.value.problems
    assert (p.file, p.line, p.column) == ("evil.yaml", 1, 8)
    assert "unknown YAML tag" in p.message


def test_alias_bombs_are_refused_quickly():
    import time

    from screening import compile_text

    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]  # 10**9 values
    started = time.monotonic()
    with pytest.raises(RuleFileError) as err:
        compile_text("\n".join(lines) + "\n", "bomb.yaml")
    assert time.monotonic() - started < 20
    (p,) = err.value.problems
    assert p.file == "bomb.yaml" and p.line is not None
    assert "more than 50000 values (YAML aliases expanding)" in p.message


def test_ordinary_aliases_still_work():
    d = load("codes: &c [a, b]\nother: *c\n", "a.yaml")
    assert d.data == {"codes": ["a", "b"], "other": ["a", "b"]}
