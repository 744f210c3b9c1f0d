"""Load, validate and compile rule files; every problem is reported with file, line and column.

Everything that can be checked before a patient is seen is: the schema, names, units,
windows, ranges and codes (the checks in ``checks.py``), and while building: expression
syntax and names (with suggestions), record-function arguments, formulas' dimensions, and
cycles in concept sets. All problems of a file are collected before raising.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from ..errors import Problem, RuleFileError, UnitError
from ..model.rulefile import DataType, Pick, RuleFile
from ..terms.codes import ICD10_FAMILY, class_prefix_problem
from ..terms.matcher import Matcher
from ..terms.results import normalise_code
from ..values.durations import Window, parse_window
from . import checks
from . import expressions as X
from .compiled import CompiledCriterion, CompiledTrial, ConceptSpec, Equation, Formula, ItemSpec, Qualifiers
from .yamlsource import Located, load, yaml_error_problem


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


def descendants_pattern(code: str) -> str | None:
    """'icd10:G35*' for an exact ICD-10 code 'icd10:G35': the code and every code under it; None for
    codes of other systems (and for class prefixes, which already are)."""
    system, _, value = code.strip().partition(":")
    if system.lower() in ICD10_FAMILY and value and not value.endswith("*"):
        return f"{system}:{value}*" if class_prefix_problem(f"{system}:{value}*") is None else None
    return None


def concept_categories(criteria) -> dict[str, frozenset[str]]:
    """For each concept set that record functions read: the parts of the record they read it in."""
    out: dict[str, set[str]] = {}

    def walk(n) -> None:
        if isinstance(n, X.Records):
            out.setdefault(n.concept, set()).add(X.RECORD_FUNCTIONS[n.function][0])
        elif isinstance(n, X.Compare):
            for concept, category in X.source_concepts(n.source):
                out.setdefault(concept, set()).add(category)
        for child in getattr(n, "items", ()) or ():
            walk(child)
        if isinstance(n, X.Not):
            walk(n.item)

    for cc in criteria:
        for node in (cc.rule, cc.applies_if):
            if node is not None:
                walk(node)
    return {k: frozenset(v) for k, v in out.items()}


def _drug_sets(criteria) -> frozenset[str]:
    """Concept sets that record functions read among medications or immunizations."""
    return frozenset(k for k, cats in concept_categories(criteria).items()
                     if cats & {"medications", "immunizations", "allergies"})


def concept_spec(name: str, c, codes: set, names: set, classes: set, ex_codes: set, ex_names: set,
                 ex_classes: set, terms, drugs: bool = True) -> ConceptSpec:
    """A concept set expanded through the vocabularies: the drugs it covers (by code, ATC level, name
    or class) add their codes, synonyms and brands to its matcher; the excluded sets' members are
    taken out and matched apart; an OMOP vocabulary, when configured, adds descendants and products."""
    excluded_fp = terms.footprint(ex_codes, ex_names, ex_classes) if (ex_codes or ex_names or ex_classes) else None
    fp = terms.footprint(codes, names, classes, excluded=excluded_fp)
    if not drugs:  # a set of conditions or procedures: no drug of the vocabulary belongs to it
        no_drugs = dict(drugs=frozenset(), drug_classes=frozenset(), related=frozenset(), members=(),
                        excluded_drugs=frozenset())
        fp = dataclasses.replace(fp, **no_drugs)
        excluded_fp = dataclasses.replace(excluded_fp, **no_drugs) if excluded_fp is not None else None
    by_name = {d.name: d for d in terms.drugs.drugs}
    match_codes, match_names = set(codes), set(names)
    for drug in fp.drugs:
        match_codes |= set(by_name[drug].codes) if drug in by_name else set()
        match_names |= set(by_name[drug].all_names) if drug in by_name else set()
    for cid in classes:
        match_names |= set(terms.drugs.classes[cid].names)
    entry_codes, entry_names = terms.entry_terms(fp)
    match_codes |= entry_codes
    match_names |= entry_names
    match_codes |= _athena_codes(codes, terms)
    excluded = None
    if excluded_fp is not None:
        ex_match_codes, ex_match_names = set(ex_codes), set(ex_names)
        for drug in excluded_fp.drugs:
            ex_match_codes |= set(by_name[drug].codes) if drug in by_name else set()
            ex_match_names |= set(by_name[drug].all_names) if drug in by_name else set()
        ex_match_codes |= _athena_codes(ex_codes, terms)
        more_codes, more_names = terms.entry_terms(excluded_fp)
        ex_match_codes |= more_codes
        ex_match_names |= more_names
        excluded = Matcher.build(ex_match_codes, ex_match_names)
        match_codes -= ex_match_codes - set(codes)
        match_names -= ex_match_names - set(names)
        fp = dataclasses.replace(fp, excluded_matcher=excluded)
    return ConceptSpec(name, c.label or name.replace("_", " "), Matcher.build(match_codes, match_names),
                       fp, excluded, c.route, qualifiers=qualifiers_of(c))


def qualifiers_of(c) -> Qualifiers:
    """The condition qualifiers of a concept set, folded as records are (case, spaces, word order kept)."""
    from ..terms.names import words

    fold = lambda s: " ".join(s.lower().split())  # noqa: E731
    return Qualifiers(frozenset(c.clinical_status), frozenset(fold(s) for s in c.severity),
                      tuple(w for w in (tuple(words(p)) for p in c.note_words) if w))


def _athena_codes(codes: Iterable[str], terms) -> set[str]:
    """Codes an OMOP vocabulary adds to a set: every concept under its codes, and the drug products
    of its RxNorm ingredients (none without a configured vocabulary)."""
    if terms.athena is None:
        return set()
    out: set[str] = set()
    for code in codes:
        if code.endswith("*") or ":" not in code:
            continue
        for concept in terms.athena.descendants(code):
            out.add(concept.key)
        if code.lower().startswith("rxnorm:"):
            out |= {p.key for p in terms.athena.products([code])}
    return {c for c in out if ":" in c}


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
        items = self._items()
        declared = {n: frozenset(normalise_code(v) for v in i.values)
                    for n, i in self.rules.data.items() if i.values is not None}
        symbols = X.Symbols({n: i.type for n, i in self.rules.data.items()}, frozenset(self.rules.concepts), declared)
        parser = X.Parser(symbols)
        formulas = {name: (self._formula(name, item, parser) if item.derive.formula is not None
                           else self._equation(name, item))
                    for name, item in self.rules.data.items() if item.derive}
        self._derivation_cycles()
        items = {n: (ItemSpec(**{**vars(s), "formula": formulas.get(n)}) if n in formulas else s)
                 for n, s in items.items()}
        items = self._inferences(items, parser)
        criteria = self._criteria(parser)
        concepts = self._concepts(_drug_sets(criteria), concept_categories(criteria))
        self.report(checks.condition_qualifiers(self.rules, concept_categories(criteria)))
        items = _with_vocabularies(items, criteria, declared)
        for cc in criteria:  # criteria a person confirms read a fact named after the criterion
            if cc.criterion.confirm is not None:
                cid = cc.criterion.id
                own = f"{self.rules.trial.id}/{cid}"  # this trial's own confirmation beats a bare one
                item = _confirmation_item(self.rules, cid)
                items[item] = ItemSpec(item, f"confirmation of {cid}", DataType.FACT,
                                               Matcher.build([cid, own, *cc.criterion.confirmed_by], [],
                                                             preferred=[own]),
                                               None, None, None, Pick.LATEST)
        if self.problems:
            raise RuleFileError(sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0)))
        return CompiledTrial(self.rules.trial, self.rules, concepts, items, tuple(criteria), self.doc.file, digest)

    def report(self, findings) -> None:
        for f in findings:
            self.error(f.path, f.message)

    # -- concepts
    def _concepts(self, drug_sets: frozenset[str], categories: dict | None = None) -> dict[str, ConceptSpec]:
        """Concept sets expanded through the vocabularies; drugs only for sets that record
        functions read among medications or immunizations (``drug_sets``)."""
        from ..terms.vocabulary import terminology

        terms = terminology()
        out = {}
        for name, c in self.rules.concepts.items():
            path = ("concepts", name)
            self.report(checks.name_shape(name, path, self.rules))
            for check in checks.CONCEPT_CHECKS:
                self.report(check(name, c, path))
            codes, names, classes = self._expand(name, [])
            for i, cid in enumerate(c.classes):
                if cid not in terms.drugs.classes:
                    hint = X.suggest(cid, list(terms.drugs.classes))
                    self.error(path + ("classes", i), f"unknown drug class {cid!r}"
                               + (f" (did you mean {hint!r}?)" if hint else "")
                               + "; classes are listed in screening/terms/data/drugs-classes.yaml")
            classes = {k for k in classes if k in terms.drugs.classes}
            ex_codes, ex_names, ex_classes = set(), set(), set()
            for i, other in enumerate(c.exclude):
                if other not in self.rules.concepts:
                    hint = X.suggest(other, list(self.rules.concepts))
                    self.error(path + ("exclude", i), f"unknown concept set {other!r}"
                               + (f" (did you mean {hint!r}?)" if hint else ""))
                    continue
                if other == name:
                    self.error(path + ("exclude", i), f"concept set {name!r} cannot exclude itself")
                    continue
                more = self._expand(other, [name])
                ex_codes |= more[0]
                ex_names |= more[1]
                ex_classes |= {k for k in more[2] if k in terms.drugs.classes}
            out[name] = concept_spec(name, c, codes, names, classes, ex_codes, ex_names, ex_classes, terms,
                                     drugs=name in drug_sets)
            attributes = self._attributes(name, c, path, (categories or {}).get(name, set()))
            if attributes:
                out[name] = dataclasses.replace(out[name], attributes=attributes)
            if c.ask_if_named:
                from ..terms.names import words

                if not any(kind in ("dose", "daily_dose") for kind, _, _ in attributes):
                    self.error(path + ("ask_if_named",), f"concept set {name!r} has ask_if_named but no dose or "
                                                         "daily_dose threshold for it to keep open")
                out[name] = dataclasses.replace(out[name], ask_if_named=tuple(
                    w for w in (words(p) for p in c.ask_if_named) if w))
        return out

    def _attributes(self, name: str, c: Any, path: tuple, categories: set) -> tuple:
        """A concept set's medication attributes, checked: dose thresholds with a unit pint knows
        (factors precomputed), durations in ISO 8601, stop-reason words; only for drug records."""
        from ..terms.doses import parse_threshold
        from ..terms.names import words
        from ..values import units

        out = []
        for key in ("dose", "daily_dose"):
            text = getattr(c, key)
            if text is None:
                continue
            try:
                t = parse_threshold(text)
            except ValueError as err:
                self.error(path + (key,), str(err))
                continue
            if key == "daily_dose":  # '>= 250 mg/day' and '>= 250 mg/d' mean the amount a day
                for per in ("/day", "/d", "/24h"):
                    if t.unit.replace(" ", "").endswith(per):
                        t = dataclasses.replace(t, unit=t.unit.replace(" ", "")[:-len(per)])
                        break
            try:
                dim = units.dimensionality(t.unit)
            except UnitError as err:
                self.error(path + (key,), f"unknown unit {t.unit!r} in {text!r}: {err}")
                continue
            if "[time]" in str(dim):
                self.error(path + (key,), f"{key} {text!r} has a rate unit ({dim}): write the amount, e.g. '>= 250 mg'"
                           + (" (daily_dose is already a day's total)" if key == "daily_dose" else ""))
                continue
            try:
                factors = units.precomputed_factors(t.unit)
            except UnitError:
                factors = {}
            out.append((key, (t, factors), f"{'daily dose' if key == 'daily_dose' else 'dose'} {t.text}"))
        for key in ("exposure", "stable_dose"):
            text = getattr(c, key)
            if text is None:
                continue
            try:
                w = parse_window(text)
            except ValueError as err:
                self.error(path + (key,), str(err))
                continue
            out.append((key, w, f"{'taken for at least' if key == 'exposure' else 'on a stable dose for'} {w}"))
        if c.stop_reason:
            phrases = tuple(words(p) for p in c.stop_reason if words(p))
            out.append(("stop_reason", phrases, "stopped for " + " or ".join(c.stop_reason)))
        if out and categories - {"medications", "immunizations"}:
            self.error(path, f"concept set {name!r} has medication attributes (dose, daily_dose, exposure, stable_dose, "
                             f"stop_reason) but is read among {', '.join(sorted(categories))}: they apply to drug "
                             "records only")
        return tuple(out)

    def _expand(self, name: str, stack: list[str]) -> tuple[set[str], set[str], set[str]]:
        """Codes, names and drug classes of a concept set with those of the sets it includes (unknown
        and cyclic includes reported)."""
        if name in stack:
            self.error(("concepts", stack[0], "include"), "concept sets include each other: " + " -> ".join(stack + [name]))
            return set(), set(), set()
        c = self.rules.concepts[name]
        codes, names, classes = set(c.codes), set(c.names), set(c.classes)
        if c.include_descendants:
            codes |= {descendants_pattern(code) for code in c.codes if descendants_pattern(code)}
        for i, other in enumerate(c.include):
            if other not in self.rules.concepts:
                hint = X.suggest(other, list(self.rules.concepts))
                self.error(("concepts", name, "include", i), f"unknown concept set {other!r}"
                           + (f" (did you mean {hint!r}?)" if hint else ""))
                continue
            more_codes, more_names, more_classes = self._expand(other, stack + [name])
            codes |= more_codes
            names |= more_names
            classes |= more_classes
        return codes, names, classes

    # -- data items
    def _items(self) -> dict[str, ItemSpec]:
        from ..values import units

        out = {}
        for name, item in self.rules.data.items():
            path = ("data", name)
            self.report(checks.name_shape(name, path, self.rules))
            for check in checks.ITEM_CHECKS:
                self.report(check(name, item, path))
            molar_mass = _molar_mass(item)
            factors = {}
            if item.type is DataType.QUANTITY and item.unit is not None:
                try:
                    factors = units.precomputed_factors(item.unit, item.context, molar_mass)
                except UnitError:
                    pass  # reported by checks.item_unit
            out[name] = ItemSpec(name, item.label or name, item.type, Matcher.build(item.codes, item.names),
                                 item.unit, item.context, _window(item), item.pick, factors=factors,
                                 molar_mass=molar_mass, plausible=_range(item), running=item.running,
                                 due_date=Matcher.build(item.due_date, []) if item.due_date else None)
        return out

    def _formula(self, name: str, item: Any, parser: X.Parser) -> Formula | None:
        """Compile a derived item's formula: operands, dimensions and the scales that make its arithmetic exact.

        The formula is evaluated on values in SI root units (each operand scaled from its item's
        unit), so that constants, sums and differences mean what they say; the result is then
        converted from root units to the item's unit. Dimensions are checked here, once.
        """
        import rule_engine
        import rule_engine.ast as A

        from ..values import units

        path = ("data", name, "derive", "formula")
        text = item.derive.formula
        if item.type is not DataType.QUANTITY or item.unit is None:
            return None  # already reported: only quantity items with a unit can be derived
        # constants with units ('140 year', '1.73 m**2') stand in as symbols: rule-engine has no such literal
        quantities: dict[str, str] = {}

        def stand_in(m: re.Match) -> str:
            key = f"unit_constant_{len(quantities)}_"
            quantities[key] = m.group(1) if m.group(1) is not None else m.group(2)
            return key
        parsed_text = re.sub(r"'([^']*)'|\"([^\"]*)\"", stand_in, text)
        try:
            X.check_size(text)
            rule = rule_engine.Rule(parsed_text, context=None if quantities else parser.context)
        except X.ExpressionError as err:
            self.error(path, err.message)
            return None
        except rule_engine.errors.EngineError as err:
            rule = None
            if not isinstance(err, (rule_engine.errors.SymbolResolutionError, rule_engine.errors.RuleSyntaxError)):
                try:  # a type error: read it untyped, so that the check below names the operand at fault
                    rule = rule_engine.Rule(text)
                except rule_engine.errors.EngineError:
                    pass
            if rule is None:
                self.error(path, f"invalid formula: {X.engine_message(err)}")
                return None
        operands: list[str] = []
        patient: list[str] = []
        reads_sex: list[str] = []

        def conv(node: Any) -> Any:
            if isinstance(node, A.SymbolExpression) and node.name in quantities:
                return ("qconst",) + _unit_constant(quantities[node.name])
            if isinstance(node, A.SymbolExpression) and node.name == "age":
                patient.append("age")
                return ("item", "age")
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
            if isinstance(node, A.TernaryExpression):  # sex == 'female' ? 0.85 : 1
                sexes, said = _sex_condition(node.condition, quantities)
                reads_sex.append(said)
                return ("sex", sexes, conv(node.case_true), conv(node.case_false), said)
            kind = getattr(node, "type", None)
            if kind in ("add", "sub", "mul", "tdiv", "pow") and hasattr(node, "left"):
                return (kind, conv(node.left), conv(node.right))
            raise X.ExpressionError("formulas may use + - * / ** on quantity items, age, numbers and constants "
                                    "with units in quotes ('140 year'), and cases of sex (sex == 'female' ? 0.85 : 1)",
                                    None)

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
        order = tuple(dict.fromkeys(operands))
        builtins = tuple(dict.fromkeys(patient))
        try:
            units_of = {o: self.rules.data[o].unit for o in order} | {"age": "year"}
            scales, factor = _formula_scales(tree, order + builtins, units_of, item.unit)
        except UnitError as err:
            message = str(err)
            self.error(path, f"formula {text.strip()!r}" + (" " if message.startswith("gives") else ": ") + message)
            return None
        return Formula(tree, order, factor, spread, text.strip(), scales, builtins, sex=bool(reads_sex))

    def _equation(self, name: str, item: Any) -> Equation | None:
        """A named equation: known, every input given by a quantity item whose unit converts to the
        equation's, and a result that converts to the item's unit (checked here, once)."""
        from ..values import units
        from ..values.equations import EQUATIONS

        path = ("data", name, "derive")
        if item.type is not DataType.QUANTITY or item.unit is None:
            return None  # already reported: only quantity items with a unit can be derived
        eq = EQUATIONS.get(item.derive.equation)
        if eq is None:
            hint = X.suggest(item.derive.equation, sorted(EQUATIONS))
            self.error(path + ("equation",), f"unknown equation {item.derive.equation!r}"
                       + (f" (did you mean {hint!r}?)" if hint else f" (known: {', '.join(sorted(EQUATIONS))})"))
            return None
        ok = True
        for role in item.derive.inputs:
            if role not in eq.inputs:
                self.error(path + ("inputs", role), f"{eq.name} has no input {role!r} (its inputs: "
                           f"{', '.join(eq.inputs)})")
                ok = False
        scales, operands = [], []
        for role, unit in eq.inputs.items():
            source = item.derive.inputs.get(role)
            if source is None:
                self.error(path + ("inputs",), f"{eq.name} needs the input {role!r}: name the data item giving it "
                           f"(e.g. inputs: {{{role}: {role}}})")
                ok = False
                continue
            other = self.rules.data.get(source)
            if other is None or other.type is not DataType.QUANTITY or other.unit is None or source == name:
                self.error(path + ("inputs", role), f"input {role!r} must be another quantity data item with a unit, "
                           f"not {source!r}")
                ok = False
                continue
            try:
                scales.append(units.conversion_factor(other.unit, unit, other.context, _molar_mass(other)))
            except UnitError as err:
                self.error(path + ("inputs", role), f"input {role!r} ({source}, in {other.unit}) cannot be read in "
                           f"{unit}, the unit {eq.name} is defined in: {err}")
                ok = False
                continue
            operands.append(source)
        try:
            factor = units.conversion_factor(eq.unit, item.unit)
        except UnitError as err:
            self.error(path + ("equation",), f"{eq.name} gives {eq.unit}, which does not convert to the item's unit "
                       f"{item.unit!r}: {err}")
            ok = False
        try:
            spread = parse_window(item.derive.max_spread)
        except ValueError as err:
            self.error(path + ("max_spread",), str(err))
            ok = False
        if not ok:
            return None
        text = f"{eq.label} from " + ", ".join(f"{r} = {o}" for r, o in zip(eq.inputs, operands)) + ", age and sex"
        return Equation(eq.name, eq.label, tuple(eq.inputs), tuple(operands), tuple(scales), factor, spread, text)

    def _derivation_cycles(self) -> None:
        """Derived items that need each other (a1 from a2, a2 from a1) can never be computed: an error."""
        graph = {n: [o for o in (_formula_names(i.derive.formula) if i.derive.formula is not None
                                 else i.derive.inputs.values()) if o in self.rules.data and self.rules.data[o].derive]
                 for n, i in self.rules.data.items() if i.derive}
        reported: set[frozenset] = set()
        state: dict[str, int] = {}

        def visit(node: str, stack: list[str]) -> None:
            state[node] = 1
            for nxt in graph.get(node, ()):
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt):] + [nxt]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        self.error(("data", nxt, "derive", "formula" if self.rules.data[nxt].derive.formula
                                    is not None else "inputs"),
                                   "circular derived items: " + " -> ".join(cycle) + " (none can be computed)")
                elif nxt not in state:
                    visit(nxt, stack + [nxt])
            state[node] = 2

        for n in graph:
            if n not in state:
                visit(n, [n])

    # -- facts inferred from other records
    def _inferences(self, items: dict[str, ItemSpec], parser: X.Parser) -> dict[str, ItemSpec]:
        graph: dict[str, set[str]] = {}
        out = dict(items)
        for name, item in self.rules.data.items():
            path = ("data", name)
            if not item.infer and item.otherwise is None:
                continue
            if item.type is not DataType.FACT:
                self.error(path + ("infer" if item.infer else "otherwise",),
                           f"only fact items are inferred from other records ({name!r} is {item.type.value})")
                continue
            if item.otherwise is not None and not item.infer:
                self.error(path + ("otherwise",), "otherwise: needs infer: (the value when no inference holds)")
            compiled = []
            for i, inf in enumerate(item.infer):
                node = self._expr(parser, inf.when, path + ("infer", i, "when"))
                if node is None:
                    continue
                reads = set(_reads(node))
                if name in reads:
                    self.error(path + ("infer", i, "when"), f"an inference of {name!r} cannot read {name!r} itself")
                    continue
                graph.setdefault(name, set()).update(reads)
                compiled.append((node, inf.then, inf.when))
            if name in out:
                out[name] = ItemSpec(**{**vars(out[name]), "inferences": tuple(compiled), "otherwise": item.otherwise})
        for start in graph:  # a fact inferred from a fact inferred from the first would never be decided
            stack, seen = [start], set()
            while stack:
                for nxt in graph.get(stack.pop(), ()):
                    if nxt == start:
                        self.error(("data", start, "infer"), f"inferences of {start!r} lead back to {start!r}")
                        stack = []
                        break
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
        return out

    # -- criteria
    def _criteria(self, parser: X.Parser) -> list[CompiledCriterion]:
        self.report(checks.criterion_ids(self.rules, self.positions, self.all_ids))
        self.report(checks.bullet_specs(self.rules))
        out = []
        for i, c in zip(self.positions, self.rules.criteria):
            path = ("criteria", i)
            rule = self._expr(parser, c.rule, path + ("rule",)) if c.rule else None
            if c.at_least is not None:
                rule = X.AtLeast(c.at_least, tuple(k.id for k in self.rules.criteria if k.parent == c.id))
            if rule is None and c.rule is None and c.confirm is None:
                continue  # reported by checks.criterion_ids: neither a rule nor a confirmation
            applies = self._expr(parser, c.applies_if, path + ("applies_if",)) if c.applies_if else None
            if c.rule and rule is None:
                continue
            if rule is None:  # confirmation by a recorded fact named after the criterion
                rule = X.FactIs(_confirmation_item(self.rules, c.id))
            out.append(CompiledCriterion(c, rule, applies, _reads(rule) + (_reads(applies) if applies else ())))
        groups = {c.id for c in self.rules.criteria if c.at_least is not None}
        parents = {c.id: c.parent for c in self.rules.criteria}

        def root(cid: str) -> str | None:  # the outermost at_least bullet an alternative belongs to
            top, seen = None, set()
            while parents.get(cid) in groups and cid not in seen:
                seen.add(cid)
                cid = top = parents[cid]
            return top
        return [dataclasses.replace(cc, group=root(cc.criterion.id)) for cc in out]

    def _expr(self, parser: X.Parser, text: str, path: tuple) -> Any:
        try:
            node = parser.parse(text)
        except X.ExpressionError as err:
            self.error(path, err.message, err.offset)
            return None
        for n in X.walk(node):  # count_apart() counts values as recorded: not computed, not grown with time
            if isinstance(n, X.Compare) and isinstance(n.source, X.Spaced):
                item = self.rules.data[n.source.item]
                if item.derive and not (item.codes or item.names):
                    self.error(path, f"count_apart() counts recorded values: {n.source.item!r} is computed "
                                     "(derive) and has no codes or names of its own")
                elif item.running:
                    self.error(path, f"count_apart() counts recorded values: {n.source.item!r} grows with time "
                                     "(running)")
        return node


def _window(item: Any) -> Window | None:
    """The item's window, or None (none given, or unreadable: reported by checks.item_window)."""
    if item.window is None:
        return None
    try:
        return parse_window(item.window)
    except ValueError:
        return None


