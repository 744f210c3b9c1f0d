"""Rule expressions: parsed and type-checked by rule-engine, then turned into a small IR.

rule-engine's own evaluation is two-valued (``null and true`` is false) and interprets its
AST on every call, so it is used only to parse and check. The accepted subset is small
and analysable (a later SQL compiler walks the same IR):

    expr     := expr and expr | expr or expr | not expr | ( expr ) | true | false
              | value OP constant | value in [constant, ...] | fact_item
              | record_function(concept [, 'P6M'])
    value    := data_item | age | sex | change(quantity_item, 'P12M') | pct_change(quantity_item, 'P12M')
              | x_uln(quantity_item) | x_lln(quantity_item)
              | days_since_onset(concept) | days_since_start(concept) | days_since_stop(concept)
              | days_since_procedure(concept)
              | count_drugs(concept [, 'P5Y']) | count_conditions(concept [, 'P5Y']) | count_procedures(...)
              | days_between(anchor, anchor)     anchor := onset_of(c) | start_of(c) | stop_of(c) | procedure_of(c)
              | count_apart(data_item OP constant, 'P4W' [, 'P1Y'])

Record functions: has_condition, history_of, onset_within, taking, ever_taken, started_within,
had_procedure, procedure_planned, vaccinated, allergic_to, family_history_of.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

from ..model.rulefile import DataType
from ..terms.results import normalise_code
from ..values.durations import Window, parse_window
from .ir import (ANCHOR_FUNCTIONS, BUILTIN_SYMBOLS, CONFIRMATION, COUNT_FUNCTIONS, ELAPSED_FUNCTIONS,
                 RECORD_FUNCTIONS, RESERVED, VALUE_FUNCTIONS, And, AtLeast, Between, Change, Compare, Const, Count,
                 Elapsed, FactIs, Item, Node, Not, Or, Records, RefRatio, Source, Spaced, source_category,
                 source_concepts, source_reads, walk)


_OPS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class ExpressionError(Exception):
    """A problem in one expression; ``offset`` is a character offset into it when known."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Symbols:
    """What names an expression may use: data items (with their types) and concept sets."""

    items: dict[str, DataType]
    concepts: frozenset[str]
    values: dict[str, frozenset[str]] = field(default_factory=dict)  # declared results of coded items (folded)


def _type_resolver(symbols: Symbols):
    from rule_engine.types import DataType as T

    types: dict[str, Any] = {"age": T.FLOAT, "sex": T.STRING}
    for name, dtype in symbols.items.items():
        types[name] = {
            DataType.QUANTITY: T.FLOAT,
            DataType.TITER: T.STRING,
            DataType.CODED: T.STRING,
            DataType.FACT: T.BOOLEAN,
        }[dtype]
    for name in symbols.concepts:
        types[name] = T.STRING
    for name, (_, window) in RECORD_FUNCTIONS.items():
        args = (T.STRING, T.STRING) if window != "none" else (T.STRING,)
        types[name] = T.FUNCTION(name, return_type=T.BOOLEAN, argument_types=args,
                                 minimum_arguments=2 if window == "required" else 1)
    for fname in ("change", "pct_change"):
        types[fname] = T.FUNCTION(fname, return_type=T.FLOAT, argument_types=(T.FLOAT, T.STRING))
    for fname in ELAPSED_FUNCTIONS:
        types[fname] = T.FUNCTION(fname, return_type=T.FLOAT, argument_types=(T.STRING,))
    for fname in COUNT_FUNCTIONS:
        types[fname] = T.FUNCTION(fname, return_type=T.FLOAT, argument_types=(T.STRING, T.STRING),
                                  minimum_arguments=1)
    for fname in ("x_uln", "x_lln"):
        types[fname] = T.FUNCTION(fname, return_type=T.FLOAT, argument_types=(T.FLOAT,))
    for fname in ANCHOR_FUNCTIONS:  # a record's day: only days_between() reads it
        types[fname] = T.FUNCTION(fname, return_type=T.DATETIME, argument_types=(T.STRING,))
    types["days_between"] = T.FUNCTION("days_between", return_type=T.FLOAT,
                                       argument_types=(T.DATETIME, T.DATETIME))
    types["count_apart"] = T.FUNCTION("count_apart", return_type=T.FLOAT,
                                      argument_types=(T.BOOLEAN, T.STRING, T.STRING), minimum_arguments=2)
    import rule_engine

    return rule_engine.type_resolver_from_dict(types)


