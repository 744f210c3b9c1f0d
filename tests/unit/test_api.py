"""The public API is pinned: changing it must be a deliberate, visible edit of this list."""

from __future__ import annotations

import screening

PUBLIC = [
    "BatchError", "BatchSummary", "Category", "CompiledTrial", "Condition", "CriterionResult", "Evidence", "Fact", "Immunization", "InputError",
    "Medication", "Observation", "Patient", "PatientError", "Problem", "Procedure", "RuleFile", "RuleFileError",
    "ScreeningError", "ScreeningResult", "Status", "UnitError", "UnmappedRecord", "Verdict", "__version__",
    "compile_text",
    "load_criteria", "load_patient", "parse_patient", "run_batch", "screen", "synth_patients",
]


def test_all_is_pinned():
    assert sorted(screening.__all__) == sorted(PUBLIC)
    assert len(set(screening.__all__)) == len(screening.__all__)


def test_every_public_name_exists():
    for name in screening.__all__:
        assert getattr(screening, name) is not None, name


def test_star_import_gives_exactly_all():
    ns: dict = {}
    exec("from screening import *", ns)
    assert sorted(k for k in ns if k != "__builtins__") == sorted(PUBLIC)


def test_exception_hierarchy():
    from screening import InputError, PatientError, RuleFileError, ScreeningError, UnitError

    assert issubclass(PatientError, InputError) and issubclass(RuleFileError, InputError)
    assert issubclass(InputError, ScreeningError) and issubclass(InputError, ValueError)
    assert issubclass(UnitError, ScreeningError) and issubclass(UnitError, ValueError)


def test_version_is_a_string():
    assert isinstance(screening.__version__, str) and screening.__version__.count(".") >= 1