def _molar_mass(item: Any) -> float | None:
    """The item's molar mass in g/mol, or None (none given, or unusable: reported by checks.item_molar_mass)."""
    from ..values import units

    if item.molar_mass is None or item.type is not DataType.QUANTITY or item.context is not None \
            or not isinstance(item.molar_mass, str):
        return None
    try:
        return units.molar_mass(item.molar_mass)
    except UnitError:
        return None


def _range(item: Any) -> tuple[float | None, float | None] | None:
    """The item's plausible range (inclusive bounds in its unit, None for no bound), or None (none given,
    or unusable: reported by checks.item_range)."""
    if item.range is None or item.type is not DataType.QUANTITY:
        return None
    low, high = item.range
    if (low is None and high is None) or any(b is not None and not math.isfinite(b) for b in (low, high)) \
            or (low is not None and high is not None and low > high):
        return None
    return (None if low is None else float(low), None if high is None else float(high))


def _confirmation_item(rules: RuleFile, criterion_id: str) -> str:
    return X.CONFIRMATION + criterion_id


def _reads(node: Any) -> tuple[str, ...]:
    names = []
    for n in X.walk(node):
        if isinstance(n, X.Compare):
            names.extend(X.source_reads(n.source))
        elif isinstance(n, X.Records):
            names.append(n.concept)
        elif isinstance(n, X.FactIs):
            names.append(n.item)
    return tuple(dict.fromkeys(names))


