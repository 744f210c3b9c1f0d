"""A compiled trial's IR planned for SQL: one column per atom (its Kleene value, NULL for unknown, and a
flag that refers the person to the Python path), and each criterion's status as a SQL expression.

SQL's NULL carries unknown: AND / OR / NOT are Kleene's. An atom the SQL cannot decide exactly for
some person (a value derived by a formula, change(), the extreme of values recorded as bounds, a
person's recorded confirmation) sets its refer flag for that person only, and that person's
criterion is re-screened on the Python path: never evaluated differently. ``Plan.report`` says
which atoms refer and when, for ``screening population --explain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlglot.expressions as E

from ..model.rulefile import DataType, Kind, Pick
from ..rules import ir as X
from ..rules.compiled import CompiledTrial


@dataclass
class Atom:
    """One leaf of a rule, shared by every criterion (of any trial) that uses the same leaf."""

    name: str  # column prefix: a0, a1, ...
    trial: CompiledTrial
    node: Any
    refers: str | None = None  # when (and why) this atom refers a person to the Python path
    siblings: tuple[str, ...] = ()  # a record function's other concept sets of the criterion (fail-safe)
    # an inferred fact: per inference (its Kleene value, the newest date of the evidence that made it
    # hold, the fact's value when it holds), computed over the columns of the atoms it reads
    inferences: list[tuple[E.Expression, E.Expression, bool]] | None = None


@dataclass
class CriterionPlan:
    trial: str
    id: str
    kind: str
    status: E.Expression  # 'pass' | 'fail' | 'unknown' as a SQL CASE
    refer: E.Expression  # TRUE when the Python path decides this person's criterion
    atoms: list[str]
    pending_if_unknown: bool  # a criterion only a person confirms: unknown awaits confirmation only
    untranslated: str | None = None  # why the Python path decides it for every person
    parent: str | None = None  # the bullet it is a part of
    # whether it applies and whether its rule holds (Kleene booleans), as its bullet reads them; an
    # alternative of an at_least bullet carries the outermost bullet's
    applies: E.Expression | None = None
    holds: E.Expression | None = None
    decider: str | None = None  # the one atom its rule reads, whose value and date say what decided it
    unit: str | None = None  # the unit of that atom's value (a comparison's item)


@dataclass
class BulletPlan:
    """A bullet whose parts combine by the rule file's own and/or: its status from the parts'."""

    trial: str
    id: str
    status: E.Expression  # 'pass' | 'fail' | 'unknown' as a SQL CASE


@dataclass
class Plan:
    atoms: dict[tuple, Atom] = field(default_factory=dict)
    criteria: list[CriterionPlan] = field(default_factory=list)
    untranslated: list[tuple[str, str, str]] = field(default_factory=list)  # (trial, criterion, why)
    bullets: list[BulletPlan] = field(default_factory=list)

    def atom(self, trial: CompiledTrial, node: Any, siblings: tuple[str, ...] = ()) -> Atom:
        key = (trial.id, node, siblings)
        a = self.atoms.get(key)
        if a is None:
            a = self.atoms[key] = Atom(f"a{len(self.atoms)}", trial, node, siblings=siblings)
            a.refers = _refers(trial, node)
        return a

    def report(self) -> list[dict]:
        """Per criterion: 'sql' when SQL decides it for everyone, else when it refers to the Python path."""
        out = []
        for c in self.criteria:
            if c.untranslated:
                out.append({"trial": c.trial, "criterion": c.id, "path": "python (every person)",
                            "refers": [c.untranslated]})
                continue
            why = [self.by_name[a].refers for a in c.atoms if self.by_name[a].refers]
            out.append({"trial": c.trial, "criterion": c.id, "path": "sql" if not why else "sql, some persons python",
                        "refers": list(dict.fromkeys(why))})
        return out

    @property
    def by_name(self) -> dict[str, Atom]:
        return {a.name: a for a in self.atoms.values()}


class Untranslated(Exception):
    """A rule the SQL path does not translate: its criterion is decided on the Python path for everyone."""


def _refers(trial: CompiledTrial, node: Any) -> str | None:
    if isinstance(node, X.Compare) and isinstance(node.source, X.Change):
        if node.op == "in":
            return f"change({node.source.item}) in a list: persons with two or more values in the window"
        if node.source.percent:
            return (f"pct_change({node.source.item}): persons whose percent change lies within a billionth of "
                    f"{node.constant} (Python rounds it to 12 digits)")
        return None  # the latest minus the earliest value, in SQL
    if isinstance(node, X.Compare) and isinstance(node.source, X.RefRatio):
        return None  # every record the pick rule selects has its ratio in SQL (or none: unknown on both paths)
    if isinstance(node, X.Compare) and node.source.name not in ("age", "sex"):
        spec = trial.items[node.source.name]
        if spec.formula is not None:
            return (f"{spec.name} = {spec.formula.text}: persons with no {spec.name} recorded in its window, "
                    "every operand recorded, and a computed value within a billionth of the threshold or a "
                    "plausible bound, operand dates near the largest spread allowed, or an operand SQL cannot "
                    "compute with (formulas with cases of sex or age, or with operands derived or picked as "
                    "extremes: every such person)")
        if spec.pick in (Pick.MAX, Pick.MIN):
            return f"{spec.name} ({spec.pick.value} of values): persons with a value recorded as a bound"
    if isinstance(node, X.FactIs) and (node.item.startswith(X.CONFIRMATION) or trial.items[node.item].matcher.preferred):
        return f"{node.item}: persons with a recorded confirmation"
    return None


def col(name: str) -> E.Column:
    return E.column(name)


def _expr(plan: Plan, trial: CompiledTrial, node: Any, used: list[str], items: tuple[str, ...] = ()) -> E.Expression:
    """The SQL boolean of one IR node (its atoms' columns combined by Kleene logic); ``items``: what the
    criterion reads (a record function's other concept sets place records for the fail-safe rule)."""
    if isinstance(node, X.Const):
        return E.true() if node.value else E.false()
    if isinstance(node, X.And):
        return E.and_(*[E.paren(_expr(plan, trial, n, used, items)) for n in node.items])
    if isinstance(node, X.Or):
        return E.or_(*[E.paren(_expr(plan, trial, n, used, items)) for n in node.items])
    if isinstance(node, X.Not):
        return E.not_(E.paren(_expr(plan, trial, node.item, used, items)))
    if isinstance(node, X.Compare) and not isinstance(node.source, (X.Item, X.Change, X.RefRatio)):
        raise Untranslated(f"{type(node.source).__name__} ({getattr(node.source, 'item', '?')}) is not translated to SQL")
    if isinstance(node, X.Compare) and isinstance(node.source, X.Item) and node.source.name in trial.items \
            and getattr(trial.items[node.source.name], "running", False):
        raise Untranslated(f"{node.source.name} grows with time (running): decided on the Python path")
    if isinstance(node, X.Records):
        siblings = tuple(sorted({s for s in items if s in trial.concepts and s != node.concept}))
        _check_records(trial, node, siblings)
        a = plan.atom(trial, node, siblings)
    elif isinstance(node, X.FactIs):
        spec = trial.items.get(node.item)
        if spec is not None and spec.inferences:
            a = _inferred(plan, trial, node)
        else:
            a = plan.atom(trial, node)
    elif isinstance(node, X.Compare):
        a = plan.atom(trial, node)
    else:
        raise Untranslated(f"{type(node).__name__} is not translated to SQL")
    used.append(a.name)
    return col(a.name + "_v")


def _inferred(plan: Plan, trial: CompiledTrial, node: X.FactIs) -> Atom:
    """An inferred fact: its recorded statements and each inference's value and date (the newest date of
    the evidence that made it hold, as ``engine.items`` dates it), combined in ``population``."""
    key = (trial.id, node, ())
    if key in plan.atoms:
        return plan.atoms[key]
    spec = trial.items[node.item]
    if spec.matcher.preferred or node.item.startswith(X.CONFIRMATION):
        raise Untranslated(f"{node.item}: an inferred fact with preferred codes")
    inferences = []
    for when, then, text in spec.inferences:
        used: list[str] = []
        value, day = _dated(plan, trial, when, used, text)
        inferences.append((value, day, bool(then)))
    a = plan.atom(trial, node)
    a.inferences = inferences
    return a


def _dated(plan: Plan, trial: CompiledTrial, node: Any, used: list[str], text: str
           ) -> tuple[E.Expression, E.Expression]:
    """An inference's Kleene value and, when it holds, the newest date of its evidence: the atoms that
    hold (an 'or' keeps the alternatives that hold, an 'and' all of them). Records and items with one
    chosen date are translated; anything else (not, derived items, extremes, age) raises Untranslated."""
    if isinstance(node, (X.And, X.Or)):
        parts = [_dated(plan, trial, n, used, text) for n in node.items]
        values = [E.paren(v) for v, _ in parts]
        value = E.and_(*values) if isinstance(node, X.And) else E.or_(*values)
        days = [d if isinstance(node, X.And) else E.Case().when(E.paren(v).is_(E.true()), d) for v, d in parts]
        return value, E.func("GREATEST", *days)
    atom = None
    if isinstance(node, X.Records):
        _check_records(trial, node, ())
        atom = plan.atom(trial, node, ())
    elif isinstance(node, X.Compare) and type(node.source) is X.Item and node.source.name not in ("age", "sex"):
        spec = trial.items[node.source.name]
        if spec.formula is None and spec.pick not in (Pick.MAX, Pick.MIN) and spec.dtype is not DataType.FACT:
            atom = plan.atom(trial, node)
    if atom is None or atom.refers:
        raise Untranslated(f"inference '{text}' of a fact: {type(node).__name__} is not translated to SQL")
    used.append(atom.name)
    return col(atom.name + "_v"), col(atom.name + "_d")


# drug attributes a record's identity decides (as the OMOP source reads it: name, status, whether it has a stop
# date): shipped per record identity with its role (``classify.record_role``)
PER_RECORD_ATTRIBUTES = ("dose", "daily_dose", "stop_reason")


# the record functions ``population`` translates (each record's verdict as ``engine.atoms`` reads it); any other
# is decided on the Python path, never translated as the nearest one it resembles
SQL_RECORD_FUNCTIONS = frozenset({"has_condition", "history_of", "onset_within", "taking", "ever_taken", "started_within",
                                  "had_procedure", "procedure_planned", "vaccinated"})


def _check_records(trial: CompiledTrial, node: X.Records, siblings: tuple[str, ...]) -> None:
    """A record function is decided per record identity in SQL (the fail-safe classification is shipped as a
    table, with what a condition record's qualifiers and a drug record's dose or stop reason say); a concept
    set with preferred codes finds records person by person, which that cannot express."""
    concept = trial.concepts[node.concept]
    if X.RECORD_FUNCTIONS[node.function][0] not in ("conditions", "medications", "procedures", "immunizations"):
        raise Untranslated(f"{node.function}({node.concept}): records of this kind are decided on the Python path")
    if node.function not in SQL_RECORD_FUNCTIONS:
        raise Untranslated(f"{node.function}({node.concept}): not translated to SQL, decided on the Python path")
    timed = [kind for kind, _, _ in getattr(concept, "attributes", ()) if kind not in PER_RECORD_ATTRIBUTES]
    if timed:
        # how long a drug was taken (or at the same dose) reads its dates and the person's other records
        raise Untranslated(f"{node.function}({node.concept}): drug attributes ({', '.join(timed)}) are "
                           "decided on the Python path")
    others = [concept.matcher, concept.excluded] + [trial.concepts[s].matcher for s in siblings] + \
        [c.matcher for c in trial.concepts.values()]
    if any(m is not None and m.preferred for m in others):
        raise Untranslated(f"{node.function}({node.concept}): a concept set with preferred codes")


def plan_trials(trials: list[CompiledTrial]) -> Plan:
    """The atoms of every trial's criteria, each criterion's status expression and the status of every bullet
    whose parts combine by the rule file's own and/or.

    Each criterion gives, as the engine's program does, whether it applies and whether its rule holds
    (Kleene); an ``at_least`` bullet holds when enough of its alternatives are met (``engine.program``), and
    its alternatives take the status of the outermost such bullet; a bullet's status combines its parts'
    (applies, holds) as ``engine.evaluate.bullets_of`` does.
    """
    plan = Plan()
    for t in trials:
        own = _own_rules(plan, t)
        done: dict[str, tuple] = {}
        for cc in t.criteria:
            c = cc.criterion
            try:
                applies, holds, refer_cols = _holds(t, own, cc.group or c.id, done, ())
                if cc.group is not None:  # an alternative takes the status of its outermost at_least bullet
                    group = next(g for g in t.criteria if g.criterion.id == cc.group).criterion
                    kind = group.kind
                else:
                    kind = c.kind
            except Untranslated as why:
                plan.untranslated.append((t.id, c.id, str(why)))
                plan.criteria.append(CriterionPlan(t.id, c.id, c.kind.value, E.Literal.string("unknown"), E.true(),
                                                   [], bool(c.confirm) and not c.rule, str(why), c.parent))
                continue
            status = _status(kind is Kind.EXCLUSION, applies, holds)
            refer = E.or_(*[col(n + "_r") for n in refer_cols]) if refer_cols else E.false()
            decider, unit = _decider(plan, t, cc)
            plan.criteria.append(CriterionPlan(t.id, c.id, c.kind.value, _case(status), refer, list(refer_cols),
                                               bool(c.confirm) and not c.rule, parent=c.parent,
                                               applies=applies, holds=holds, decider=decider, unit=unit))
        _bullets(plan, t)
    return plan


def _decider(plan: Plan, t: CompiledTrial, cc: Any) -> tuple[str | None, str | None]:
    """The atom whose value and date decided a criterion whose rule is that one atom (a comparison of an
    item or a record function, no applies_if), with the item's unit."""
    node = cc.rule
    if cc.group is not None or cc.applies_if is not None or not isinstance(node, (X.Compare, X.Records)):
        return None, None
    siblings = tuple(sorted({s for s in cc.items if s in t.concepts and s != node.concept})) \
        if isinstance(node, X.Records) else ()
    atom = plan.atoms.get((t.id, node, siblings))
    if atom is None:
        return None, None
    if isinstance(node, X.Compare) and type(node.source) is X.Item and node.source.name in t.items:
        return atom.name, t.items[node.source.name].unit
    return atom.name, None


def _own_rules(plan: Plan, t: CompiledTrial) -> dict[str, Any]:
    """Per criterion id: (applies, rule or the AtLeast node, refer columns, criterion), or the Untranslated."""
    own: dict[str, Any] = {}
    for cc in t.criteria:
        c = cc.criterion
        used: list[str] = []
        try:
            if getattr(c, "absent_means_no", None):
                raise Untranslated("absence by design (absent_means_no): decided on the Python path")
            if isinstance(cc.rule, X.AtLeast):
                if c.confirm:
                    raise Untranslated(f"an at_least bullet with confirm ({c.id}): decided on the Python path")
                rule: Any = cc.rule
            else:
                rule = E.paren(_expr(plan, t, cc.rule, used, cc.items))
            applies = E.paren(_expr(plan, t, cc.applies_if, used, cc.items)) if cc.applies_if is not None \
                else E.true()
        except Untranslated as why:
            own[c.id] = why
            continue
        refer_cols = list(used)
        if c.confirm and c.rule:
            # a recorded confirmation refers the person (its atom's refer flag); without one the data decide
            conf = plan.atom(t, X.FactIs(X.CONFIRMATION + c.id) if (X.CONFIRMATION + c.id) in t.items
                             else _confirmation_node(t, c.id))
            refer_cols.append(conf.name)
        own[c.id] = (applies, rule, refer_cols, c)
    return own


def _holds(t: CompiledTrial, own: dict, cid: str, done: dict, seen: tuple) -> tuple:
    """(applies, holds, refer columns) of criterion ``cid`` as the engine runs it on its own; an at_least
    rule is Kleene 'at least n of' over its alternatives' met (inclusion: not applies or holds; exclusion:
    applies and holds): held >= n passes, held + open < n fails, else unknown."""
    if cid in done:
        return done[cid]
    got = own[cid]
    if isinstance(got, Untranslated):
        raise got
    if cid in seen:  # pragma: no cover - the checker rejects cycles
        raise Untranslated(f"{cid}: an at_least bullet that contains itself")
    applies, rule, refer_cols, c = got
    if isinstance(rule, X.AtLeast):
        held, open_, cols = [], [], list(refer_cols)
        for child in rule.children:
            if child not in own:
                continue
            ca, ch, ccols = _holds(t, own, child, done, seen + (cid,))
            met = E.paren(_met(own[child][3].kind is Kind.EXCLUSION, ca, ch))
            held.append(E.Case().when(met.is_(E.true()), E.Literal.number(1)).else_(E.Literal.number(0)))
            open_.append(E.Case().when(met.is_(E.null()), E.Literal.number(1)).else_(E.Literal.number(0)))
            cols += ccols
        n_held = E.paren(_sum(held))
        n_open = E.paren(_sum(open_))
        rule = E.paren(E.Case().when(E.GTE(this=n_held, expression=E.Literal.number(rule.n)), E.true()).when(
            E.LT(this=E.Add(this=n_held, expression=n_open), expression=E.Literal.number(rule.n)), E.false())
            .else_(E.cast(E.null(), "BOOLEAN")))
        refer_cols = cols
    out = done[cid] = (applies, rule, list(dict.fromkeys(refer_cols)))
    return out


def _sum(terms: list[E.Expression]) -> E.Expression:
    if not terms:
        return E.Literal.number(0)
    out = terms[0]
    for x in terms[1:]:
        out = E.Add(this=out, expression=x)
    return out


def _met(exclusion: bool, applies: E.Expression, holds: E.Expression) -> E.Expression:
    """Whether a criterion is met (``CriterionResult.met``): an exclusion applies and holds, an inclusion
    does not apply or holds."""
    return E.and_(applies, holds) if exclusion else E.or_(E.not_(applies), holds)


def _status(exclusion: bool, applies: E.Expression, holds: E.Expression) -> E.Expression:
    return E.not_(E.paren(E.and_(applies, holds))) if exclusion else E.or_(E.not_(applies), holds)


def _case(status: E.Expression) -> E.Expression:
    """A Kleene boolean as 'pass' | 'fail' | 'unknown'."""
    return E.Case().when(E.paren(status).is_(E.true()), E.Literal.string("pass")).when(
        E.paren(status).is_(E.false()), E.Literal.string("fail")).else_(E.Literal.string("unknown"))


def own_bullets(trial: CompiledTrial) -> frozenset[str]:
    """The bullets of ``trial`` whose parts combine by the rule file's own and/or (``bullets:``), not the
    kind's default: their status is not the conjunction of the parts' statuses."""
    kinds = {c.parent: c.kind.value for c in trial.rules.criteria if c.parent is not None}
    default = {"inclusion": "and", "exclusion": "or"}
    return frozenset(k for k, b in trial.rules.bullets.items()
                     if b.combine is not None and k in kinds and b.combine != default[kinds[k]])


def _bullets(plan: Plan, t: CompiledTrial) -> None:
    """The status of each bullet with its own and/or, from its parts' (applies, holds) as
    ``engine.evaluate.bullets_of`` combines them: a part counts towards an 'and' inclusion bullet when it does
    not apply or holds, otherwise when it applies and holds. A part decided on the Python path refers the
    person's trial there, bullets included."""
    mine = {c.id: c for c in plan.criteria if c.trial == t.id}
    for key in sorted(own_bullets(t)):
        members = [cc.criterion for cc in t.criteria if (cc.criterion.parent or cc.criterion.id) == key]
        parts = [mine[m.id] for m in members]
        if not parts or any(p.untranslated or p.applies is None for p in parts):
            continue  # every person's trial goes to the Python path: the bullet comes from there
        kind = members[0].kind
        combine = t.rules.bullets[key].combine or ("and" if kind is Kind.INCLUSION else "or")
        if combine == "and" and kind is Kind.INCLUSION:
            counts = [E.paren(E.or_(E.not_(p.applies), p.holds)) for p in parts]
        else:
            counts = [E.paren(E.and_(p.applies, p.holds)) for p in parts]
        met = E.paren(E.and_(*counts) if combine == "and" else E.or_(*counts))
        status = met if kind is Kind.INCLUSION else E.not_(met)
        plan.bullets.append(BulletPlan(t.id, key, _case(status)))


def _confirmation_node(trial: CompiledTrial, cid: str) -> X.FactIs:
    for name in trial.items:
        if name.startswith(X.CONFIRMATION) and name.endswith(cid):
            return X.FactIs(name)
    raise KeyError(cid)  # pragma: no cover - the compiler adds one per confirm criterion


def dtype_of(trial: CompiledTrial, name: str) -> DataType | None:
    return None if name in ("age", "sex") else trial.items[name].dtype