class Parser:
    """Parses expressions for one rule file (the type context is built once)."""

    def __init__(self, symbols: Symbols):
        import rule_engine

        self.symbols = symbols
        self.context = rule_engine.Context(type_resolver=_type_resolver(symbols), default_timezone="UTC")
        self._names = sorted(set(symbols.items) | set(symbols.concepts) | RESERVED)

    def parse(self, text: str) -> Node:
        """Parse and check one expression; raise ExpressionError with an offset."""
        import rule_engine

        check_size(text)
        try:
            rule = rule_engine.Rule(text, context=self.context)
        except rule_engine.errors.SymbolResolutionError as err:
            hint = err.suggestion or suggest(err.symbol_name, self._names)
            msg = f"unknown name {err.symbol_name!r}" + (f" (did you mean {hint!r}?)" if hint else "")
            raise ExpressionError(msg, _find_word(text, err.symbol_name)) from None
        except rule_engine.errors.RuleSyntaxError as err:
            token = getattr(err, "token", None)
            offset = getattr(token, "lexpos", None) if token is not None else len(text.rstrip())
            titer = _BARE_TITER.search(text)
            if titer:  # ana >= 1:40 -- a titer is a string constant in a rule
                raise ExpressionError(f"syntax error: write the titer {titer.group(0)} in quotes: '{titer.group(0)}'", titer.start()) from None
            near = f" near {token.value!r}" if token is not None else " at end of expression"
            # rule-engine's own "at: line 1:14" is a position inside the expression; ours is in the file
            inner = re.sub(r"\s*at: (line \d+:\d+|EOF)$", "", err.message)  # a position inside the expression
            inner = re.sub(r"^syntax error\s*", "", inner).strip().strip("()")
            detail = f": {inner}" if inner else ""
            if "illegal character '='" in inner:
                detail += " (compare with ==)"
            raise ExpressionError(f"syntax error{near}{detail}", offset) from None
        except rule_engine.errors.FunctionCallError as err:
            name = getattr(err, "function_name", None)
            usage = f" (write {_USAGE[name]})" if name in _USAGE else ""
            raise ExpressionError(f"{name}(): {err.message}{usage}", _find_word(text, name or "")) from None
        except rule_engine.errors.EngineError as err:
            raise self._explain(text, err) from None
        except RecursionError:  # a last guard: check_size keeps real expressions far from this
            raise ExpressionError("expression nested too deeply", 0) from None
        return _Converter(self.symbols, text).convert(rule.statement.expression)

    def _explain(self, text: str, err: Any) -> ExpressionError:
        """Name the offending side of a type error (titer vs number...) by converting an untyped parse."""
        import rule_engine

        try:
            _Converter(self.symbols, text).convert(rule_engine.Rule(text).statement.expression)
        except ExpressionError as better:
            return better
        except rule_engine.errors.EngineError:
            pass
        message = engine_message(err)
        if "division by zero" in message:
            return ExpressionError("invalid expression: division by zero", None)
        return ExpressionError(f"invalid expression: {message} (check the types of both sides)", None)


_USAGE = {  # how a function whose arguments are not plain names is called, for its type errors
    "count_apart": "count_apart(fasting_glucose >= 126, 'P4W'), with an optional window: 'P4W', 'P1Y'",
    "days_between": "days_between(onset_of(set), start_of(set)); the days are onset_of, start_of, stop_of and "
                    "procedure_of a concept set",
}
_BARE_TITER = re.compile(r"(?<![\w'\":/.])1\s*:\s*\d+(?![\w'\"])")


def suggest(name: str, names: list[str]) -> str | None:
    hits = difflib.get_close_matches(name, names, n=1)
    return hits[0] if hits else None


def _find_word(text: str, word: str) -> int | None:
    if not word:
        return None
    m = re.search(rf"(?<![\w$]){re.escape(word)}(?!\w)", text)
    return m.start() if m else None