def _formula_names(text: str) -> list[str]:
    """The names a formula reads (a cheap scan; the formula itself is checked by _formula)."""
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)


def _formula_scales(tree: Any, operands: tuple[str, ...], item_units: dict[str, str],
                    unit: str) -> tuple[tuple[float, ...], float]:
    """(factor from each operand's unit to root units, factor from root units to ``unit``) after
    checking the formula's dimensions; UnitError says what does not hold."""
    from ..values import units

    with units.REGISTRY_LOCK:  # pint's registry is shared by every thread
        ureg = units.registry()
        roots, scales = {}, []
        for o in operands:
            q = units.parse_unit(item_units[o])
            if not units.is_multiplicative(q):
                raise UnitError(f"operand {o!r} is in {item_units[o]!r}, an offset unit (a temperature scale): "
                                "formulas need units that convert by a factor (e.g. kelvin)")
            root = q.to_root_units()
            roots[o] = ureg.Quantity(1.0, root.units)
            scales.append(float(root.magnitude))
        target = units.parse_unit(unit)
        if not units.is_multiplicative(target):
            raise UnitError(f"the item's unit {unit!r} is an offset unit: a formula cannot give it")
        result = _dimensions(tree, roots, ureg)
        target_root = target.to_root_units()
        if result.dimensionality != target_root.dimensionality:
            raise UnitError(f"gives {result.dimensionality}, not the unit {unit!r} ({target_root.dimensionality})")
    return tuple(scales), 1.0 / float(target_root.magnitude)


