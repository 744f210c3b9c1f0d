"""Pydantic models: the patient profile, the rule file and the screening result."""

from .criteria import ConceptSet, Criterion, DataItem, DataType, Derivation, Kind, Pick, RuleFile, TrialInfo
from .patient import Category, Condition, Fact, Immunization, Medication, Observation, Patient, Procedure
from .result import CriterionResult, Evidence, ScreeningResult, Verdict

__all__ = [
    "Category", "ConceptSet", "Condition", "Criterion", "CriterionResult", "DataItem", "DataType", "Derivation",
    "Evidence", "Fact", "Immunization", "Kind", "Medication", "Observation", "Patient", "Pick", "Procedure",
    "RuleFile", "ScreeningResult", "TrialInfo", "Verdict",
]