class _Converter:
    """rule-engine AST -> IR, rejecting constructs outside the analysable subset."""

    def __init__(self, symbols: Symbols, text: str):
        self.symbols = symbols
        self.text = text

    def fail(self, message: str, word: str | None = None) -> ExpressionError:
        return ExpressionError(message, _find_word(self.text, word) if word else None)

    def convert(self, node: Any) -> Node:
        import rule_engine.ast as A

        if isinstance(node, A.LogicExpression):
            left, right = self.convert(node.left), self.convert(node.right)
            cls = And if node.type == "and" else Or
            items = []
            for part in (left, right):
                items.extend(part.items if isinstance(part, cls) else (part,))
            return cls(tuple(items))
        if isinstance(node, A.UnaryExpression) and node.type == "not":
            return Not(self.convert(node.right))
        if isinstance(node, A.BooleanExpression):
            return Const(bool(node.value))
        if isinstance(node, A.SymbolExpression):
            dtype = self.symbols.items.get(node.name)
            if dtype is DataType.FACT:
                return FactIs(node.name)
            raise self.fail(f"{node.name!r} is not a yes/no fact: compare it with a value", node.name)
        if isinstance(node, A.ComparisonExpression):  # includes ArithmeticComparisonExpression
            return self._compare(node)
        if isinstance(node, A.ContainsExpression):
            return self._contains(node)
        if isinstance(node, A.FunctionCallExpression):
            return self._record_call(node)
        raise self.fail(f"not supported in rules: {type(node).__name__.replace('Expression', '').lower()} expression")

    # -- comparisons
    def _compare(self, node: Any) -> Compare:
        import rule_engine.ast as A

        op = _OPS.get(node.type)
        if op is None:
            raise self.fail(f"operator {node.type!r} is not supported in rules")
        left, right = node.left, node.right
        if isinstance(left, A.LiteralExpressionBase) and not isinstance(right, A.LiteralExpressionBase):
            left, right, op = right, left, _FLIP[op]
        source = self._source(left)
        if not isinstance(right, A.LiteralExpressionBase):
            raise self.fail("compare a data item with a constant (both sides are data)")
        return Compare(source, op, self._constant(source, right.value, op), _written(right.value))

    def _contains(self, node: Any) -> Compare:
        import rule_engine.ast as A

        if not isinstance(node.container, A.ArrayExpression):
            raise self.fail("'in' needs a list of constants on the right, e.g. ln_class in ['III', 'IV']")
        source = self._source(node.member)
        values, written = [], []
        for element in node.container.value:
            if not isinstance(element, A.LiteralExpressionBase):
                raise self.fail("'in' lists may hold constants only")
            values.append(self._constant(source, element.value, "in"))
            written.append(_written(element.value))
        return Compare(source, "in", tuple(values), tuple(written))

    def _source(self, node: Any) -> Source:
        import rule_engine.ast as A

        if isinstance(node, A.SymbolExpression):
            if node.name in BUILTIN_SYMBOLS:
                return Item(node.name)
            dtype = self.symbols.items.get(node.name)
            if dtype is None:
                raise self.fail(f"{node.name!r} is a concept set, not a value: use it in a function", node.name)
            if dtype is DataType.FACT:
                raise self.fail(f"{node.name!r} is a fact: use it alone (or with not), not in a comparison", node.name)
            return Item(node.name)
        if isinstance(node, A.FunctionCallExpression) and _fname(node) in ("change", "pct_change"):
            fname = _fname(node)
            item = self._symbol_arg(node, 0)
            if self.symbols.items.get(item) is not DataType.QUANTITY:
                raise self.fail(f"{fname}() needs a quantity data item, not {item!r}", item)
            return Change(item, self._window_arg(node, 1, fname), fname == "pct_change")
        if isinstance(node, A.FunctionCallExpression) and _fname(node) in ELAPSED_FUNCTIONS:
            fname = _fname(node)
            concept = self._symbol_arg(node, 0)
            if concept not in self.symbols.concepts:
                raise self.fail(f"{fname}() needs a concept set, not {concept!r}", concept)
            return Elapsed(fname, concept)
        if isinstance(node, A.FunctionCallExpression) and _fname(node) in COUNT_FUNCTIONS:
            fname = _fname(node)
            concept = self._symbol_arg(node, 0)
            if concept not in self.symbols.concepts:
                raise self.fail(f"{fname}() needs a concept set, not {concept!r}", concept)
            window = self._window_arg(node, 1, fname) if len(node.arguments) > 1 else None
            return Count(fname, concept, window)
        if isinstance(node, A.FunctionCallExpression) and _fname(node) == "days_between":
            return Between(self._anchor(node, 0), self._anchor(node, 1))
        if isinstance(node, A.FunctionCallExpression) and _fname(node) == "count_apart":
            return self._spaced(node)
        if isinstance(node, A.FunctionCallExpression) and _fname(node) in ("x_uln", "x_lln"):
            fname = _fname(node)
            item = self._symbol_arg(node, 0)
            if self.symbols.items.get(item) is not DataType.QUANTITY:
                raise self.fail(f"{fname}() needs a quantity data item (a lab result with a unit), not {item!r}", item)
            return RefRatio(item, "high" if fname == "x_uln" else "low")
        if isinstance(node, A.FunctionCallExpression) and _fname(node) in ANCHOR_FUNCTIONS:
            fname = _fname(node)
            raise self.fail(f"{fname}() is a day, not a number: compare days with days_between({fname}(...), ...) "
                            f"or use {ANCHOR_FUNCTIONS[fname]}(...)", fname)
        raise self.fail("the left side of a comparison must be a data item, age, sex, change(...), pct_change(...), "
                        "x_uln(...), x_lln(...), days_since_...(...), days_between(...), count_...(...) or "
                        "count_apart(...)")

    def _anchor(self, node: Any, i: int) -> Elapsed:
        """An end of days_between(): onset_of(c), start_of(c), stop_of(c) or procedure_of(c)."""
        import rule_engine.ast as A

        arg = node.arguments[i]
        fname = _fname(arg) if isinstance(arg, A.FunctionCallExpression) else None
        if fname not in ANCHOR_FUNCTIONS:
            raise self.fail(f"days_between(): argument {i + 1} must be a record's day: "
                            + ", ".join(f"{a}(concept)" for a in ANCHOR_FUNCTIONS), "days_between")
        concept = self._symbol_arg(arg, 0)
        if concept not in self.symbols.concepts:
            raise self.fail(f"{fname}() needs a concept set, not {concept!r}", concept)
        return Elapsed(ANCHOR_FUNCTIONS[fname], concept)

    def _spaced(self, node: Any) -> Spaced:
        """count_apart(item OP constant, 'P4W' [, 'P1Y']): the test is a comparison of a recorded data item."""
        import rule_engine.ast as A

        test = node.arguments[0]
        if not isinstance(test, (A.ComparisonExpression, A.ContainsExpression)):
            raise self.fail("count_apart(): the first argument must compare a data item with a constant, "
                            "e.g. count_apart(fasting_glucose >= 126, 'P4W')", "count_apart")
        compare = self._compare(test) if isinstance(test, A.ComparisonExpression) else self._contains(test)
        src = compare.source
        item = src.name if isinstance(src, Item) else None
        dtype = self.symbols.items.get(item) if item is not None else None
        if dtype not in (DataType.QUANTITY, DataType.TITER, DataType.CODED):
            raise self.fail("count_apart(): the first argument must compare a recorded data item (a quantity, "
                            "titer or coded result), not " + (repr(item) if item else "a computed value"),
                            item or "count_apart")
        apart = self._window_arg(node, 1, "count_apart")
        window = self._window_arg(node, 2, "count_apart") if len(node.arguments) > 2 else None
        return Spaced(compare, apart, window)

    def _constant(self, source: Source, value: Any, op: str) -> Any:
        name = source.name if isinstance(source, Item) else source.item
        if isinstance(source, (Change, RefRatio, Elapsed, Count, Between, Spaced)):
            dtype = DataType.QUANTITY
            name = {Between: "days_between", Spaced: "count_apart"}.get(type(source)) or getattr(source, "function",
                                                                                                name)
        else:
            dtype = DataType(BUILTIN_SYMBOLS[name]) if name in BUILTIN_SYMBOLS else self.symbols.items[name]
        if dtype is DataType.QUANTITY:
            if not isinstance(value, (Decimal, int, float)) or isinstance(value, bool):
                raise self.fail(f"{name} is a number: compare it with a number, not {_show(value)}", name)
            return float(value)
        if dtype is DataType.TITER:
            from ..values.units import parse_titer

            dilution = parse_titer(value) if isinstance(value, str) else None
            if dilution is None:
                raise self.fail(f"{name} is a titer: compare it with a titer such as '1:80', not {_show(value)}", name)
            return dilution
        if not isinstance(value, str):
            raise self.fail(f"{name} is coded text: compare it with a string, not {_show(value)}", name)
        if op not in ("==", "!=", "in"):
            raise self.fail(f"{name} is coded text: use ==, != or in, not {op}", name)
        code = normalise_code(value)
        known = self.symbols.values.get(name)
        if known is not None and code not in known:
            raise self.fail(f"{value!r} is not one of the values of {name} ({', '.join(sorted(known))})", name)
        return code

    # -- record functions
    def _record_call(self, node: Any) -> Records:
        name = _fname(node)
        if name not in RECORD_FUNCTIONS:
            raise self.fail(f"{name}() is not a yes/no function", name)
        _, window_rule = RECORD_FUNCTIONS[name]
        concept = self._symbol_arg(node, 0)
        if concept not in self.symbols.concepts:
            raise self.fail(f"{name}() needs a concept set as its first argument, not {concept!r}", concept)
        window = self._window_arg(node, 1, name) if len(node.arguments) > 1 else None
        return Records(name, concept, window)

    def _symbol_arg(self, node: Any, i: int) -> str:
        import rule_engine.ast as A

        arg = node.arguments[i]
        if not isinstance(arg, A.SymbolExpression):
            raise self.fail(f"{_fname(node)}(): argument {i + 1} must be a name", _fname(node))
        return arg.name

    def _window_arg(self, node: Any, i: int, fname: str) -> Window:
        import rule_engine.ast as A

        arg = node.arguments[i]
        if not isinstance(arg, A.StringExpression):
            raise self.fail(f"{fname}(): the window must be a constant such as 'P6M'", fname)
        try:
            return parse_window(arg.value)
        except ValueError as err:
            raise self.fail(f"{fname}(): {err}", fname) from None


