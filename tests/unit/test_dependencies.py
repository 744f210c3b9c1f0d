"""The code relies on rule-engine's syntax-tree classes and on a few pint behaviours that are
not promised by their documentation: this test fails loudly, naming what changed, when an
upgrade breaks them; and every runtime dependency is capped below its next major version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _runtime_dependencies() -> list[str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def test_every_runtime_dependency_has_an_upper_bound_that_the_installed_version_meets():
    import importlib.metadata

    from packaging.requirements import Requirement

    for spec in _runtime_dependencies():
        req = Requirement(spec)
        uppers = [s for s in req.specifier if s.operator in ("<", "<=")]
        assert uppers, f"{req.name}: no upper bound ({spec!r}): a new major version may break it unseen"
        assert all(s.operator == "<" and re.fullmatch(r"\d+(\.0)*|0\.\d+", s.version) for s in uppers), \
            f"{req.name}: the upper bound must be a major version (a 0.x minor one) ({spec!r})"
        installed = importlib.metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} is outside {spec!r}"


# (class name, attributes the rule front end reads)
RULE_ENGINE_AST = [
    ("LogicExpression", ("type", "left", "right")),
    ("UnaryExpression", ("type", "right")),
    ("ComparisonExpression", ("type", "left", "right")),
    ("ArithmeticComparisonExpression", ("type", "left", "right")),
    ("SymbolExpression", ("name",)),
    ("FunctionCallExpression", ("function", "arguments")),
    ("ContainsExpression", ("container", "member")),
    ("ArrayExpression", ("value",)),
    ("BooleanExpression", ("value",)),
    ("FloatExpression", ("value",)),
    ("StringExpression", ("value",)),
    ("LiteralExpressionBase", ()),
]


def _parse(text: str, **types):
    import rule_engine
    from rule_engine.types import DataType as T

    resolver = rule_engine.type_resolver_from_dict({k: getattr(T, v) for k, v in types.items()})
    return rule_engine.Rule(text, context=rule_engine.Context(type_resolver=resolver)).statement.expression


def test_rule_engine_syntax_tree_classes_are_as_the_front_end_reads_them():
    import rule_engine.ast as A

    for name, _ in RULE_ENGINE_AST:
        assert hasattr(A, name), f"rule_engine.ast.{name} is gone: the rule front end must be updated"
    node = _parse("(x >= 1 and not f) or s in ['a', 'b']", x="FLOAT", f="BOOLEAN", s="STRING")
    assert isinstance(node, A.LogicExpression) and node.type == "or"
    left, right = node.left, node.right
    assert isinstance(left, A.LogicExpression) and left.type == "and"
    assert isinstance(left.left, A.ArithmeticComparisonExpression) and left.left.type == "ge"
    assert isinstance(left.left.left, A.SymbolExpression) and left.left.left.name == "x"
    assert isinstance(left.left.right, A.FloatExpression) and left.left.right.value == 1
    assert isinstance(left.right, A.UnaryExpression) and left.right.type == "not"
    assert isinstance(right, A.ContainsExpression) and isinstance(right.container, A.ArrayExpression)
    assert [e.value for e in right.container.value] == ["a", "b"] and right.member.name == "s"
    arith = _parse("x * 2 + x", x="FLOAT")
    assert arith.type == "add" and arith.left.type == "mul" and arith.left.right.value == 2
    assert {_parse(f"x {op} 2", x="FLOAT").type for op in "+-*/"} | {_parse("x ** 2", x="FLOAT").type} \
        == {"add", "sub", "mul", "tdiv", "pow"}
    for cls in (A.StringExpression, A.FloatExpression, A.BooleanExpression):
        assert issubclass(cls, A.LiteralExpressionBase)


def test_rule_engine_errors_the_front_end_catches_exist():
    import rule_engine.errors as E

    for name in ("EngineError", "RuleSyntaxError", "SymbolResolutionError", "FunctionCallError", "EvaluationError"):
        assert hasattr(E, name), f"rule_engine.errors.{name} is gone"
    with pytest.raises(E.SymbolResolutionError) as err:
        _parse("agee > 1", age="FLOAT")
    assert err.value.symbol_name == "agee"


def test_pint_behaviours_the_unit_code_relies_on():
    import pint

    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
    ureg.define("hba1c_test_ifcc = [hba1c_test]")
    ureg.define("hba1c_test_ngsp = 10.93 * hba1c_test_ifcc; offset: -23.5")
    q = ureg.Quantity(7.0, "hba1c_test_ngsp").to("hba1c_test_ifcc")
    assert q.magnitude == pytest.approx(7.0 * 10.93 - 23.5), "pint's offset units changed meaning"
    assert ureg.Quantity(0, "degC").to("kelvin").magnitude == pytest.approx(273.15)
    with pytest.raises(pint.errors.DimensionalityError):
        ureg.Quantity(1, "kg").to("m")
    with pytest.raises(pint.errors.DimensionalityError):
        ureg.Quantity(1, "kg") + ureg.Quantity(1, "dimensionless")
    assert str(ureg.parse_expression("kg / m ** 2").dimensionality) == "[mass] / [length] ** 2"