def _unit_constant(text: str) -> tuple[float, str]:
    """A constant with its unit ('140 year', '1.73 m**2') as (magnitude in SI root units, root units)."""
    from ..values import units

    try:
        with units.REGISTRY_LOCK:
            q = units.registry().Quantity(text)
            if not units.is_multiplicative(q):
                raise X.ExpressionError(f"constant {text!r} is in an offset unit (a temperature scale)", None)
            root = q.to_root_units()
            return float(root.magnitude), str(root.units)
    except X.ExpressionError:
        raise
    except Exception as err:  # pint's parse errors are of many kinds; each is a bad constant
        raise X.ExpressionError(f"constant {text!r} is not a number with a unit ({err})", None) from None


_SEXES = frozenset({"female", "male"})


def _sex_condition(node: Any, quoted: dict[str, str]) -> tuple[frozenset, str]:
    """The sexes for which a formula's case holds (``sex == 'female'``, ``sex != 'male'``, ``sex in [...]``)
    and the condition as written; ExpressionError for any other condition. ``quoted``: the stand-ins of the
    formula's quoted texts (read as constants with units elsewhere, as words here)."""
    import rule_engine.ast as A

    def word(e: Any) -> str | None:
        if isinstance(e, A.StringExpression):
            return e.value
        return quoted.get(e.name) if isinstance(e, A.SymbolExpression) else None

    def sexes(values: list) -> frozenset:
        for v in values:
            if v.strip().lower() not in _SEXES:
                raise X.ExpressionError(f"{v!r} is not a sex a formula can test: 'female' or 'male'", None)
        return frozenset(v.strip().lower() for v in values)

    def is_sex(e: Any) -> bool:
        return isinstance(e, A.SymbolExpression) and e.name == "sex"

    if isinstance(node, A.ComparisonExpression) and node.type in ("eq", "ne"):
        left, right = (node.right, node.left) if is_sex(node.right) else (node.left, node.right)
        if is_sex(left) and word(right) is not None:
            chosen = sexes([word(right)])
            op = "==" if node.type == "eq" else "!="
            return (chosen if node.type == "eq" else _SEXES - chosen), f"sex {op} {word(right)!r}"
    if isinstance(node, A.ContainsExpression) and is_sex(node.member) and isinstance(node.container, A.ArrayExpression) \
            and all(word(e) is not None for e in node.container.value):
        values = [word(e) for e in node.container.value]
        return sexes(values), "sex in [" + ", ".join(repr(v) for v in values) + "]"
    raise X.ExpressionError("a case (? :) in a formula must test sex: sex == 'female' ? 0.85 : 1", None)


