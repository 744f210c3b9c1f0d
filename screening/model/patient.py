"""The native patient profile: demographics and dated clinical records.

Every record carries a code (``system:code`` such as ``loinc:2890-5``, ``rxnorm:3002``,
``snomed:73211009``, ``icd10:M32.14``, or a local name) and/or a plain ``name``; rule
files match either. Dates are calendar days. ``source`` points back to the chart
(e.g. ``Observation/abc``) and is quoted in evidence.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal, Union

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator,
                      model_serializer, model_validator)


class Category(str, Enum):
    """Parts of the record that a caller may declare complete (no record then means absent)."""

    CONDITIONS = "conditions"
    MEDICATIONS = "medications"
    PROCEDURES = "procedures"
    IMMUNIZATIONS = "immunizations"
    FACTS = "facts"
    ALLERGIES = "allergies"
    FAMILY_HISTORY = "family_history"

    def __str__(self) -> str:
        return self.value


MAX_TEXT = 2000  # characters of any string of a record: no real chart entry is longer (names are matched word by word)


def too_long(length: int, limit: int = MAX_TEXT) -> str:
    """The message for a string over the limit (pydantic's string_too_long is reworded to it, too)."""
    return (f"longer than {limit} characters ({length}): no charted name, code, value, unit or reference is "
            "this long")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT)

    code: str | None = Field(None, description="Coded identity, 'system:code' (loinc:2890-5) or a local code.")
    codes: list[str] = Field(default_factory=list, description="Further codes of the same record (other codings "
                             "of one FHIR resource, e.g. snomed and icd10); matched like `code`.")
    name: str | None = Field(None, description="Plain name as charted (e.g. 'cyclophosphamide').")
    source: str | None = Field(None, description="Reference back to the chart, e.g. 'Observation/abc'.")

    @model_validator(mode="after")
    def _has_identity(self):
        if not (self.code or self.codes or self.name):
            raise ValueError("a record needs a 'code' or a 'name'")
        return self

    @property
    def label(self) -> str:
        return self.name or self.code or (self.codes[0] if self.codes else "?")


ObservationValue = Union[StrictBool, StrictInt, StrictFloat, StrictStr]


