"""Checks of a rule file that need no compilation: each a small function over one part of the
file (a name, a concept set, a data item, the criteria) yielding ``Finding``s, the way OHDSI
Circe's checkers do. The compiler runs them in order and locates each finding in the YAML.

Checks that need a parsed expression, a formula's dimensions or concept-set expansion happen
where those are built (``compiler``); a check here never builds anything.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ..errors import UnitError
from ..model.rulefile import NAME_PATTERN, ConceptSet, DataItem, DataType, Pick, RuleFile
from ..terms.codes import class_prefix_problem
from ..values import units
from ..values.durations import parse_window
from .ir import RESERVED

_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class Finding:
    """One problem: where in the rule file (a path of keys and indexes) and what."""

    path: tuple
    message: str


Check = Callable[..., Iterator[Finding]]


# ---------------------------------------------------------------- names


def name_shape(name: str, path: tuple, rules: RuleFile) -> Iterator[Finding]:
    """Concept-set and data-item names are lower_snake_case, not reserved, and not both at once."""
    if not _NAME.match(name):
        yield Finding(path, f"name {name!r} must be lower_snake_case (letters, digits, _)")
    if name in RESERVED:
        yield Finding(path, f"name {name!r} is reserved (a built-in symbol or function)")
    if name in rules.concepts and name in rules.data:
        yield Finding(path, f"name {name!r} is both a concept set and a data item")


# ---------------------------------------------------------------- concept sets


def concept_not_empty(name: str, c: ConceptSet, path: tuple) -> Iterator[Finding]:
    if not (c.codes or c.names or c.include or c.classes):
        yield Finding(path, f"concept set {name!r} has no codes, names, classes or include")


def concept_codes(name: str, c: ConceptSet, path: tuple) -> Iterator[Finding]:
    """Codes carry a system prefix; a class prefix ('icd10:C50*') is one of a hierarchical system."""
    for i, code in enumerate(c.codes):
        if ":" not in code:
            yield Finding(path + ("codes", i), f"code {code!r} needs a system prefix, e.g. rxnorm:3002")
        elif "*" in code and (problem := class_prefix_problem(code)):
            yield Finding(path + ("codes", i), problem)


CONCEPT_CHECKS: tuple[Check, ...] = (concept_not_empty, concept_codes)


# ---------------------------------------------------------------- data items


def item_window(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    if item.window is not None:
        try:
            parse_window(item.window)
        except ValueError as err:
            yield Finding(path + ("window",), str(err))


def item_unit(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    """A quantity has a unit pint reads, and a context the registry defines; other types have no unit."""
    if item.type is DataType.QUANTITY:
        if item.unit is None:
            yield Finding(path, f"quantity item {name!r} needs a unit (use '1' for plain numbers)")
        else:
            try:
                units.parse_unit(item.unit)
            except UnitError as err:
                yield Finding(path + ("unit",), str(err))
        if item.context is not None:
            try:
                units.check_context(item.context)
            except UnitError as err:
                yield Finding(path + ("context",), str(err))
    elif item.unit is not None and item.type is not DataType.TITER:
        yield Finding(path + ("unit",), f"{item.type.value} items have no unit")


def item_values(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    if item.values is not None and item.type is not DataType.CODED:
        yield Finding(path + ("values",), f"{item.type.value} items have no list of values (only coded items)")


def _quantity_only(item: DataItem, value: Any, where: tuple, other_types_have: str) -> Iterator[Finding]:
    if value is not None and item.type is not DataType.QUANTITY:
        yield Finding(where, f"{item.type.value} items have {other_types_have}")


def item_molar_mass(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    """A molar mass is on a quantity without a context, written with its unit, a mass per amount of substance."""
    where = path + ("molar_mass",)
    if item.molar_mass is None:
        return
    if item.type is not DataType.QUANTITY:
        yield from _quantity_only(item, item.molar_mass, where, "no molar mass (only quantities are converted)")
    elif item.context is not None:
        yield Finding(where, f"data item {name!r} has both a context and a molar mass: give one of them")
    elif not isinstance(item.molar_mass, str):
        yield Finding(where, f"molar mass {item.molar_mass} needs its unit, e.g. '{item.molar_mass} g/mol'")
    else:
        try:
            units.molar_mass(item.molar_mass)
        except UnitError as err:
            yield Finding(where, str(err))


def item_range(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    """A plausible range is on a quantity, has a bound, finite bounds, and its lower bound below its upper."""
    where = path + ("range",)
    if item.range is None:
        return
    if item.type is not DataType.QUANTITY:
        yield from _quantity_only(item, item.range, where, "no plausible range (only quantities do)")
        return
    low, high = item.range
    if low is None and high is None:
        yield Finding(where, "a plausible range needs at least one bound (null means no bound)")
        return
    for i, bound in enumerate((low, high)):
        if bound is not None and not math.isfinite(bound):
            yield Finding(where + (i,), f"range bound {bound} is not a finite number (use null for no bound)")
            return
    if low is not None and high is not None and low > high:
        yield Finding(where, f"range lower bound {units.format_number(low)} is above its upper bound "
                             f"{units.format_number(high)}")


def item_found_by(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    """An item is found by codes or names, or derived (and only quantities are derived)."""
    if not (item.codes or item.names or item.derive):
        yield Finding(path, f"data item {name!r} needs codes or names (or derive)")
    if item.derive and item.type is not DataType.QUANTITY:
        yield Finding(path + ("derive",), "only quantity items can be derived")


def item_codes(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    """An item's codes carry a system prefix and are exact (class prefixes are for concept sets)."""
    for i, code in enumerate(item.codes):
        if ":" not in code:
            yield Finding(path + ("codes", i), f"code {code!r} needs a system prefix, e.g. loinc:2890-5")
        elif "*" in code:
            yield Finding(path + ("codes", i), f"code {code!r}: class prefixes ('*') are for concept sets; "
                                               "a data item lists its codes exactly")


