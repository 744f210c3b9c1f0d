"""screening: eligibility screening of patients against clinical-trial rule files.

    trial = screening.load_criteria("criteria/NCT01056471.yaml")
    result = screening.screen(patient, trial, as_of=date(2026, 11, 23))
    result.verdict, [(c.id, c.status, c.reason) for c in result.criteria]

Every criterion comes out pass, fail or unknown (Kleene logic) with a reason naming the
values, units, dates, thresholds and windows used. Nothing reads the clock or prints.
"""

from .engine.evaluate import screen
from .errors import InputError, PatientError, Problem, RuleFileError, ScreeningError, UnitError
from .model import (
    Category, Condition, CriterionResult, Evidence, Fact, Immunization, Medication, Observation, Patient,
    Procedure, RuleFile, ScreeningResult, Verdict,
)
from .model.patient import UnmappedRecord
from .rules.compiled import CompiledTrial
from .rules.compiler import compile_text, load_criteria
from .sources.files import load_patient
from .sources.native import parse_patient
from .values.logic import Status
from .version import __version__

# Batch screening and synthetic patients are imported on first use: `screening screen`
# should not pay for multiprocessing and the generator at start-up.
# The generator lives in tools/, outside the library's layers (it knows the seed trials).
_LAZY = {"run_batch": ".batch.run", "BatchSummary": ".batch.run", "BatchError": ".batch.run",
         "synth_patients": ".tools.synth"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'screening' has no attribute {name!r}")


__all__ = [
    "BatchError", "BatchSummary", "Category", "CompiledTrial", "Condition", "CriterionResult", "Evidence", "Fact",
    "Immunization", "InputError", "Medication", "Observation", "Patient", "PatientError", "Problem", "Procedure",
    "RuleFile", "RuleFileError", "ScreeningError", "ScreeningResult", "Status", "UnitError", "UnmappedRecord",
    "Verdict", "__version__", "compile_text", "load_criteria", "load_patient", "parse_patient", "run_batch", "screen",
    "synth_patients",
]
