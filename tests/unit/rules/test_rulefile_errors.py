"""Bad rule files, each paired with the exact message and line:column it must produce."""

from __future__ import annotations

import pytest

from screening import RuleFileError, compile_text, load_criteria

BASE = """\
format: 1
trial:
  id: T-1
  title: Test
concepts:
  cyclophosphamide:
    names: [cyclophosphamide]
data:
  upcr:
    codes: [loinc:2890-5]
    unit: mg/mg
    context: creatinine_ratio
  ana:
    type: titer
    names: [ANA]
criteria:
  - id: c1
    kind: inclusion
    text: UPCR at least 1
    rule: upcr >= 1
"""
RULE = "rule: upcr >= 1"
DUPLICATE = "  - id: c1\n    kind: exclusion\n    text: again\n    rule: upcr < 5\n"


def problems(text: str, file: str = "t.yaml") -> list[str]:
    with pytest.raises(RuleFileError) as err:
        compile_text(text, file)
    return [str(p) for p in err.value.problems]


def test_base_file_is_valid():
    trial = compile_text(BASE, "t.yaml")
    assert trial.id == "T-1" and [c.criterion.id for c in trial.criteria] == ["c1"]


CASES = [
    ("syntax error", BASE.replace(RULE, "rule: upcr >= 1 and and ana"),
     "t.yaml:20:25: error: syntax error near 'and'"),
    ("unknown name with suggestion", BASE.replace(RULE, "rule: age >= 18 and upcrr >= 1"),
     "t.yaml:20:25: error: unknown name 'upcrr' (did you mean 'upcr'?)"),
    ("unknown concept in a function", BASE.replace(RULE, "rule: taking(cyclophosphamid)"),
     "t.yaml:20:18: error: unknown name 'cyclophosphamid' (did you mean 'cyclophosphamide'?)"),
    ("unknown field", BASE.replace("    text: UPCR at least 1\n", "    text: UPCR at least 1\n    rules: x\n"),
     "t.yaml:20:12: error: criteria.0.rules: unknown field 'rules'"),
    ("missing field", BASE.replace("    kind: inclusion\n", ""),
     "t.yaml:17:5: error: criteria.0.kind: missing required field 'kind'"),
    ("bad kind", BASE.replace("kind: inclusion", "kind: inclusive"),
     "t.yaml:18:11: error: criteria.0.kind: Input should be 'inclusion' or 'exclusion'"),
    ("bad unit", BASE.replace("unit: mg/mg", "unit: mg/mgx"),
     "t.yaml:11:11: error: unknown unit 'mg/mgx': 'mgx' is not defined in the unit registry"),
    ("bad unit context", BASE.replace("context: creatinine_ratio", "context: creatinine"),
     "t.yaml:12:14: error: unknown unit context 'creatinine'"),
    ("incompatible formula dimensions",
     BASE.replace("  ana:\n", "  pf:\n    unit: mmHg\n    derive: {formula: upcr * 2}\n  ana:\n"),
     "t.yaml:15:23: error: formula 'upcr * 2' gives dimensionless, not the unit 'mmHg'"),
    ("formula on a non-quantity", BASE.replace("  ana:\n", "  pf:\n    unit: mmHg\n    derive: {formula: ana * 2}\n  ana:\n"),
     "t.yaml:15:23: error: formula operand 'ana' must be a quantity data item"),
    ("unknown concept in include",
     BASE.replace("    names: [cyclophosphamide]\n",
                  "    names: [cyclophosphamide]\n  alkylating:\n    include: [cyclophosphamid]\n"),
     "t.yaml:9:15: error: unknown concept set 'cyclophosphamid' (did you mean 'cyclophosphamide'?)"),
    ("duplicate criterion id", BASE + DUPLICATE,
     "t.yaml:21:9: error: duplicate criterion id 'c1' (first at criteria[0])"),
    ("bad window in a rule", BASE.replace(RULE, "rule: started_within(cyclophosphamide, 'P6X')"),
     "t.yaml:20:11: error: started_within(): invalid duration 'P6X': use ISO 8601 such as 'P6M', 'P12M', 'P3Y', "
     "'P2W', 'P30D'"),
    ("bad window of a data item",
     BASE.replace("    context: creatinine_ratio\n", "    context: creatinine_ratio\n    window: 3 fortnights\n"),
     "t.yaml:13:13: error: invalid duration '3 fortnights'"),
    ("missing window", BASE.replace(RULE, "rule: started_within(cyclophosphamide)"),
     "t.yaml:20:11: error: started_within(): expected at least 2 positional arguments"),
    ("titer compared with a number", BASE.replace(RULE, "rule: ana >= 80"),
     "t.yaml:20:11: error: ana is a titer: compare it with a titer such as '1:80', not 80"),
    ("unquoted titer inside a rule", BASE.replace(RULE, "rule: ana >= 1:40"),
     "t.yaml:20:18: error: syntax error: write the titer 1:40 in quotes: '1:40'"),
    ("number compared with text", BASE.replace(RULE, "rule: upcr >= 'high'"),
     "t.yaml:20:11: error: upcr is a number: compare it with a number, not 'high'"),
    ("quantity without a unit", BASE.replace("    unit: mg/mg\n", ""),
     "t.yaml:10:5: error: quantity item 'upcr' needs a unit (use '1' for plain numbers)"),
    ("code without a system", BASE.replace("loinc:2890-5", "2890-5"),
     "t.yaml:10:13: error: code '2890-5' needs a system prefix, e.g. loinc:2890-5"),
    ("criterion with neither rule nor confirm", BASE.replace("    " + RULE + "\n", ""),
     "t.yaml:17:5: error: criterion 'c1' needs a rule, or confirm: with the reason a person decides it"),
    ("reserved name", BASE.replace("  ana:\n", "  age:\n    names: [age]\n    unit: a\n  ana:\n"),
     "t.yaml:14:5: error: name 'age' is reserved (a built-in symbol or function)"),
    ("empty rule", BASE.replace(RULE, "rule: ' '"),
     "t.yaml:20:11: error: criteria.0.rule: Value error, expression is empty"),
    ("parent that is no criterion", BASE.replace(RULE, RULE + "\n    parent: nope"),
     "t.yaml:21:13: error: parent 'nope' is not a criterion id (and no bullet text given)"),
    ("name not lower_snake_case", BASE.replace("  ana:\n", "  Bad_Name:\n    names: [x]\n    unit: kg\n  ana:\n"),
     "t.yaml:14:5: error: name 'Bad_Name' must be lower_snake_case (letters, digits, _)"),
    ("single = in applies_if", BASE.replace(RULE, RULE + "\n    applies_if: sex = 'female'"),
     "t.yaml:21:21: error: syntax error near \"= 'female'\": illegal character '=' (compare with ==)"),
    ("coded item with a unit", BASE.replace("    names: [ANA]\n", "    names: [ANA]\n  d:\n    type: coded\n"
                                                                   "    names: [d]\n    unit: kg\n"),
     "t.yaml:19:11: error: coded items have no unit"),
    ("derived titer", BASE.replace("    names: [ANA]\n", "    names: [ANA]\n    derive: {formula: upcr * 2}\n"),
     "t.yaml:16:13: error: only quantity items can be derived"),
    ("bad max_spread", BASE.replace("  ana:\n", "  pf:\n    unit: mg/mg\n    derive: {formula: upcr * 2, max_spread: soon}\n"
                                                "  ana:\n"),
     "t.yaml:15:45: error: invalid duration 'soon'"),
    ("unsupported format", BASE.replace("format: 1", "format: 2"), "t.yaml:1:9: error: format: Input should be 1"),
    ("no criteria", BASE.split("criteria:")[0] + "criteria: []\n",
     "t.yaml:16:11: error: criteria: List should have at least 1 item"),
    ("invalid YAML", BASE.replace("  title: Test", "  title: [Test"),
     "t.yaml:5:9: error: invalid YAML: while parsing a flow sequence expected ',' or ']', but got ':'"),
    ("duplicate YAML key", BASE.replace("  title: Test", "  title: Test\n  title: Again"),
     "t.yaml:5:3: error: duplicate key 'title'"),
    ("not a mapping", "- just\n- a list\n", "t.yaml:1:1: error: a rule file must be a mapping"),
]


