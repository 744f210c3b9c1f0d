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
class OnConcept:
    """A function of a concept set's records, ``function(concept, ...)``: record functions, days since an
    event, counts. ``item`` is what it reads, for explanations and coverage."""

    function: str
    concept: str

    @property
    def item(self) -> str:
        return self.concept


@dataclass(frozen=True)
class Elapsed(OnConcept):
    """Days from a record's date to the screening date: the first onset of a condition, the first start
    or the last stop of a drug, the last procedure (``days_since_onset(t2d) >= 180``)."""


@dataclass(frozen=True)
class Count(OnConcept):
    """How many records of a concept set in a window: distinct drugs (prior lines of therapy), distinct
    conditions, procedures (``count_drugs(chemotherapy, 'P5Y') >= 2``)."""

    window: Window | None


@dataclass(frozen=True)
class Between:
    """Days from one record's date to another's, ``days_between(onset_of(cancer), start_of(chemotherapy))``:
    each end is the day an ``Elapsed`` counts from (the first onset, the first start, the last stop, the
    last procedure), and the value is the second day less the first."""

    first: Elapsed
    second: Elapsed

    @property
    def item(self) -> str:
        return self.first.concept


@dataclass(frozen=True)
class Spaced:
    """How many values of a data item meet ``test`` on days at least ``apart`` from each other, within
    ``window`` (else the item's own, else any): ``count_apart(fasting_glucose >= 126, 'P4W') >= 2``."""

    test: "Compare"  # the item (an ``Item``) compared with a constant
    apart: Window
    window: Window | None

    @property
    def item(self) -> str:
        return self.test.source.name


Source = Union[Item, Change, RefRatio, Elapsed, Count, Between, Spaced]


@dataclass(frozen=True)
class Compare:
    source: Source
    op: str  # '==', '!=', '<', '<=', '>', '>=', 'in'
    constant: Any  # float | str | tuple, normalised for comparison (titer dilution, folded code)
    written: Any = field(default=None, compare=False)  # the constant as written, for reasons


@dataclass(frozen=True)
class Records(OnConcept):
    """A record function over a concept set, e.g. started_within(cyclophosphamide, 'P6M')."""

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
class Junction:
    items: tuple


@dataclass(frozen=True)
class And(Junction):
    pass


@dataclass(frozen=True)
class Or(Junction):
    pass


@dataclass(frozen=True)
class Not:
    item: Any


Node = Union[Compare, Records, FactIs, Const, And, Or, Not]

# Record functions: name -> (record category, window: 'required' | 'optional' | 'none').
RECORD_FUNCTIONS: dict[str, tuple[str, str]] = {
    "has_condition": ("conditions", "none"),
    "history_of": ("conditions", "optional"),
    "onset_within": ("conditions", "required"),
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
# The day each end of days_between() stands for: anchor -> the days-since function counting from that day.
ANCHOR_FUNCTIONS: dict[str, str] = {
    "onset_of": "days_since_onset",
    "start_of": "days_since_start",
    "stop_of": "days_since_stop",
    "procedure_of": "days_since_procedure",
}
VALUE_FUNCTIONS = ({"change", "pct_change", "x_uln", "x_lln", "days_between", "count_apart"} | set(ELAPSED_FUNCTIONS)
                   | set(COUNT_FUNCTIONS) | set(ANCHOR_FUNCTIONS))
BUILTIN_SYMBOLS = {"age": "quantity", "sex": "coded"}
RESERVED = set(RECORD_FUNCTIONS) | VALUE_FUNCTIONS | set(BUILTIN_SYMBOLS)


def source_concepts(source) -> tuple[tuple[str, str], ...]:
    """The concept sets a value source reads, each with the part of the record it reads it in (none: it
    reads a data item)."""
    if isinstance(source, Elapsed):
        return ((source.concept, ELAPSED_FUNCTIONS[source.function][0]),)
    if isinstance(source, Count):
        return ((source.concept, COUNT_FUNCTIONS[source.function][0]),)
    if isinstance(source, Between):
        return source_concepts(source.first) + source_concepts(source.second)
    return ()


def source_category(source) -> str | None:
    """The part of the record a value source reads a concept set in (None: it reads a data item)."""
    pairs = source_concepts(source)
    return pairs[0][1] if pairs else None


def source_reads(source) -> tuple[str, ...]:
    """The names a value source reads: data items (age and sex included) or concept sets."""
    if isinstance(source, Item):
        return (source.name,)
    return tuple(dict.fromkeys(c for c, _ in source_concepts(source))) or (source.item,)


def walk(node: Node):
    """Yield every node of an IR tree (depth first)."""
    yield node
    if isinstance(node, Junction):
        for child in node.items:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.item)
