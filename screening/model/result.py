"""The screening result: the contract with clinic software. Field names are stable."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from ..values.logic import Status
from .patient import UnmappedRecord
from .rulefile import Kind


class Verdict(str, Enum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    UNDETERMINED = "undetermined"

    def __str__(self) -> str:
        return self.value


class Evidence(BaseModel):
    """One data item used in a decision, as recorded and (for quantities) as converted."""

    model_config = ConfigDict(frozen=True)

    item: str = Field(description="Data item or concept set name in the rule file.")
    value: bool | int | float | str | None = Field(None, description="Value as recorded.")
    unit: str | None = Field(None, description="Unit as recorded.")
    converted: float | None = Field(None, description="Value in the rule file's unit.")
    converted_unit: str | None = None
    date: dt.date | None = None
    source: str | None = Field(None, description="Chart reference of the record, e.g. Observation/abc.")
    record: str | None = Field(None, description="Code or name of the record as charted.")


class UnrecognisedRecord(BaseModel):
    """A record that stood in the way of "no record" in a declared-complete part: not recognised,
    or not usable from the source, and so possibly one of the records the criterion looks for."""

    model_config = ConfigDict(frozen=True)

    category: str = Field(description="The part of the record: medications, conditions, procedures, immunizations.")
    record: str = Field(description="The record as charted, with its dates and source.")
    why: str = Field(description="Why it could not be ruled out: not recognised, not mapped, or a class that overlaps.")
    concept: str = Field(description="The concept set it could belong to.")
    question: str = Field(description="What a person is asked to decide it.")
    source: str | None = Field(None, description="Chart reference of the record, e.g. MedicationRequest/abc.")
    date: dt.date | None = None


class CriterionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    text: str
    bullet: str | None = None
    status: Status = Field(description="From eligibility's point of view: for exclusions, pass = not excluded.")
    met: bool | None = Field(description="Whether the criterion's text holds (for exclusions: the patient is excluded).")
    reason: str
    evidence: list[Evidence] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="Data items that would decide an unknown.")
    needs_confirmation: bool = Field(False, description="Only a person can decide this criterion.")
    applicable: bool | None = Field(True, description="False when an applies_if condition excluded it.")
    unrecognised: list[UnrecognisedRecord] = Field(
        default_factory=list, description="For an unknown criterion: records of a declared-complete part that "
                                          "could be what it looks for and could not be ruled out, with the question.")
    parent: str | None = Field(None, description="Id of the bullet this criterion is a part of (see `bullets`).")
    note: str | None = Field(None, description="How the rule file reads the criterion's words (also at the end of "
                                               "`reason`, as [reading: ...]).")


class BulletPart(BaseModel):
    """One part of a bullet: its status, and separately whether it applies and whether its rule holds."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The criterion id of the part (in `criteria`).")
    status: Status
    applicable: bool | None = Field(True, description="Whether the part applies (its applies_if).")
    holds: bool | None = Field(None, description="Whether the part's rule holds, whether or not it applies.")


class BulletResult(BaseModel):
    """A bullet of the trial record as written: one criterion, or the parts it was split into combined with
    the bullet's own and/or. The verdict is taken from the bullets."""

    model_config = ConfigDict(frozen=True)

    bullet: str = Field(description="The bullet's id: its parts' `parent`, or the criterion's own id.")
    kind: Kind
    text: str = Field(description="The whole bullet, verbatim.")
    combine: str = Field(description="How the parts combine: 'and' or 'or' (of the parts' texts holding).")
    status: Status = Field(description="From eligibility's point of view: for exclusions, pass = not excluded.")
    met: bool | None = Field(description="Whether the bullet's text holds (for exclusions: the patient is excluded).")
    parts: list[BulletPart]
    reason: str = Field(description="Which parts decide the bullet.")


class ScreeningResult(BaseModel):
    model_config = ConfigDict(frozen=True, title="Screening result")

    trial: str
    patient: str
    as_of: dt.date
    verdict: Verdict
    criteria: list[CriterionResult]
    bullets: list[BulletResult] = Field(
        default_factory=list, description="The trial record's bullets, each from its parts; the verdict is "
                                          "taken from them.")
    failed: list[str] = Field(default_factory=list, description="Criteria that make the patient ineligible (and "
                                                                    "bullets that fail though no part of them does).")
    unknown: list[str] = Field(default_factory=list, description="Criteria that could not be decided.")
    missing: list[str] = Field(default_factory=list, description="Data items that would decide the unknown criteria.")
    pending_confirmation: list[str] = Field(
        default_factory=list, description="Unknown criteria that only a person can confirm."
    )
    complete: list[str] = Field(default_factory=list, description="Record parts taken as complete.")
    summary: str = Field("", description="One line for people: the verdict and why.")
    deceased: bool = Field(False, description="The chart records the patient as deceased on or before the screening "
                                              "date: not eligible, whatever the criteria say.")
    unmapped: list[UnmappedRecord] = Field(
        default_factory=list, description="Source records that could not be used (e.g. FHIR resources), and why."
    )


def build(cls: type[BaseModel], **values) -> BaseModel:
    """Construct a result model from values the evaluator already guarantees, skipping validation.

    Like ``model_construct`` with every field given, without its per-field default lookups:
    results are built tens of times per screen, so this is on the hot path.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