@pytest.mark.parametrize("text, expected", [(t, e) for _, t, e in CASES], ids=[name for name, _, _ in CASES])
def test_bad_rule_file_message_and_position(text, expected):
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_unquoted_titer_in_yaml_values_stays_text():
    """YAML 1.1 reads a bare 1:80 as the base-60 number 4880; the loader keeps it as written."""
    text = BASE.replace("text: UPCR at least 1", "text: 1:80").replace(RULE, "rule: \"ana >= '1:80'\"")
    trial = compile_text(text, "t.yaml")
    assert trial.criteria[0].criterion.text == "1:80"
    from screening import screen

    r = screen({"id": "p", "observations": [{"name": "ANA", "value": "1:80", "date": "2026-11-01"}]}, trial,
               as_of="2026-11-23")
    assert r.criteria[0].status.value == "pass"


def test_all_problems_of_a_file_are_reported_in_order():
    text = (BASE.replace("unit: mg/mg", "unit: mg/mgx").replace(RULE, "rule: upcrr >= 1")
            + "  - id: c2\n    kind: exclusion\n    text: t\n    rule: ana >= 80\n"
            + "  - id: c2\n    kind: exclusion\n    text: t\n    rule: started_within(cyclophosphamide, 'P6X')\n")
    found = problems(text)
    assert [p.split(": error: ")[0] for p in found] == ["t.yaml:11:11", "t.yaml:20:11", "t.yaml:24:11",
                                                         "t.yaml:25:9", "t.yaml:28:11"]
    assert [p.split(": error: ")[1].split(":")[0].split(" (")[0] for p in found] == [
        "unknown unit 'mg/mgx'", "unknown name 'upcrr'", "ana is a titer", "duplicate criterion id 'c2'",
        "started_within()"]