def _dim_text(q: Any) -> str:
    d = str(q.dimensionality)
    return "a plain number" if d == "dimensionless" else d


def _constant(tree: Any) -> float | None:
    """The value of a sub-formula made of numbers only, or None when it reads an item."""
    kind = tree[0]
    if kind in ("const", "qconst"):
        return tree[1]
    if kind in ("item", "sex"):
        return None
    a, b = _constant(tree[1]), _constant(tree[2])
    if a is None or b is None:
        return None
    try:
        return float(_ARITH_OPS[kind](a, b))
    except (ZeroDivisionError, OverflowError, TypeError, ValueError):
        return None


_ARITH_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
              "tdiv": lambda a, b: a / b, "pow": lambda a, b: a ** b}


def _dimensions(tree: Any, roots: dict, ureg: Any) -> Any:
    """A quantity of magnitude 1 with the formula's dimensions; UnitError where they do not hold."""
    kind = tree[0]
    if kind == "item":
        return roots[tree[1]]
    if kind == "const":
        return ureg.Quantity(1.0, "dimensionless")
    if kind == "qconst":
        return ureg.Quantity(1.0, tree[2])
    if kind == "sex":  # both cases must give the same dimension
        a, b = _dimensions(tree[2], roots, ureg), _dimensions(tree[3], roots, ureg)
        if a.dimensionality != b.dimensionality:
            raise UnitError(f"the two cases of {tree[4]} give {_dim_text(a)} and {_dim_text(b)}: both need the "
                            "same dimension")
        return a
    a, b = _dimensions(tree[1], roots, ureg), _dimensions(tree[2], roots, ureg)
    if kind in ("add", "sub"):
        if a.dimensionality != b.dimensionality:
            what = (f"add {_dim_text(a)} and {_dim_text(b)}" if kind == "add"
                    else f"subtract {_dim_text(b)} from {_dim_text(a)}")
            raise UnitError(f"cannot {what}: both sides need the same dimension")
        return a
    if kind == "mul":
        return a * b
    if kind == "tdiv":
        if _constant(tree[2]) == 0:
            raise UnitError("division by zero")
        return a / b
    exponent = _constant(tree[2])  # pow: raising to a data item has no unit
    if exponent is None:
        raise UnitError("an exponent must be a number, not a data item")
    return a ** exponent


def _with_vocabularies(items: dict[str, ItemSpec], criteria: list, declared: dict[str, frozenset]) -> dict:
    """Coded items learn which results their rules can read: the declared values, else the constants
    compared with them (with positive and negative together, as a test reports either)."""
    used: dict[str, set] = {}
    roots = [root for cc in criteria for root in (cc.rule, cc.applies_if)]
    roots += [node for spec in items.values() for node, _, _ in spec.inferences]
    for root in roots:
        for node in X.walk(root) if root is not None else ():
            if isinstance(node, X.Compare) and isinstance(node.source, X.Spaced):
                node = node.source.test  # count_apart(anti_b2gp1 == 'positive', ...) reads the item's results
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

