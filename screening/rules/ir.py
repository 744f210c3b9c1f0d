"""The intermediate representation of a rule: a plain tree of frozen dataclasses (comparisons of
data items with constants, record functions over concept sets, facts, and/or/not), with no
evaluation in it. The engine compiles it into closures (``engine.program``); coverage reads it;
a later SQL compiler walks the same tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from ..values.durations import Window


@dataclass(frozen=True)
class Item:
    """A data item's selected value (or the age/sex built-ins, which are items named 'age'/'sex')."""

    name: str


@dataclass(frozen=True)
class Change:
    """Latest minus earliest value of a quantity item within a window."""

    item: str
    window: Window
    percent: bool = False  # pct_change(): 100 x (latest - earliest) / earliest


@dataclass(frozen=True)
class RefRatio:
    """A quantity item's value as a multiple of a limit of its laboratory's own normal range:
    ``x_uln(ast)`` is AST / upper limit of normal, ``x_lln(hb)`` is Hb / lower limit of normal."""

    item: str
    limit: str  # 'high' (ULN) or 'low' (LLN)


@dataclass(frozen=True)
class Elapsed:
    """Days from a record's date to the screening date: the first onset of a condition, the first start
    or the last stop of a drug, the last procedure (``days_since_onset(t2d) >= 180``)."""

    function: str
    concept: str

    @property
    def item(self) -> str:
        return self.concept


@dataclass(frozen=True)
class Count:
    """How many records of a concept set in a window: distinct drugs (prior lines of therapy), distinct
    conditions, procedures (``count_drugs(chemotherapy, 'P5Y') >= 2``)."""

    function: str
    concept: str
    window: Window | None

    @property
    def item(self) -> str:
        return self.concept


Source = Union[Item, Change, RefRatio, Elapsed, Count]


@dataclass(frozen=True)
class Compare:
    source: Source
    op: str  # '==', '!=', '<', '<=', '>', '>=', 'in'
    constant: Any  # float | str | tuple, normalised for comparison (titer dilution, folded code)
    written: Any = field(default=None, compare=False)  # the constant as written, for reasons


@dataclass(frozen=True)
class Records:
    """A record function over a concept set, e.g. started_within(cyclophosphamide, 'P6M')."""

    function: str
    concept: str
    window: Window | None


@dataclass(frozen=True)
class FactIs:
    item: str


CONFIRMATION = "confirm:"  # prefix of the fact items that record a person's confirmation of a criterion


@dataclass(frozen=True)
class AtLeast:
    """A bullet that holds when at least ``n`` of its nested bullets (criteria ids, alternatives) hold."""

    n: int
    children: tuple[str, ...]


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Node = Union[Compare, Records, FactIs, Const, And, Or, Not]

# Record functions: name -> (record category, window: 'required' | 'optional' | 'none').
RECORD_FUNCTIONS: dict[str, tuple[str, str]] = {
    "has_condition": ("conditions", "none"),
    "history_of": ("conditions", "optional"),
    "taking": ("medications", "optional"),
    "ever_taken": ("medications", "none"),
    "started_within": ("medications", "required"),
    "had_procedure": ("procedures", "optional"),
    "procedure_planned": ("procedures", "none"),
    "vaccinated": ("immunizations", "optional"),
    "allergic_to": ("allergies", "none"),
    "family_history_of": ("family_history", "none"),
}
# Days since an event of a concept set: name -> (record category, which end of which record).
ELAPSED_FUNCTIONS: dict[str, tuple[str, str]] = {
    "days_since_onset": ("conditions", "first"),
    "days_since_start": ("medications", "first"),
    "days_since_stop": ("medications", "last"),
    "days_since_procedure": ("procedures", "last"),
}
# Counts of a concept set's records in an optional window: name -> (record category, distinct by).
COUNT_FUNCTIONS: dict[str, tuple[str, str]] = {
    "count_drugs": ("medications", "drug"),
    "count_conditions": ("conditions", "condition"),
    "count_procedures": ("procedures", "record"),
}
VALUE_FUNCTIONS = {"change", "pct_change", "x_uln", "x_lln"} | set(ELAPSED_FUNCTIONS) | set(COUNT_FUNCTIONS)
BUILTIN_SYMBOLS = {"age": "quantity", "sex": "coded"}
RESERVED = set(RECORD_FUNCTIONS) | VALUE_FUNCTIONS | set(BUILTIN_SYMBOLS)


def source_category(source) -> str | None:
    """The part of the record a value source reads a concept set in (None: it reads a data item)."""
    if isinstance(source, Elapsed):
        return ELAPSED_FUNCTIONS[source.function][0]
    if isinstance(source, Count):
        return COUNT_FUNCTIONS[source.function][0]
    return None


def walk(node: Node):
    """Yield every node of an IR tree (depth first)."""
    yield node
    if isinstance(node, (And, Or)):
        for child in node.items:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.item)