class ReferenceRange(BaseModel):
    """The normal range the laboratory reported with a result (FHIR ``Observation.referenceRange``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT)

    low: StrictFloat | StrictInt | None = Field(None, description="Lower limit of normal (LLN), in `unit`.")
    high: StrictFloat | StrictInt | None = Field(None, description="Upper limit of normal (ULN), in `unit`.")
    unit: str | None = Field(None, description="Unit of the limits; when absent, the result's own unit.")
    text: str | None = Field(None, description="The range as the laboratory printed it, e.g. '10-40 U/L'.")


class Observation(_Record):
    """A measurement or test result: a number with its unit, a titer ('1:160') or a coded value ('positive')."""

    value: ObservationValue = Field(description="Number, titer string such as '1:160', or coded text such as 'positive'.")
    unit: str | None = Field(None, description="Unit string parsed by pint or UCUM (mg/mmol, mm[Hg], %, lb).")
    date: dt.date = Field(description="When the value was measured (effective date; the report's date when the "
                          "chart gives no other).")
    status: Literal["final", "amended", "corrected", "preliminary", "registered"] = "final"
    reference_range: ReferenceRange | None = Field(
        None, description="The laboratory's own normal range for this result (for x_uln() and x_lln()).")

    @field_validator("value", mode="before")
    @classmethod
    def _value_not_too_long(cls, value: object) -> object:
        """Checked before the union of value types, so that the message is this one, not one per type."""
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValueError(too_long(len(value)))
        return value


class Condition(_Record):
    """A diagnosis or problem. ``refuted`` is an explicit negative: it counts as evidence of absence.

    When it began (and ended) is either a day (``onset``, ``abatement``) or, when the chart gives it less
    precisely (an age, a year, a month, a period, a range of ages, only the date it was recorded), an
    interval of days (``onset_earliest`` .. ``onset_latest``, either end open) with the chart's words: an
    imprecise date is never read as one of its days."""

    onset: dt.date | None = Field(None, description="The day it began, when the chart gives the day.")
    onset_earliest: dt.date | None = Field(
        None, description="The onset is not known to the day: the first day it can have been (an onset at age 54: "
                          "the 54th birthday; in 2012: 2012-01-01). Absent: no lower bound.")
    onset_latest: dt.date | None = Field(
        None, description="The onset is not known to the day: the last day it can have been (an onset at age 54: the "
                          "day before the 55th birthday; the day the condition was recorded). Absent: no upper bound.")
    onset_text: str | None = Field(
        None, description="The onset as the chart gives it when it is not a day ('at age 54', 'in 2012', "
                          "\"'approximately November 2012'\", 'not charted, recorded 2015-11-01'); quoted in reasons.")
    abatement: dt.date | None = Field(None, description="The day it ended, when the chart gives the day.")
    abatement_earliest: dt.date | None = Field(
        None, description="The abatement is not known to the day: the first day it can have been.")
    abatement_latest: dt.date | None = Field(
        None, description="The abatement is not known to the day: the last day it can have been.")
    abatement_text: str | None = Field(
        None, description="The abatement as the chart gives it when it is not a day ('at age 54', \"'around April "
                          "9, 2013'\"); quoted in reasons.")
    status: Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved", "refuted", "unknown"] = Field(
        "active", description="Clinical status; 'unknown' when the chart does not say (a diagnosis whose activity "
                              "now is not recorded, e.g. an encounter diagnosis): it counts as history, and whether "
                              "it is active is unknown.")
    verification: Literal["confirmed", "provisional", "differential", "unconfirmed"] | None = Field(
        None, description="How sure the diagnosis is. provisional, differential and unconfirmed diagnoses are "
                          "neither evidence of the condition nor of its absence: criteria they could decide are "
                          "unknown, naming them.")
    severity: str | None = Field(
        None, max_length=200, description="How severe, in the words of the FHIR mapping table (mild, moderate, "
                                          "severe; a span such as 'mild to moderate'); read by concept sets that "
                                          "ask for a severity.")
    note: str | None = Field(
        None, max_length=20000, description="The diagnosis's free-text notes; read by concept sets with "
                                            "note_words, never as evidence of absence.")

    @model_validator(mode="after")
    def _one_reading_of_each_date(self):
        for what in ("onset", "abatement"):
            day, lo, hi = (getattr(self, what), getattr(self, f"{what}_earliest"), getattr(self, f"{what}_latest"))
            if day is not None and (lo is not None or hi is not None):
                raise ValueError(f"give either the day '{what}' or the bounds '{what}_earliest'/'{what}_latest' "
                                 f"(when it is not known to the day), not both")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"'{what}_earliest' {lo} is after '{what}_latest' {hi}")
        return self


class Medication(_Record):
    """A drug exposure with its start and (if ended) stop date, and as much of its dosage as the chart gives."""

    start: dt.date | None = None
    stop: dt.date | None = None
    status: Literal["active", "completed", "stopped", "on-hold", "not-taken", "intended", "unknown"] = Field(
        "active", description="'unknown' when the chart does not say whether it was given: never evidence either way.")
    start_is_earliest: bool = Field(
        False, description="`start` is the date the drug was ordered (a prescription's authoredOn): it started then "
                           "or later, if at all. A record dated after the screening date is not seen.")
    route: str | None = Field(None, max_length=200, description="Route as charted ('intravenous', 'oral', 'IV', "
                              "'Topical route'); read by the route words of the vocabulary. When absent, the name's "
                              "route words are read.")
    dose: StrictFloat | StrictInt | None = Field(None, ge=0, description="Amount given at one administration, in "
                                                  "`dose_unit` (e.g. 500 with 'mg').")
    dose_unit: str | None = Field(None, max_length=50, description="Unit of `dose` (mg, g, ug, [IU], mg/kg).")
    doses_per_day: StrictFloat | StrictInt | None = Field(None, gt=0, description="Administrations a day (2 for "
                                                          "twice daily, 0.142857 for weekly).")
    daily_dose: StrictFloat | StrictInt | None = Field(None, ge=0, description="Total a day, when the chart gives "
                                                       "it so, in `daily_dose_unit`.")
    daily_dose_unit: str | None = Field(None, max_length=50, description="Unit of `daily_dose` (the amount, e.g. 'mg').")
    stop_reason: str | None = Field(None, description="Why it was stopped, as charted "
                                    "('adverse event', 'lack of efficacy', 'patient choice').")

    @model_validator(mode="after")
    def _amounts_have_units(self):
        if self.dose is not None and not self.dose_unit:
            raise ValueError("'dose' needs 'dose_unit'")
        if self.daily_dose is not None and not self.daily_dose_unit:
            raise ValueError("'daily_dose' needs 'daily_dose_unit'")
        return self


class Procedure(_Record):
    """A procedure or intervention (biopsy, plasmapheresis, ECMO, trial enrolment)."""

    date: dt.date | None = None
    end: dt.date | None = None
    status: Literal["completed", "in-progress", "not-done", "planned"] = "completed"


class Immunization(_Record):
    """A vaccination (CVX or local code)."""

    date: dt.date | None = None
    status: Literal["completed", "not-done"] = "completed"


class Allergy(_Record):
    """An allergy or intolerance (FHIR AllergyIntolerance): its code or name is the substance (penicillin,
    peanut). ``refuted`` is an explicit negative; an unconfirmed or presumed one is no evidence either way."""

    onset: dt.date | None = Field(None, description="When it began, else when it was recorded.")
    status: Literal["active", "inactive", "resolved", "refuted", "unknown"] = "active"
    verification: Literal["confirmed", "unconfirmed", "presumed"] | None = None
    type: Literal["allergy", "intolerance"] | None = None
    category: list[Literal["food", "medication", "environment", "biologic"]] = Field(
        default_factory=list, description="FHIR categories of the substance: an unrecognised food or environment "
                                          "allergy is no evidence either way about a drug allergy.")
    criticality: Literal["low", "high", "unable-to-assess"] | None = None
    reactions: list[str] = Field(default_factory=list, description="Manifestations as charted (hives, anaphylaxis).")


class FamilyHistory(_Record):
    """A condition of a relative (FHIR FamilyMemberHistory.condition): its code or name is the condition."""

    relationship: str | None = Field(None, description="Who: mother, father, sister (or a v3 RoleCode such as MTH).")
    date: dt.date | None = Field(None, description="When the family history was recorded.")
    onset_age: float | None = Field(None, description="The relative's age at onset, in years, when recorded.")
    status: Literal["completed", "partial", "health-unknown"] = "completed"


class Fact(_Record):
    """A recorded yes/no fact a chart or a person confirms: consent, pregnancy, childbearing potential."""

    value: StrictBool
    date: dt.date | None = None


class UnmappedRecord(BaseModel):
    """Part of the source chart that is not in the profile (or only partly), and why: never silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT)

    resource: str = Field(description="The source record, e.g. 'Observation/abc' or 'Bundle.entry[4]'.")
    reason: str = Field(description="Why it was not used, e.g. 'code system http://acme.org/lab is not known'.")
    category: Literal["observations", "conditions", "medications", "procedures", "immunizations", "facts",
                      "allergies", "family_history"] | None = \
        Field(None, description="The part of the record it would belong to, when the whole record was not used: a "
                                "declared-complete part holding it is not complete as far as this record goes.")
    code: str | None = Field(None, description="Its code ('system:code') when it has one, to tell what it could be.")
    name: str | None = Field(None, description="Its name as charted, to tell what it could be.")
    date: dt.date | None = Field(None, description="Its date, when it has one.")

    @model_serializer(mode="wrap")
    def _without_empty(self, handler):
        """Fields that are not known are left out (most unmapped resources are just a type screening does not use)."""
        return {k: v for k, v in handler(self).items() if v is not None}


class Patient(BaseModel):
    """A patient profile: what screening may know about one patient."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Patient profile", str_max_length=MAX_TEXT)

    id: str = Field(description="Identifier of the patient in the calling system.")
    birth_date: dt.date | None = None
    sex: Literal["female", "male", "other", "unknown"] | None = None
    deceased: bool = Field(False, description="The chart records the patient as deceased (with `deceased_date` when "
                                              "it gives the date): not screened as alive.")
    deceased_date: dt.date | None = Field(None, description="Date of death, when recorded.")
    observations: list[Observation] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    procedures: list[Procedure] = Field(default_factory=list)
    immunizations: list[Immunization] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    allergies: list[Allergy] = Field(default_factory=list, description="Allergies and intolerances.")
    family_history: list[FamilyHistory] = Field(default_factory=list, description="Conditions of relatives.")
    complete: list[Category] = Field(
        default_factory=list,
        description="Parts of the record known to be complete: for these, no record means absent.",
    )
    unmapped: list[UnmappedRecord] = Field(
        default_factory=list,
        description="Source records (e.g. FHIR resources) that could not be mapped; copied into the result.",
    )


