"""Load, validate and compile rule files; every problem is reported with file, line and column.

Compilation checks everything that can be checked before a patient is seen: the schema,
expression syntax and names (with suggestions), record-function arguments, windows,
units and their compatibility, formulas' dimensions, and cycles in concept sets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import expressions as X
from .compiled import CompiledCriterion, CompiledTrial, ConceptSpec, Formula, ItemSpec
from .durations import parse_window
from .errors import Problem, RuleFileError, UnitError
from .models.criteria import NAME_PATTERN, DataType, Pick, RuleFile
from .records import Matcher, class_prefix_problem
from .yamlsource import Located, load, yaml_error_problem
import re

_NAME = re.compile(NAME_PATTERN)


def load_criteria(path: str | Path) -> CompiledTrial:
    """Read, validate and compile a rule file. Raises RuleFileError listing every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RuleFileError(Problem(f"cannot read rule file: {err.strerror}", str(path))) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise RuleFileError(Problem(f"not UTF-8 text (byte 0x{data[err.start]:02x}); save the rule file as UTF-8",
                                    str(path), line, column)) from None
    return compile_text(text, str(path))


def compile_text(text: str, file: str = "<rules>") -> CompiledTrial:
    """Validate and compile rule-file text (``file`` names it in messages)."""
    try:
        doc = load(text, file)
    except yaml.YAMLError as err:
        raise RuleFileError(yaml_error_problem(err, file)) from None
    if not isinstance(doc.data, dict):
        raise RuleFileError(Problem("a rule file must be a mapping with trial, concepts, data and criteria", file, 1, 1))
    try:
        rules = RuleFile.model_validate(doc.data)
    except ValidationError as err:
        problems = _schema_problems(err, doc) + _check_valid_criteria(err, doc)
        raise RuleFileError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0))) from None
    return _Compiler(rules, doc).compile(hashlib.sha256(text.encode()).hexdigest())


def _check_valid_criteria(err: ValidationError, doc: Located) -> list[Problem]:
    """When only some criteria break the schema, still check everything else, so that all problems show at once."""
    raw = doc.data.get("criteria")
    bad = set()
    for e in err.errors():
        loc = tuple(e["loc"])
        if len(loc) < 2 or loc[0] != "criteria" or not isinstance(loc[1], int) or not isinstance(raw, list):
            return []  # trial, concepts or data are broken: their names cannot be trusted
        bad.add(loc[1])
    keep = [i for i in range(len(raw)) if i not in bad]
    try:
        rules = RuleFile.model_validate({**doc.data, "criteria": [raw[i] for i in keep]})
    except ValidationError:
        return []
    ids = {c.get("id") for c in raw if isinstance(c, dict)}
    try:
        _Compiler(rules, doc, keep, ids).compile("")
    except RuleFileError as more:
        return more.problems
    return []


def _schema_problems(err: ValidationError, doc: Located) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = tuple(e["loc"])
        where = ".".join(str(p) for p in loc) or "file"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r}"
        elif e["type"] == "missing":
            msg = f"missing required field {loc[-1]!r}"
        problems.append(doc.problem(loc, f"{where}: {msg}"))
    return problems


