"""screening: eligibility screening of patients against clinical-trial rule files.

    trial = screening.load_criteria("criteria/NCT01056471.yaml")
    result = screening.screen(patient, trial, as_of=date(2026, 11, 23))
    result.verdict, [(c.id, c.status, c.reason) for c in result.criteria]

Every criterion comes out pass, fail or unknown (Kleene logic) with a reason naming the
values, units, dates, thresholds and windows used. Nothing reads the clock or prints.
"""

from .compiled import CompiledTrial
from .compiler import compile_text, load_criteria
from .errors import InputError, PatientError, Problem, RuleFileError, ScreeningError, UnitError
from .evaluate import screen
from .logic import Status
from .models import (
    Category, Condition, CriterionResult, Evidence, Fact, Immunization, Medication, Observation, Patient,
    Procedure, RuleFile, ScreeningResult, Verdict,
)
from .models.patient import UnmappedRecord
from .patients import load_patient, parse_patient

__version__ = "0.1.0"

# Batch screening and synthetic patients are imported on first use: `screening screen`
# should not pay for multiprocessing and the generator at start-up.
_LAZY = {"run_batch": ".batch", "BatchSummary": ".batch", "BatchError": ".batch", "synth_patients": ".synth"}


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
