"""Pydantic models: the patient profile (``patient``), the rule file (``rulefile``) and the screening
result (``result``): plain data and their validation, which are also the JSON Schemas.

Belongs here: the shapes of the data that cross the library's boundary. Not here: behaviour
(evaluation, unit conversion, matching) or reading files; models import only ``values.logic``.
"""

from .patient import Category, Condition, Fact, Immunization, Medication, Observation, Patient, Procedure
from .result import BulletPart, BulletResult, CriterionResult, Evidence, ScreeningResult, Verdict
from .rulefile import ConceptSet, Criterion, DataItem, DataType, Derivation, Kind, Pick, RuleFile, TrialInfo

__all__ = [
    "BulletPart", "BulletResult",
    "Category", "ConceptSet", "Condition", "Criterion", "CriterionResult", "DataItem", "DataType", "Derivation",
    "Evidence", "Fact", "Immunization", "Kind", "Medication", "Observation", "Patient", "Pick", "Procedure",
    "RuleFile", "ScreeningResult", "TrialInfo", "Verdict",
]