class _Compiler:
    def __init__(self, rules: RuleFile, doc: Located, positions: list[int] | None = None,
                 all_ids: set | None = None):
        self.rules, self.doc = rules, doc
        self.problems: list[Problem] = []
        # when some criteria were left out (schema errors): their index in the file, and every id in it
        self.positions = positions or list(range(len(rules.criteria)))
        self.all_ids = all_ids or set()

    def error(self, path: tuple, message: str, offset: int | None = None) -> None:
        self.problems.append(self.doc.problem(path, message, offset))

    def compile(self, digest: str) -> CompiledTrial:
        concepts = self._concepts()
        items = self._items()
        declared = {n: frozenset(X.normalise_code(v) for v in i.values)
                    for n, i in self.rules.data.items() if i.values is not None}
        symbols = X.Symbols({n: i.type for n, i in self.rules.data.items()}, frozenset(self.rules.concepts), declared)
        parser = X.Parser(symbols)
        formulas = {name: self._formula(name, item, parser) for name, item in self.rules.data.items() if item.derive}
        items = {n: (ItemSpec(**{**vars(s), "formula": formulas.get(n)}) if n in formulas else s)
                 for n, s in items.items()}
        criteria = self._criteria(parser)
        items = _with_vocabularies(items, criteria, declared)
        for cc in criteria:  # criteria a person confirms read a fact named after the criterion
            if cc.criterion.confirm is not None:
                cid = cc.criterion.id
                own = f"{self.rules.trial.id}/{cid}"  # this trial's own confirmation beats a bare one
                item = _confirmation_item(self.rules, cid)
                items[item] = ItemSpec(item, f"confirmation of {cid}", DataType.FACT,
                                               Matcher.build([cid, own], [], preferred=[own]),
                                               None, None, None, Pick.LATEST)
        if self.problems:
            raise RuleFileError(sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0)))
        return CompiledTrial(self.rules.trial, self.rules, concepts, items, tuple(criteria), self.doc.file, digest)

    # -- concepts
    def _concepts(self) -> dict[str, ConceptSpec]:
        out = {}
        for name, c in self.rules.concepts.items():
            path = ("concepts", name)
            self._check_name(name, path)
            if not (c.codes or c.names or c.include):
                self.error(path, f"concept set {name!r} has no codes, names or include")
            for i, code in enumerate(c.codes):
                if ":" not in code:
                    self.error(path + ("codes", i), f"code {code!r} needs a system prefix, e.g. rxnorm:3002")
                elif "*" in code and (problem := class_prefix_problem(code)):
                    self.error(path + ("codes", i), problem)
            codes, names = self._expand(name, [])
            out[name] = ConceptSpec(name, c.label or name.replace("_", " "), Matcher.build(codes, names))
        return out

    def _expand(self, name: str, stack: list[str]) -> tuple[set[str], set[str]]:
        if name in stack:
            self.error(("concepts", stack[0], "include"), "concept sets include each other: " + " -> ".join(stack + [name]))
            return set(), set()
        c = self.rules.concepts[name]
        codes, names = set(c.codes), set(c.names)
        for i, other in enumerate(c.include):
            if other not in self.rules.concepts:
                hint = X._suggest(other, list(self.rules.concepts))
                self.error(("concepts", name, "include", i), f"unknown concept set {other!r}"
                           + (f" (did you mean {hint!r}?)" if hint else ""))
                continue
            more_codes, more_names = self._expand(other, stack + [name])
            codes |= more_codes
            names |= more_names
        return codes, names

    def _check_name(self, name: str, path: tuple) -> None:
        if not _NAME.match(name):
            self.error(path, f"name {name!r} must be lower_snake_case (letters, digits, _)")
        if name in X.RESERVED:
            self.error(path, f"name {name!r} is reserved (a built-in symbol or function)")
        if name in self.rules.concepts and name in self.rules.data:
            self.error(path, f"name {name!r} is both a concept set and a data item")

    # -- data items
    def _items(self) -> dict[str, ItemSpec]:
        from . import units

        out = {}
        for name, item in self.rules.data.items():
            path = ("data", name)
            self._check_name(name, path)
            window = None
            if item.window is not None:
                try:
                    window = parse_window(item.window)
                except ValueError as err:
                    self.error(path + ("window",), str(err))
            if item.type is DataType.QUANTITY:
                if item.unit is None:
                    self.error(path, f"quantity item {name!r} needs a unit (use '1' for plain numbers)")
                else:
                    try:
                        units.parse_unit(item.unit)
                    except UnitError as err:
                        self.error(path + ("unit",), str(err))
                if item.context is not None:
                    try:
                        units.check_context(item.context)
                    except UnitError as err:
                        self.error(path + ("context",), str(err))
            elif item.unit is not None and item.type is not DataType.TITER:
                self.error(path + ("unit",), f"{item.type.value} items have no unit")
            if item.values is not None and item.type is not DataType.CODED:
                self.error(path + ("values",), f"{item.type.value} items have no list of values (only coded items)")
            molar_mass = self._molar_mass(name, item, path)
            plausible = self._range(item, path)
            if not (item.codes or item.names or item.derive):
                self.error(path, f"data item {name!r} needs codes or names (or derive)")
            if item.derive and item.type is not DataType.QUANTITY:
                self.error(path + ("derive",), "only quantity items can be derived")
            for i, code in enumerate(item.codes):
                if ":" not in code:
                    self.error(path + ("codes", i), f"code {code!r} needs a system prefix, e.g. loinc:2890-5")
                elif "*" in code:
                    self.error(path + ("codes", i), f"code {code!r}: class prefixes ('*') are for concept sets; "
                                                    "a data item lists its codes exactly")
            factors = {}
            if item.type is DataType.QUANTITY and item.unit is not None:
                try:
                    factors = units.precomputed_factors(item.unit, item.context, molar_mass)
                except UnitError:
                    pass  # reported above
            out[name] = ItemSpec(name, item.label or name, item.type, Matcher.build(item.codes, item.names),
                                 item.unit, item.context, window, item.pick, factors=factors,
                                 molar_mass=molar_mass, plausible=plausible)
        return out

    def _quantity_field(self, item: Any, value: Any, where: tuple, other_types_have: str) -> bool:
        """Is a quantity-only field given, and on a quantity item? (an error if on another type)"""
        if value is None:
            return False
        if item.type is not DataType.QUANTITY:
            self.error(where, f"{item.type.value} items have {other_types_have}")
            return False
        return True

    def _molar_mass(self, name: str, item: Any, path: tuple) -> float | None:
        """The item's molar mass in g/mol (validated: a mass per amount of substance), or None."""
        from . import units

        where = path + ("molar_mass",)
        if not self._quantity_field(item, item.molar_mass, where, "no molar mass (only quantities are converted)"):
            return None
        if item.context is not None:
            self.error(where, f"data item {name!r} has both a context and a molar mass: give one of them")
            return None
        if not isinstance(item.molar_mass, str):
            self.error(where, f"molar mass {item.molar_mass} needs its unit, e.g. '{item.molar_mass} g/mol'")
            return None
        try:
            return units.molar_mass(item.molar_mass)
        except UnitError as err:
            self.error(where, str(err))
            return None

    def _range(self, item: Any, path: tuple) -> tuple[float | None, float | None] | None:
        """The item's plausible range (inclusive bounds in its unit, None for no bound), or None."""
        import math

        from . import units

        where = path + ("range",)
        if not self._quantity_field(item, item.range, where, "no plausible range (only quantities do)"):
            return None
        low, high = item.range
        if low is None and high is None:
            self.error(where, "a plausible range needs at least one bound (null means no bound)")
            return None
        for i, bound in enumerate((low, high)):
            if bound is not None and not math.isfinite(bound):
                self.error(where + (i,), f"range bound {bound} is not a finite number (use null for no bound)")
                return None
        if low is not None and high is not None and low > high:
            self.error(where, f"range lower bound {units.format_number(low)} is above its upper bound "
                              f"{units.format_number(high)}")
            return None
        return (None if low is None else float(low), None if high is None else float(high))

    def _formula(self, name: str, item: Any, parser: X.Parser) -> Formula | None:
        import rule_engine
        import rule_engine.ast as A

        from . import units

        path = ("data", name, "derive", "formula")
        text = item.derive.formula
        if item.type is not DataType.QUANTITY or item.unit is None:
            return None  # already reported: only quantity items with a unit can be derived
        try:
            rule = rule_engine.Rule(text, context=parser._context)
        except rule_engine.errors.EngineError as err:
            rule = None
            if not isinstance(err, (rule_engine.errors.SymbolResolutionError, rule_engine.errors.RuleSyntaxError)):
                try:  # a type error: read it untyped, so that the check below names the operand at fault
                    rule = rule_engine.Rule(text)
                except rule_engine.errors.EngineError:
                    pass
            if rule is None:
                self.error(path, f"invalid formula: {getattr(err, 'message', err)}")
                return None
        operands: list[str] = []

        def conv(node: Any) -> Any:
            if isinstance(node, A.SymbolExpression):
                other = self.rules.data.get(node.name)
                if other is None or other.type is not DataType.QUANTITY or other.unit is None:
                    raise X.ExpressionError(f"formula operand {node.name!r} must be a quantity data item", None)
                if node.name == name:
                    raise X.ExpressionError("a formula cannot use its own item", None)
                operands.append(node.name)
                return ("item", node.name)
            if isinstance(node, A.FloatExpression):
                return ("const", float(node.value))
            kind = getattr(node, "type", None)
            if kind in ("add", "sub", "mul", "tdiv", "pow") and hasattr(node, "left"):
                return (kind, conv(node.left), conv(node.right))
            raise X.ExpressionError("formulas may use + - * / ** on quantity items and numbers", None)

        try:
            tree = conv(rule.statement.expression)
        except X.ExpressionError as err:
            self.error(path, err.message)
            return None
        try:
            spread = parse_window(item.derive.max_spread)
        except ValueError as err:
            self.error(("data", name, "derive", "max_spread"), str(err))
            return None
        # Dimensional check: evaluate the formula on one canonical unit of each operand.
        try:
            with units.REGISTRY_LOCK:  # pint's registry is shared by every thread
                values = {o: units.parse_unit(self.rules.data[o].unit) for o in operands}
                result = _eval_quantity(tree, values, units.registry())
                target = units.parse_unit(item.unit)
                factor = float(result.to(target.units).magnitude) / float(target.magnitude)
        except UnitError as err:
            self.error(path, str(err))
            return None
        except Exception as err:  # pint's DimensionalityError and friends
            self.error(path, f"formula {text!r} gives {getattr(result, 'dimensionality', '?')}, "
                             f"not the unit {item.unit!r}: {err}")
            return None
        return Formula(tree, tuple(dict.fromkeys(operands)), factor, spread, text.strip())

    # -- criteria
    def _criteria(self, parser: X.Parser) -> list[CompiledCriterion]:
        seen: dict[str, int] = {}
        out = []
        ids = {c.id for c in self.rules.criteria} | self.all_ids
        for i, c in zip(self.positions, self.rules.criteria):
            path = ("criteria", i)
            if c.id in seen:
                self.error(path + ("id",), f"duplicate criterion id {c.id!r} (first at criteria[{seen[c.id]}])")
            seen.setdefault(c.id, i)
            if c.parent is not None and c.parent not in ids and c.bullet is None:
                self.error(path + ("parent",), f"parent {c.parent!r} is not a criterion id (and no bullet text given)")
            rule = self._expr(parser, c.rule, path + ("rule",)) if c.rule else None
            if rule is None and c.rule is None:
                if c.confirm is None:
                    self.error(path, f"criterion {c.id!r} needs a rule, or confirm: with the reason a person decides it")
                    continue
                rule = None
            applies = self._expr(parser, c.applies_if, path + ("applies_if",)) if c.applies_if else None
            if c.rule and rule is None:
                continue
            if rule is None:  # confirmation by a recorded fact named after the criterion
                rule = X.FactIs(_confirmation_item(self.rules, c.id))
            out.append(CompiledCriterion(c, rule, applies, _reads(rule) + (_reads(applies) if applies else ())))
        return out

    def _expr(self, parser: X.Parser, text: str, path: tuple) -> Any:
        try:
            return parser.parse(text)
        except X.ExpressionError as err:
            self.error(path, err.message, err.offset)
            return None


