"""The rule file: trial metadata, concept sets, data definitions and criteria (validated from YAML)."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictStr, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Strict(BaseModel):
    # defer_build: a trial loaded from the compiled cache never validates a rule file, so the
    # schemas are built only when one is compiled (saves start-up time of `screening screen`).
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False, defer_build=True)


class TrialInfo(_Strict):
    """Who runs the trial and where its criteria come from."""

    id: StrictStr = Field(pattern=ID_PATTERN, description="Stable id: the registry id, else the sponsor's study id.")
    title: StrictStr
    registry_id: StrictStr | None = Field(None, description="e.g. NCT01056471")
    org_study_id: StrictStr | None = None
    phase: StrictStr | None = None
    sponsor: StrictStr | None = None
    source: StrictStr | None = Field(None, description="Where the criteria were copied from (record file or URL).")
    min_age: int | None = None
    max_age: int | None = None
    sexes: StrictStr | None = None
    notes: list[StrictStr] = Field(default_factory=list)


class ConceptSet(_Strict):
    """A named set of codes and plain names: 'anti-B-cell biologics' = rituximab, belimumab, ..."""

    label: StrictStr | None = None
    codes: list[StrictStr] = Field(default_factory=list, description="'system:code' strings (rxnorm:121191, atc:L01XC02).")
    names: list[StrictStr] = Field(default_factory=list, description="Plain names as charted, matched case-insensitively.")
    include: list[StrictStr] = Field(default_factory=list, description="Other concept sets whose members belong here too.")
    classes: list[StrictStr] = Field(
        default_factory=list, description="Drug classes of the vocabulary (screening/terms/data/drugs-classes.yaml) "
                                          "whose members belong here: immunosuppressant, anti_cd20, corticosteroid ...")
    exclude: list[StrictStr] = Field(
        default_factory=list, description="Other concept sets whose members are taken out of this one "
                                          "(malignancy except non-melanoma skin cancer).")
    include_descendants: bool = Field(
        True, description="ICD-10 codes include every code under them (icd10:G35 finds G35.A); false: exact codes only.")
    clinical_status: list[Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved"]] = Field(
        default_factory=list, description="Conditions only: the record counts only with one of these clinical "
                                          "statuses (a recurrence or relapse charted just 'active', or with no "
                                          "status, cannot be told apart: unknown).")
    severity: list[StrictStr] = Field(
        default_factory=list, description="Conditions only: the record counts only with one of these severities "
                                          "(mild, moderate, severe); no severity recorded, or a span reaching "
                                          "past them ('mild to moderate' for [moderate, severe]): unknown.")
    note_words: list[StrictStr] = Field(
        default_factory=list, description="Conditions only: the record counts only when its note says one of "
                                          "these phrases; a note that does not (or no note) is unknown, never "
                                          "a no.")
    route: Literal["systemic", "intravenous", "oral", "intramuscular", "subcutaneous"] | None = Field(
        None, description="Drug records count only by this route as their names say it: 'systemic' leaves out "
                          "creams, inhalers, eye drops, nasal sprays and joint injections; 'intravenous' asks when "
                          "a name says no route.")
    dose: StrictStr | None = Field(
        None, description="Drug records count only when one administration meets this: an operator, a number and a "
                          "unit, e.g. '>= 500 mg'. A record whose dose is not recorded (nor in its name) is a question.")
    daily_dose: StrictStr | None = Field(
        None, description="Drug records count only when the total a day meets this, e.g. '>= 250 mg' (a charted daily "
                          "dose, or dose x doses a day; one dose alone decides a lower bound). Otherwise a question.")
    exposure: StrictStr | None = Field(
        None, description="Drug records count only when taken at least this long (ISO 8601 'P4W', 'P3M'), from start "
                          "to stop, or to the screening date while active.")
    stable_dose: StrictStr | None = Field(
        None, description="Drug records count only when taken on the same recorded dose for at least this long up "
                          "to the screening date ('P4W'): no other record of the set with another dose in that time.")
    ask_if_named: list[StrictStr] = Field(
        default_factory=list, description="With dose or daily_dose: words of the trial's own term for the treatment "
                                          "('bolus', 'pulse') when the threshold is the rule file's reading of it. A "
                                          "drug record below the threshold whose name or route says one of them is a "
                                          "question, never left out: the chart calls it what the trial names.")
    stop_reason: list[StrictStr] = Field(
        default_factory=list, description="Drug records count only when stopped for one of these reasons, matched by "
                                          "words ('intolerance', 'adverse event', 'lack of efficacy'); a stopped record "
                                          "without a reason is a question.")
    note: StrictStr | None = None


class DataType(str, Enum):
    QUANTITY = "quantity"  # a number with a unit, converted to `unit`
    TITER = "titer"  # '1:160', compared by dilution
    CODED = "coded"  # text such as 'positive', 'III', compared case-insensitively
    FACT = "fact"  # a yes/no fact from the profile's `facts`


class Pick(str, Enum):
    LATEST = "latest"
    EARLIEST = "earliest"
    MAX = "max"
    MIN = "min"


class Derivation(_Strict):
    """A value computed from other data items when it is not recorded itself (PaO2/FiO2, BMI), by a
    formula or by a published equation named (eGFR by CKD-EPI 2021, Cockcroft-Gault)."""

    formula: StrictStr | None = Field(
        None, description="Arithmetic over other quantity items, `age`, numbers and constants with units in "
                          "quotes, e.g. 'pao2 / fio2', 'weight / height ** 2'.")
    equation: StrictStr | None = Field(
        None, description="A published equation by name: egfr_ckd_epi_2021 (creatinine, race-free), "
                          "cockcroft_gault; it reads age and sex from the patient.")
    inputs: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="The equation's inputs: role -> data item ({creatinine: creatinine, "
                                          "weight: weight}).")
    max_spread: StrictStr = Field("P0D", description="How far apart the operands' dates may be (P0D = same day).")

    @model_validator(mode="after")
    def _one_way(self):
        if (self.formula is None) == (self.equation is None):
            raise ValueError("give either 'formula' or 'equation'")
        if self.inputs and self.equation is None:
            raise ValueError("'inputs' belong to an 'equation'")
        return self


class Inference(_Strict):
    """One way a chart states a fact without recording it as such: when the expression holds, the fact is
    `then`, dated by the newest record behind it (an active pregnancy Condition is a record of pregnancy)."""

    when: StrictStr = Field(description="Expression in rule-engine syntax over other items and record functions.")
    then: StrictBool = Field(description="The fact's value when `when` holds.")


class DataItem(_Strict):
    """A named data definition: which records, which unit, how recent, and which value wins."""

    label: StrictStr | None = None
    type: DataType = DataType.QUANTITY
    codes: list[StrictStr] = Field(default_factory=list)
    names: list[StrictStr] = Field(default_factory=list)
    unit: StrictStr | None = Field(None, description="Canonical unit for quantities; thresholds are written in it.")
    context: StrictStr | None = Field(None, description="pint context for conversions that need one (creatinine_ratio).")
    molar_mass: StrictStr | StrictFloat | None = Field(
        None, description="The analyte's molar mass with its unit ('113.12 g/mol' for creatinine): recorded mass "
                          "concentrations convert to amounts of substance and back (mg/dL <-> mmol/L).")
    range: tuple[StrictFloat | None, StrictFloat | None] | None = Field(
        None, description="Plausible values [low, high] in the item's unit, both inclusive, null for no bound: "
                          "a value outside (recorded or computed) is unknown, never compared.")
    values: list[StrictStr] | None = Field(
        None, description="Coded items: every result the item can take ('III', 'IV', ...). A recorded value that is "
                          "none of them (nor a constant a rule compares it with) is unknown, not a non-match; "
                          "positive and negative with their synonyms are known whenever a rule uses either.")
    window: StrictStr | None = Field(None, description="Look-back before the reference date (P3M); older values are stale.")
    pick: Pick = Pick.LATEST
    derive: Derivation | None = None
    running: bool = Field(
        False, description="Quantity items in a unit of time (gestational age): the value grows with time, so a "
                           "value recorded on a date is read on the screening date as that value plus the time since.")
    due_date: list[StrictStr] = Field(
        default_factory=list, description="Gestational age items (running, unit of time): codes of an estimated "
                                          "due date (loinc:11778-8), whose value is a date; the gestational age on "
                                          "the screening date is 280 days minus the days until it.")
    infer: list[Inference] = Field(
        default_factory=list,
        description="Fact items: other records that state the fact. Recorded facts (in the window) and every "
                    "inference that holds are statements; the newest wins, and statements of one date that "
                    "disagree are unknown.")
    otherwise: StrictBool | None = Field(
        None, description="Fact items: the value when no fact is recorded and every inference is decided false "
                          "(a woman is of childbearing potential unless the chart records menopause or "
                          "sterilisation); an inference that is unknown leaves the fact unknown.")
    note: StrictStr | None = None


class Kind(str, Enum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"

    def __str__(self) -> str:
        return self.value


class Criterion(_Strict):
    """One criterion (or one separately decidable part of a bullet) with its verbatim text."""

    id: StrictStr = Field(pattern=ID_PATTERN)
    kind: Kind
    text: StrictStr = Field(description="The criterion's words, verbatim from the trial record.")
    bullet: StrictStr | None = Field(None, description="The whole bullet, verbatim, when `text` is a part of it.")
    parent: StrictStr | None = Field(None, description="Id of the bullet this part belongs to.")
    rule: StrictStr | None = Field(None, description="Expression in rule-engine syntax; true means the text holds.")
    applies_if: StrictStr | None = Field(None, description="Expression; when false the criterion does not apply (pass).")
    confirm: StrictStr | None = Field(
        None, description="Why a person must confirm this; with no rule, decided by a fact named after the id."
    )
    confirmed_by: list[StrictStr] = Field(
        default_factory=list,
        description="With confirm: other recorded facts that confirm it too, by code: 'consent-given/NCT01056471' "
                    "is what a research Consent naming that study records (see the FHIR mapping).")
    note: StrictStr | None = Field(None, description="How an ambiguous text was read; shown in the reason.")
    absent_means_no: list[Literal["conditions", "medications", "procedures", "immunizations", "facts", "allergies",
                                  "family_history"]] = Field(
        default_factory=list, description="Absence by design: for this criterion, no record in these parts of the "
                                          "record counts as 'no' ('no known allergy to ...'), as if they were declared "
                                          "complete; the reason says so. Records the vocabularies cannot place still "
                                          "leave it unknown.")
    at_least: int | None = Field(
        None, ge=1, description="The bullet holds when at least this many of its nested bullets (the criteria "
                                "whose parent is this id) hold: 'one of the following' is 1. The nested bullets are "
                                "alternatives: each shows its own reading, and takes this bullet's status.")
    draft: bool = Field(False, description="Drafted by `screening new` and not yet encoded: a person confirms it "
                                           "until a rule is written (coverage counts drafts apart).")

    @field_validator("rule", "applies_if")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("expression is empty")
        return v


class Bullet(_Strict):
    """How the parts of one bullet (criteria with this `parent`) combine into the bullet's own status."""

    combine: Literal["and", "or"] | None = Field(
        None, description="'and': the bullet's text holds when every applicable part holds (the default for "
                          "inclusions); 'or': when one part applies and holds (the default for exclusions; for "
                          "inclusions, alternative routes: two routes that both fail make the bullet fail even "
                          "when which route applies is unknown).")
    note: StrictStr | None = Field(None, description="How the bullet's parts were read together.")


class RuleFile(_Strict):
    """A trial's rule file, as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Trial rule file", defer_build=True)

    trial: TrialInfo
    concepts: dict[StrictStr, ConceptSet] = Field(default_factory=dict)
    data: dict[StrictStr, DataItem] = Field(default_factory=dict)
    criteria: list[Criterion] = Field(min_length=1)
    bullets: dict[StrictStr, Bullet] = Field(
        default_factory=dict, description="Bullets split into parts (keyed by the parts' `parent`): how the parts "
                                          "combine, when not the kind's default.")
    format: Literal[1] = Field(1, description="Rule file format version.")