def _show(value: Any) -> str:
    """A constant as written in a rule: 80, 0.5, 'x'."""
    return str(value) if isinstance(value, Decimal) else repr(value)


def _written(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _fname(node: Any) -> str:
    return getattr(node.function, "name", "?")


MAX_OPERATORS = 200  # far above any real criterion; deeper trees exhaust the parser's and converter's stacks
MAX_NESTING = 50  # parentheses and brackets
_OPERATOR = re.compile(r"\b(?:and|or|not)\b|\*\*|[-+*/%]|==|!=|<=|>=|=~|!~|[<>]")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_REGEX_OPS = re.compile(r"=~~?|!~~?")


def check_size(text: str) -> None:
    """Refuse, before rule-engine sees it, an expression too big to analyse safely, or one using
    a regular expression (rule-engine evaluates constant regexes while parsing, with no time limit)."""
    code = _STRING.sub(lambda m: " " * len(m.group(0)), text)  # operators inside string constants do not count
    regex = _REGEX_OPS.search(code)
    if regex:
        raise ExpressionError(f"regular expressions ({regex.group(0)}) are not supported in rules: compare with "
                              "==, != or in", regex.start())
    count = len(_OPERATOR.findall(code))
    if count > MAX_OPERATORS:
        raise ExpressionError(f"expression too long: {count} operators (at most {MAX_OPERATORS}); split the "
                              "criterion, or use a concept set or 'in [...]'", 0)
    depth = deepest = 0
    for i, ch in enumerate(code):
        if ch in "([":
            depth += 1
            if depth > deepest:
                deepest = depth
                if depth > MAX_NESTING:
                    raise ExpressionError(f"expression nested too deeply (more than {MAX_NESTING} levels of "
                                          "brackets)", i)
        elif ch in ")]":
            depth -= 1


def engine_message(err: Any) -> str:
    """rule-engine's message for an error, without its 'check the types' guess when arithmetic failed."""
    return str(getattr(err, "message", err))