def test_all_schema_problems_are_reported():
    text = (BASE.replace("    kind: inclusion\n", "    kind: inclusion\n    bogus: 1\n")
            + "  - id: c2\n    text: no kind\n    rule: upcr < 5\n").replace("  title: Test", "  titel: Test")
    found = problems(text)
    assert found == [
        "t.yaml:3:3: error: trial.title: missing required field 'title'",
        "t.yaml:4:10: error: trial.titel: unknown field 'titel'",
        "t.yaml:19:12: error: criteria.0.bogus: unknown field 'bogus'",
        "t.yaml:22:5: error: criteria.1.kind: missing required field 'kind'",
    ]


def test_load_criteria_names_the_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BASE.replace(RULE, "rule: upcrr >= 1"), encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_criteria(f)
    assert str(err.value) == f"{f}:20:11: error: unknown name 'upcrr' (did you mean 'upcr'?)"


def test_missing_rule_file_is_a_rule_file_error(tmp_path):
    with pytest.raises(RuleFileError) as err:
        load_criteria(tmp_path / "nope.yaml")
    assert str(err.value) == f"{tmp_path / 'nope.yaml'}: error: cannot read rule file: No such file or directory"


def test_multiline_rule_error_points_into_the_right_line():
    text = BASE.replace(RULE, "rule: >-\n      upcr >= 1\n      and upcrr < 9")
    assert problems(text) == ["t.yaml:22:11: error: unknown name 'upcrr' (did you mean 'upcr'?)"]


def test_concept_cycle_is_reported_from_each_member():
    text = BASE.replace("    names: [cyclophosphamide]\n",
                        "    names: [cyclophosphamide]\n  a:\n    include: [b]\n  b:\n    include: [a]\n")
    assert problems(text) == ["t.yaml:9:14: error: concept sets include each other: a -> b -> a",
                              "t.yaml:11:14: error: concept sets include each other: b -> a -> b"]


def test_formula_with_an_unknown_operand_suggests_a_name():
    text = BASE.replace("  ana:\n", "  pf:\n    unit: mg/mg\n    derive: {formula: upc * 2}\n  ana:\n")
    (msg,) = problems(text)
    assert msg.startswith("t.yaml:15:23: error: invalid formula: ") and "upc" in msg


def test_schema_errors_in_some_criteria_do_not_hide_the_other_problems():
    text = (BASE.replace("unit: mg/mg", "unit: mg/mgx").replace("    kind: inclusion\n", "    kind: inclusion\n    bogus: 1\n")
            + "  - id: c2\n    kind: exclusion\n    text: t\n    rule: ana >= 80\n    parent: c1\n"
            + "  - id: c2\n    kind: exclusion\n    text: t\n    rule: started_within(cyclophosphamide, 'P6X')\n"
            + "  - id: c4\n    text: no kind\n    rule: upcr < 5\n"
            + "  - id: c5\n    kind: exclusion\n    text: fine\n    rule: upcrr < 5\n")
    assert problems(text) == [
        "t.yaml:11:11: error: unknown unit 'mg/mgx': 'mgx' is not defined in the unit registry",
        "t.yaml:19:12: error: criteria.0.bogus: unknown field 'bogus'",
        "t.yaml:25:11: error: ana is a titer: compare it with a titer such as '1:80', not 80",
        "t.yaml:27:9: error: duplicate criterion id 'c2' (first at criteria[1])",   # index in the file
        "t.yaml:30:11: error: started_within(): invalid duration 'P6X': use ISO 8601 such as 'P6M', 'P12M', "
        "'P3Y', 'P2W', 'P30D'",
        "t.yaml:31:5: error: criteria.3.kind: missing required field 'kind'",
        "t.yaml:37:11: error: unknown name 'upcrr' (did you mean 'upcr'?)",
    ]  # and no complaint that parent 'c1' (a criterion with a schema error) does not exist


def test_a_rule_file_that_is_not_utf8_is_located_by_load_and_by_the_cache(tmp_path, monkeypatch):
    from screening.rules.cache import load_criteria_cached

    path = tmp_path / "latin.yaml"
    path.write_bytes(b"format: 1\ntrial: {id: T, title: caf\xe9}\n")
    monkeypatch.setenv("SCREENING_CACHE_DIR", str(tmp_path / "cache"))
    for load in (load_criteria, load_criteria_cached):
        with pytest.raises(RuleFileError) as err:
            load(path)
        assert str(err.value) == f"{path}:2:26: error: not UTF-8 text (byte 0xe9); save the rule file as UTF-8"
