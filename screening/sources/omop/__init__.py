"""OMOP CDM 5.4 as a patient source, and profiles written as OMOP tables (`screening load`).

    with OmopSource.open("path/to/omop-folder", as_of=date(2026, 11, 23)) as source:
        for patient, location in source:
            screen(patient, trial, as_of=...)

``database`` opens a folder of CSV or Parquet files, a DuckDB file or a PostgreSQL schema behind
typed views; ``concepts`` is the one place that maps concepts to the profile's codes (and, for the
SQL path, codes to concept sets); ``reader`` maps persons to profiles; ``load`` writes profiles.
"""

from .concepts import Concept, Concepts, Mapping, code_condition, concept_set_sql, mapping
from .database import OmopDatabase, OmopError, is_database, open_database
from .reader import POLICIES, BatchInput, OmopSource, read_patients

__all__ = [
    "BatchInput", "Concept", "Concepts", "Mapping", "OmopDatabase", "OmopError", "OmopSource", "POLICIES", "code_condition",
    "concept_set_sql", "is_database", "mapping", "open_database", "read_patients",
]
