"""The seam between the engine and where patients come from (as cql-execution separates its
engine from its data): a ``PatientSource`` yields each patient it holds, validated, or the
located error that stopped it being read; one bad record never stops the others.

Implemented by ``native.NativeSource`` (decoded native profiles), ``fhir.FhirSource`` (decoded
FHIR R4 Bundles) and ``files.JsonFiles`` (files of either kind); the OMOP adapter is next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, runtime_checkable

from ..errors import PatientError
from ..model.patient import Patient


@dataclass(frozen=True)
class Where:
    """Where a patient came from, for errors and provenance: a file, a line in it, or any label
    the source gives (an OMOP person id)."""

    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class SourcedPatient:
    """One record of a source: the patient, or the error (every problem located) that stopped it."""

    where: Where
    patient: Patient | None = None
    error: PatientError | None = None

    def __post_init__(self) -> None:
        if (self.patient is None) == (self.error is None):
            raise ValueError("a sourced patient has either a patient or an error")


@runtime_checkable
class PatientSource(Protocol):
    """Where patients come from: every record in the source's order, each read on its own."""

    def patients(self) -> Iterator[SourcedPatient]:
        """Each patient of the source, validated, or the located error of a record that could not be read."""
        ...
