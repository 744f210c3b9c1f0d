"""Exceptions raised by screening.

ScreeningError                 root of everything this package raises on purpose
├── InputError (ValueError)    bad input; carries the problems with file, line and column
│   ├── PatientError           a patient file or profile that cannot be read or validated
│   ├── RuleFileError          a rule file with schema, expression or unit problems
│   └── BatchError             a batch that cannot start or resume (input, output folder, checkpoint)
└── UnitError (ValueError)     a unit string pint cannot parse or convert

Missing or unusable patient *data* is never an exception: it makes a criterion unknown.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {self.message}"


class ScreeningError(Exception):
    """Root of the exceptions this package raises on purpose."""


class InputError(ScreeningError, ValueError):
    """Input that cannot be used; ``problems`` lists every located problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, file=file)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def first_line(self) -> str:
        """The first problem on one line, for CLI messages."""
        return str(self.problems[0]) if self.problems else "invalid input"


class PatientError(InputError):
    """A patient file or profile that cannot be read or validated."""


class RuleFileError(InputError):
    """A rule file with schema, expression or unit problems."""


class UnitError(ScreeningError, ValueError):
    """A unit string that pint cannot parse, or two units that cannot be converted."""


class BatchError(InputError):
    """A batch that cannot start or resume: missing input, mismatched checkpoint, clashing trials."""
