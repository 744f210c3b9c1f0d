"""The OMOP CDM 5.4 tables screening reads and writes: their columns and SQL types.

One description serves the reader (columns are cast to these types whatever the files say:
CSV gives text, Parquet may give int32), the loader (the tables it writes) and the SQL
compiler (the tables it may query). Columns not listed are neither read nor written.
"""

from __future__ import annotations

from dataclasses import dataclass

BIGINT, DOUBLE, DATE, TIMESTAMP, TEXT = "BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "VARCHAR"


@dataclass(frozen=True)
class Table:
    """One CDM table: its name, its columns (name, SQL type) and those the CDM requires."""

    name: str
    columns: tuple[tuple[str, str], ...]
    required: tuple[str, ...] = ()
    vocabulary: bool = False  # a vocabulary table (concept, concept_relationship, concept_ancestor)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def type_of(self, column: str) -> str:
        return dict(self.columns)[column]


def _t(name: str, spec: str, required: str = "", vocabulary: bool = False) -> Table:
    cols = tuple((c.split(":")[0], {"i": BIGINT, "f": DOUBLE, "d": DATE, "t": TIMESTAMP, "s": TEXT}[c.split(":")[1]])
                 for c in spec.split())
    return Table(name, cols, tuple(required.split()), vocabulary)


TABLES: dict[str, Table] = {t.name: t for t in (
    _t("person", "person_id:i gender_concept_id:i year_of_birth:i month_of_birth:i day_of_birth:i "
       "birth_datetime:t race_concept_id:i ethnicity_concept_id:i person_source_value:s gender_source_value:s",
       "person_id gender_concept_id year_of_birth"),
    _t("observation_period", "observation_period_id:i person_id:i observation_period_start_date:d "
       "observation_period_end_date:d period_type_concept_id:i",
       "person_id observation_period_start_date observation_period_end_date"),
    _t("visit_occurrence", "visit_occurrence_id:i person_id:i visit_concept_id:i visit_start_date:d "
       "visit_end_date:d visit_type_concept_id:i visit_source_value:s", "visit_occurrence_id person_id"),
    _t("condition_occurrence", "condition_occurrence_id:i person_id:i condition_concept_id:i condition_start_date:d "
       "condition_end_date:d condition_type_concept_id:i condition_status_concept_id:i stop_reason:s "
       "condition_source_value:s condition_source_concept_id:i",
       "condition_occurrence_id person_id condition_concept_id condition_start_date"),
    _t("drug_exposure", "drug_exposure_id:i person_id:i drug_concept_id:i drug_exposure_start_date:d "
       "drug_exposure_end_date:d verbatim_end_date:d drug_type_concept_id:i stop_reason:s quantity:f days_supply:i "
       "route_concept_id:i drug_source_value:s drug_source_concept_id:i route_source_value:s",
       "drug_exposure_id person_id drug_concept_id drug_exposure_start_date"),
    _t("procedure_occurrence", "procedure_occurrence_id:i person_id:i procedure_concept_id:i procedure_date:d "
       "procedure_end_date:d procedure_type_concept_id:i procedure_source_value:s procedure_source_concept_id:i",
       "procedure_occurrence_id person_id procedure_concept_id procedure_date"),
    _t("measurement", "measurement_id:i person_id:i measurement_concept_id:i measurement_date:d "
       "measurement_type_concept_id:i operator_concept_id:i value_as_number:f value_as_concept_id:i unit_concept_id:i "
       "range_low:f range_high:f measurement_source_value:s measurement_source_concept_id:i unit_source_value:s "
       "value_source_value:s", "measurement_id person_id measurement_concept_id measurement_date"),
    _t("observation", "observation_id:i person_id:i observation_concept_id:i observation_date:d "
       "observation_type_concept_id:i value_as_number:f value_as_string:s value_as_concept_id:i qualifier_concept_id:i "
       "unit_concept_id:i observation_source_value:s observation_source_concept_id:i unit_source_value:s "
       "value_source_value:s", "observation_id person_id observation_concept_id observation_date"),
    _t("device_exposure", "device_exposure_id:i person_id:i device_concept_id:i device_exposure_start_date:d "
       "device_exposure_end_date:d device_type_concept_id:i device_source_value:s device_source_concept_id:i",
       "device_exposure_id person_id device_concept_id device_exposure_start_date"),
    _t("death", "person_id:i death_date:d death_type_concept_id:i cause_concept_id:i cause_source_value:s "
       "cause_source_concept_id:i", "person_id death_date"),
    # extension tables written by `screening load` (not CDM): statuses and declared completeness
    _t("screening_status", "person_id:i table_name:s record_id:i status:s", "person_id table_name record_id status"),
    _t("screening_complete", "person_id:i category:s", "person_id category"),
    _t("concept", "concept_id:i concept_name:s domain_id:s vocabulary_id:s concept_class_id:s standard_concept:s "
       "concept_code:s valid_start_date:d valid_end_date:d invalid_reason:s",
       "concept_id concept_name vocabulary_id concept_code", vocabulary=True),
    _t("concept_relationship", "concept_id_1:i concept_id_2:i relationship_id:s valid_start_date:d valid_end_date:d "
       "invalid_reason:s", "concept_id_1 concept_id_2 relationship_id", vocabulary=True),
    _t("concept_ancestor", "ancestor_concept_id:i descendant_concept_id:i min_levels_of_separation:i "
       "max_levels_of_separation:i", "ancestor_concept_id descendant_concept_id", vocabulary=True),
)}

# The clinical tables whose rows become records: table -> (id column, concept column, source concept
# column, source value column, start date column, end date column or None).
EVENT_TABLES: dict[str, tuple[str, str, str, str, str, str | None]] = {
    "condition_occurrence": ("condition_occurrence_id", "condition_concept_id", "condition_source_concept_id",
                             "condition_source_value", "condition_start_date", "condition_end_date"),
    "drug_exposure": ("drug_exposure_id", "drug_concept_id", "drug_source_concept_id", "drug_source_value",
                      "drug_exposure_start_date", "drug_exposure_end_date"),
    "procedure_occurrence": ("procedure_occurrence_id", "procedure_concept_id", "procedure_source_concept_id",
                             "procedure_source_value", "procedure_date", "procedure_end_date"),
    "measurement": ("measurement_id", "measurement_concept_id", "measurement_source_concept_id",
                    "measurement_source_value", "measurement_date", None),
    "observation": ("observation_id", "observation_concept_id", "observation_source_concept_id",
                    "observation_source_value", "observation_date", None),
    "device_exposure": ("device_exposure_id", "device_concept_id", "device_source_concept_id", "device_source_value",
                        "device_exposure_start_date", "device_exposure_end_date"),
}

# Tables an OMOP database may hold that screening does not read (reported once by `tables_not_read`).
OTHER_CDM_TABLES = ("visit_detail", "note", "note_nlp", "specimen", "fact_relationship", "location", "care_site",
                    "provider", "payer_plan_period", "cost", "drug_era", "dose_era", "condition_era", "episode",
                    "episode_event", "metadata", "cdm_source", "cohort", "cohort_definition", "vocabulary", "domain",
                    "concept_class", "concept_synonym", "relationship", "drug_strength", "source_to_concept_map")
