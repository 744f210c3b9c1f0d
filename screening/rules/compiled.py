"""A compiled trial: the validated rule file with names resolved, units checked and rules in IR.

Immutable and picklable (so it can be cached and sent to worker processes). It knows nothing
of evaluation: the engine builds its program from the IR and keeps it in the trial's
``memo`` (``engine.program.program_of``), which pickling leaves behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..model.rulefile import Criterion, DataType, Pick, RuleFile, TrialInfo
from ..terms.matcher import Matcher
from ..values.bounds import Bounded
from ..values.durations import Window


@dataclass(frozen=True)
class Qualifiers:
    """What a condition record of a concept set must also say (``clinical_status``, ``severity``,
    ``note_words`` of the rule file), folded for comparison; empty: anything."""

    clinical_status: frozenset[str] = frozenset()
    severity: frozenset[str] = frozenset()
    note_words: tuple[tuple[str, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.clinical_status or self.severity or self.note_words)


@dataclass(frozen=True)
class ConceptSpec:
    """A concept set ready to match: its matcher (with the vocabulary's brands, synonyms, codes and
    descendants), what it covers in the vocabularies (for the fail-safe), what it excludes, its route."""

    name: str
    label: str
    matcher: Matcher
    footprint: Any = None  # terms.vocabulary.Footprint
    excluded: Matcher | None = None
    route: str | None = None
    # record attributes a drug record must have to count: (kind, value, text) with kind 'dose' or
    # 'daily_dose' (a terms.doses.Threshold and its precomputed unit factors), 'exposure' or
    # 'stable_dose' (a Window), 'stop_reason' (phrases as word tuples)
    attributes: tuple = ()
    # words (as word tuples) that keep a record below a dose threshold a question ('bolus', 'pulse')
    ask_if_named: tuple = ()
    qualifiers: Qualifiers = Qualifiers()  # what a condition record must also say (clinical status, severity, note)


@dataclass(frozen=True)
class Formula:
    """Arithmetic over quantity items: ('item', name) | ('const', x) | (op, left, right) | ('sex', sexes where
    the first case holds, first, second, condition as written).

    Operands are scaled to SI root units (``scales``, in the order of ``operands``) before
    the arithmetic, so constants, sums and differences are exact; ``factor`` converts the
    result from root units to the item's unit.
    """

    tree: Any
    operands: tuple[str, ...]
    factor: float  # result in root units -> the item's unit
    max_spread: Window
    text: str
    scales: tuple[float, ...] = ()  # each operand's unit -> root units (then each of `patient`)
    patient: tuple[str, ...] = ()  # built-ins the formula reads ('age', in years)
    sex: bool = False  # the formula has cases of sex: ('sex', sexes, then, else, text) in its tree


@dataclass(frozen=True)
class Equation:
    """A published equation by name (``values.equations.EQUATIONS``) over data items and the patient's age
    and sex: each input item's value is scaled to the unit the equation is defined in, and the result to
    the item's unit."""

    name: str
    label: str
    roles: tuple[str, ...]  # the equation's inputs, in the order of `operands`
    operands: tuple[str, ...]  # the data items giving them
    scales: tuple[float, ...]  # each operand's unit -> the equation's unit for it
    factor: float  # the equation's result unit -> the item's unit
    max_spread: Window
    text: str


@dataclass(frozen=True)
class ItemSpec:
    name: str
    label: str
    dtype: DataType
    matcher: Matcher
    unit: str | None
    context: str | None
    window: Window | None
    pick: Pick
    formula: Formula | None = None
    factors: dict = field(default_factory=dict)  # common unit spelling -> factor to `unit`
    molar_mass: float | None = None  # g/mol, for mass <-> amount of substance
    plausible: tuple[float | None, float | None] | None = None  # inclusive bounds in `unit`
    vocabulary: frozenset[str] | None = None  # coded items: the folded results a rule can read
    inferences: tuple = ()  # fact items: (IR node, value when it holds, expression text), in file order
    otherwise: bool | None = None  # fact items: the value when every inference is decided false
    running: bool = False  # a duration that grows with time (gestational age): value + time since recorded
    due_date: Matcher | None = None  # running items: records of an estimated due date (value: a date)

    def implausible(self, value: "float | Bounded") -> str | None:
        """Why ``value`` (in the item's unit; a bound such as '<0.21' too) cannot be a real
        measurement, or None when it can.

        Pure; the words continue a sentence naming the value: "FiO2 40 on 2026-11-02" +
        " " + "is outside the plausible range 0.21 to 1".
        """
        if self.plausible is None:
            return None
        return outside_range(value, *self.plausible, self.unit)


def outside_range(value: "float | Bounded", low: float | None, high: float | None,
                  unit: str | None = None) -> str | None:
    """Why ``value`` is outside the inclusive bounds [low, high] (None: no bound), or None when inside.
    A bound is outside only when every value it allows is ('>1' for a fraction, '<0' for a weight)."""
    from ..values.units import format_number

    suffix = "" if unit in (None, "", "1", "dimensionless") else f" {unit}"
    if isinstance(value, Bounded):
        below = low is not None and value.decide("<", low) is True
        above = high is not None and value.decide(">", high) is True
        verb = "lies wholly"
    else:
        if not math.isfinite(value):
            return "is not a finite number"
        below, above = low is not None and value < low, high is not None and value > high
        verb = "is"
    if not (below or above):
        return None
    if low is not None and high is not None:
        return f"{verb} outside the plausible range {format_number(low)} to {format_number(high)}{suffix}"
    if low is not None:
        return f"{verb} below the plausible minimum of {format_number(low)}{suffix}"
    return f"{verb} above the plausible maximum of {format_number(high)}{suffix}"


@dataclass(frozen=True)
class CompiledCriterion:
    criterion: Criterion
    rule: Any  # IR node
    applies_if: Any | None  # IR node
    items: tuple[str, ...]  # data items and concept sets the criterion reads
    group: str | None = None  # an alternative of an at_least bullet: the id of the outermost such bullet


@dataclass(frozen=True)
class CompiledTrial:
    """A rule file ready to screen patients: build with ``screening.load_criteria``."""

    info: TrialInfo
    rules: RuleFile
    concepts: dict[str, ConceptSpec]
    items: dict[str, ItemSpec]
    criteria: tuple[CompiledCriterion, ...]
    file: str | None = None
    digest: str | None = None
    # what other layers derive from the trial and keep with it (the engine's evaluation program);
    # not part of the trial's value: not compared, not shown, not pickled
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.info.id

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["memo"] = {}
        return state