def _confirmation_item(rules: RuleFile, criterion_id: str) -> str:
    return X.CONFIRMATION + criterion_id


def _reads(node: Any) -> tuple[str, ...]:
    names = []
    for n in X.walk(node):
        if isinstance(n, X.Compare):
            names.append(n.source.name if isinstance(n.source, X.Item) else n.source.item)
        elif isinstance(n, X.Records):
            names.append(n.concept)
        elif isinstance(n, X.FactIs):
            names.append(n.item)
    return tuple(dict.fromkeys(names))


def _eval_quantity(tree: Any, values: dict, ureg: Any) -> Any:
    kind = tree[0]
    if kind == "item":
        return values[tree[1]]
    if kind == "const":
        return ureg.Quantity(tree[1], "dimensionless")
    a, b = _eval_quantity(tree[1], values, ureg), _eval_quantity(tree[2], values, ureg)
    if kind == "pow":
        return a ** b.magnitude
    return {"add": a.__add__, "sub": a.__sub__, "mul": a.__mul__, "tdiv": a.__truediv__}[kind](b)


def _with_vocabularies(items: dict[str, ItemSpec], criteria: list, declared: dict[str, frozenset]) -> dict:
    """Coded items learn which results their rules can read: the declared values, else the constants
    compared with them (with positive and negative together, as a test reports either)."""
    used: dict[str, set] = {}
    for cc in criteria:
        for root in (cc.rule, cc.applies_if):
            for node in X.walk(root) if root is not None else ():
                if isinstance(node, X.Compare) and isinstance(node.source, X.Item) and node.source.name in items:
                    const = node.constant
                    used.setdefault(node.source.name, set()).update(const if node.op == "in" else (const,))
    out = {}
    for name, spec in items.items():
        if spec.dtype is DataType.CODED:
            known = set(declared.get(name, ())) | used.get(name, set())
            if known & {"positive", "negative"}:
                known |= {"positive", "negative"}
            spec = ItemSpec(**{**vars(spec), "vocabulary": frozenset(known)})
        out[name] = spec
    return out