def item_running(name: str, item: DataItem, path: tuple) -> Iterator[Finding]:
    """A running item (gestational age) is a quantity in a unit of time, picked latest; a due date needs one."""
    if item.running:
        if item.type is not DataType.QUANTITY or item.unit is None:
            yield Finding(path + ("running",), "running items are quantities with a unit of time")
        else:
            try:
                if str(units.dimensionality(item.unit)) != "[time]":
                    yield Finding(path + ("running",), f"running items are in a unit of time (wk, d), not "
                                                       f"{item.unit!r}")
            except UnitError:
                pass  # reported by item_unit
        if item.pick is not Pick.LATEST:
            yield Finding(path + ("pick",), "a running item reads its latest value")
        if item.derive is not None:
            yield Finding(path + ("derive",), "a running item is recorded, not derived")
    if item.due_date and not item.running:
        yield Finding(path + ("due_date",), "due_date gives a gestational age: the item must be running "
                                            "(running: true, unit wk or d)")
    for i, code in enumerate(item.due_date):
        if ":" not in code:
            yield Finding(path + ("due_date", i), f"code {code!r} needs a system prefix, e.g. loinc:11778-8")


ITEM_CHECKS: tuple[Check, ...] = (item_window, item_unit, item_values, item_molar_mass, item_range,
                                  item_found_by, item_codes, item_running)


# ---------------------------------------------------------------- criteria


def criterion_ids(rules: RuleFile, positions: Iterable[int], all_ids: set) -> Iterator[Finding]:
    """Criterion ids are unique; a parent is a criterion id (unless the bullet text is given);
    a criterion has a rule or says why a person decides it."""
    seen: dict[str, int] = {}
    ids = {c.id for c in rules.criteria} | all_ids
    for i, c in zip(positions, rules.criteria):
        path = ("criteria", i)
        if c.id in seen:
            yield Finding(path + ("id",), f"duplicate criterion id {c.id!r} (first at criteria[{seen[c.id]}])")
        seen.setdefault(c.id, i)
        if c.parent is not None and c.parent not in ids and c.bullet is None:
            yield Finding(path + ("parent",), f"parent {c.parent!r} is not a criterion id (and no bullet text given)")
        if c.at_least is not None:
            children = [k for k in rules.criteria if k.parent == c.id]
            if c.rule is not None or c.confirm is not None:
                yield Finding(path + ("at_least",), f"criterion {c.id!r} with at_least is decided by its nested "
                              "bullets: no rule or confirm")
            if len(children) < c.at_least:
                yield Finding(path + ("at_least",), f"at_least: {c.at_least}, but {c.id!r} has {len(children)} "
                              f"nested bullet{'s' if len(children) != 1 else ''} (criteria with parent: {c.id})")
            for k in children:
                if k.kind is not c.kind:
                    yield Finding(path + ("at_least",), f"nested bullet {k.id!r} is an {k.kind.value}, its bullet "
                                  f"{c.id!r} an {c.kind.value}: alternatives are of one kind")
        elif c.rule is None and c.confirm is None:
            yield Finding(path, f"criterion {c.id!r} needs a rule, or confirm: with the reason a person decides it")
        if c.confirmed_by and c.confirm is None:
            yield Finding(path + ("confirmed_by",), f"criterion {c.id!r}: confirmed_by names facts that confirm it, "
                                                    "which needs confirm: with the reason a person decides it")


def condition_qualifiers(rules: RuleFile, categories: dict) -> Iterator[Finding]:
    """clinical_status, severity and note_words qualify condition records: a set that has them is read by
    condition functions only (has_condition, history_of, onset_within)."""
    for name, c in rules.concepts.items():
        asked = [k for k in ("clinical_status", "severity", "note_words") if getattr(c, k)]
        other = sorted(categories.get(name, frozenset()) - {"conditions"})
        if asked and other:
            yield Finding(("concepts", name, asked[0]), f"{asked[0]} qualifies conditions, but concept set {name!r} "
                                                        f"is read among {', '.join(other)}")


def bullet_specs(rules: RuleFile) -> Iterator[Finding]:
    """Each entry of ``bullets:`` names a bullet split into parts of one kind (the parts' ``parent``)."""
    parts: dict[str, list] = {}
    for c in rules.criteria:
        if c.parent is not None:
            parts.setdefault(c.parent, []).append(c)
    for key in rules.bullets:
        members = parts.get(key, [])
        if not members:
            known = ", ".join(sorted(parts)) or "none"
            yield Finding(("bullets", key), f"no criterion has parent {key!r} (bullets split into parts: {known})")
        elif len({c.kind for c in members}) > 1:
            yield Finding(("bullets", key), f"the parts of {key!r} mix inclusions and exclusions")
