"""Screen a patient from Python, as clinic software would.

    python examples/library_usage.py [PATIENT.json] [RULES.yaml] [YYYY-MM-DD]

The compiled trial is reusable (and thread-safe): compile once, screen many patients.
The screening date is always explicit; the library never reads the clock or prints.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import screening

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> None:
    patient_file = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "patient.json"
    rules_file = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "bench" / "trial20.yaml"
    as_of = date.fromisoformat(sys.argv[3]) if len(sys.argv) > 3 else date(2026, 11, 23)

    try:
        trial = screening.load_criteria(rules_file)
        patient = screening.load_patient(patient_file)
    except screening.InputError as err:  # every problem, located: file:line:column
        sys.exit(str(err))

    result = screening.screen(patient, trial, as_of=as_of, complete={"procedures"})
    print(f"{result.trial} / {result.patient} on {result.as_of}: {result.verdict.value}")
    print(result.summary)
    for c in result.criteria:
        flag = " (needs a person)" if c.needs_confirmation else ""
        print(f"  {c.id:<12} {c.kind.value:<9} {c.status.value:<7} {c.reason}{flag}")
    if result.missing:
        print("would decide the unknowns:", ", ".join(result.missing))


if __name__ == "__main__":
    main()
