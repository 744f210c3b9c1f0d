"""Rule expressions parse to a small IR; errors carry offsets and suggestions."""

from __future__ import annotations

import pytest

from screening.rules import expressions as X
from screening.values.durations import Window
from screening.model.rulefile import DataType

SYMBOLS = X.Symbols(
    {"upcr": DataType.QUANTITY, "ana": DataType.TITER, "dsdna": DataType.CODED, "pregnant": DataType.FACT},
    frozenset({"cyclophosphamide", "malignancy"}),
)


@pytest.fixture(scope="module")
def parser():
    return X.Parser(SYMBOLS)


def C(name, op, const):
    return X.Compare(X.Item(name), op, const)


@pytest.mark.parametrize("text, ir", [
    ("upcr >= 1", C("upcr", ">=", 1.0)),
    ("upcr >= 0.5", C("upcr", ">=", 0.5)),
    ("1 <= upcr", C("upcr", ">=", 1.0)),          # constant on the left is flipped
    ("2 > upcr", C("upcr", "<", 2.0)),
    ("age != 40", C("age", "!=", 40.0)),
    ("sex == 'female'", C("sex", "==", "female")),
    ("ana >= '1:80'", C("ana", ">=", 80.0)),       # titers compare by dilution
    ("ana < '1/40'", C("ana", "<", 40.0)),
    ("dsdna == 'Positive'", C("dsdna", "==", "positive")),
    ("dsdna == 'Detected'", C("dsdna", "==", "positive")),
    ("dsdna == 'NOT detected'", C("dsdna", "==", "negative")),
    ("dsdna in ['III', 'iv']", C("dsdna", "in", ("iii", "iv"))),
    ("pregnant", X.FactIs("pregnant")),
    ("not pregnant", X.Not(X.FactIs("pregnant"))),
    ("true", X.Const(True)),
    ("false", X.Const(False)),
    ("started_within(cyclophosphamide, 'P6M')", X.Records("started_within", "cyclophosphamide", Window(months=6))),
    ("taking(cyclophosphamide)", X.Records("taking", "cyclophosphamide", None)),
    ("history_of(malignancy, 'P5Y')", X.Records("history_of", "malignancy", Window(years=5))),
    ("has_condition(malignancy)", X.Records("has_condition", "malignancy", None)),
    ("vaccinated(malignancy, 'P2W')", X.Records("vaccinated", "malignancy", Window(weeks=2))),
    ("change(upcr, 'P12M') >= 0.5", X.Compare(X.Change("upcr", Window(months=12)), ">=", 0.5)),
    ("age >= 18 and age <= 75", X.And((C("age", ">=", 18.0), C("age", "<=", 75.0)))),
    ("upcr > 1 and (age > 2 and age < 9)",  # nested and is flattened
     X.And((C("upcr", ">", 1.0), C("age", ">", 2.0), C("age", "<", 9.0)))),
    ("pregnant or upcr > 1 or age < 3", X.Or((X.FactIs("pregnant"), C("upcr", ">", 1.0), C("age", "<", 3.0)))),
    ("pregnant and (upcr > 1 or age < 3)",
     X.And((X.FactIs("pregnant"), X.Or((C("upcr", ">", 1.0), C("age", "<", 3.0)))))),
    ("not (pregnant or ana >= '1:40')", X.Not(X.Or((X.FactIs("pregnant"), C("ana", ">=", 40.0))))),
])
def test_parse_to_ir(parser, text, ir):
    assert parser.parse(text) == ir


@pytest.mark.parametrize("text, message, offset", [
    ("upcrr >= 1", "unknown name 'upcrr' (did you mean 'upcr'?)", 0),
    ("age >= 18 and upcrr >= 1", "unknown name 'upcrr' (did you mean 'upcr'?)", 14),
    ("taking(cyclophosphamid)", "unknown name 'cyclophosphamid' (did you mean 'cyclophosphamide'?)", 7),
    ("started_witin(cyclophosphamide, 'P6M')", "unknown name 'started_witin' (did you mean 'started_within'?)", 0),
    ("zzzzzz > 1", "unknown name 'zzzzzz'", 0),
    ("upcr >= ", "syntax error at end of expression", 7),
    ("upcr >= 1 and and age > 2", "syntax error near 'and'", 14),
    ("ana >= 1:40", "syntax error: write the titer 1:40 in quotes: '1:40'", 7),   # bare titer
    ("dsdna > 'a'", "dsdna is coded text: use ==, != or in, not >", 0),
    ("age >= 18 and dsdna > 'a'", "dsdna is coded text: use ==, != or in, not >", 14),
    ("upcr", "'upcr' is not a yes/no fact: compare it with a value", 0),
    ("pregnant == true", "'pregnant' is a fact: use it alone (or with not), not in a comparison", 0),
    ("started_within(cyclophosphamide)", "started_within(): expected at least 2 positional arguments", 0),
    ("started_within(cyclophosphamide, 'P6X')", "started_within(): invalid duration 'P6X'", 0),
    ("ana >= '1:0'", "ana is a titer: compare it with a titer such as '1:80', not '1:0'", 0),
    ("ana >= '<1:40'", "ana is a titer: compare it with a titer such as '1:80', not '<1:40'", 0),
    # type errors name the offending item (rule-engine alone says only "data type mismatch")
    ("ana >= 80", "ana is a titer: compare it with a titer such as '1:80', not 80", 0),
    ("age >= 18 and ana > 40", "ana is a titer: compare it with a titer such as '1:80', not 40", 14),
    ("upcr >= 'x'", "upcr is a number: compare it with a number, not 'x'", 0),
    ("dsdna == 1", "dsdna is coded text: compare it with a string, not 1", 0),
    ("cyclophosphamide >= 1", "'cyclophosphamide' is a concept set, not a value: use it in a function", 0),
    ("upcr >= upcr", "compare a data item with a constant (both sides are data)", None),
    ("upcr + 1 >= 2", "the left side of a comparison must be a data item, age, sex, change(...), pct_change(...), x_uln(...), x_lln(...), days_since_...(...), days_between(...), count_...(...) or count_apart(...)", None),
])
def test_errors_with_offsets(parser, text, message, offset):
    with pytest.raises(X.ExpressionError) as err:
        parser.parse(text)
    assert err.value.message.startswith(message)
    assert err.value.offset == offset


def test_error_offsets_point_at_the_name(parser):
    text = "age > 1 and taking(cyclophosphamid, 'P1M')"
    with pytest.raises(X.ExpressionError) as err:
        parser.parse(text)
    assert text[err.value.offset:].startswith("cyclophosphamid,")


@pytest.mark.parametrize("value, code", [
    ("Positive", "positive"), ("  DETECTED ", "positive"), ("reactive", "positive"), ("+", "positive"),
    ("Not   Detected", "negative"), ("non-reactive", "negative"), ("neg", "negative"),
    ("Class  III", "class iii"), (3, "3"),
])
def test_normalise_code(value, code):
    assert X.normalise_code(value) == code


def test_walk_visits_every_node(parser):
    ir = parser.parse("not (pregnant or ana >= '1:40') and taking(cyclophosphamide)")
    kinds = [type(n).__name__ for n in X.walk(ir)]
    assert kinds == ["And", "Not", "Or", "FactIs", "Compare", "Records"]


@pytest.mark.parametrize("text", ["upcr >= 1 and and age > 2", "upcr >= 1)", "upcr >="])
def test_syntax_errors_do_not_quote_positions_inside_the_expression(parser, text):
    with pytest.raises(X.ExpressionError) as err:
        parser.parse(text)
    assert "line 1:" not in err.value.message and "EOF" not in err.value.message
