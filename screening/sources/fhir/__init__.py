"""FHIR R4 input: a Bundle (collection, searchset, document, transaction) screened like a native profile.

    patient = bundle_to_patient(json.load(f), "bundle.json")   # a screening.Patient
    patient.unmapped                                            # what could not be used, and why

Resources are validated with the fhir.resources R4B models (imported only here, when a
Bundle is read), then mapped by the tables in ``data/fhir-systems.yaml`` (code
system URIs -> 'loinc', 'snomed', ...) and ``data/fhir-mapping.yaml`` (statuses,
coded values, facts). Patient, Observation, Condition, MedicationStatement/Request/
Administration (with Medication), Procedure, Immunization, research Consent and trial
checklists (QuestionnaireResponse) are mapped; every other resource is listed in
``Patient.unmapped`` with the reason. An invalid bundle raises ``PatientError`` naming
the entry, the resource and the field.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ...errors import PatientError, Problem
from ...model.patient import Patient, UnmappedRecord
from ..base import SourcedPatient, Where
from .mapping import map_bundle
from .parse import parse_bundle

__all__ = ["FhirSource", "UnmappedRecord", "bundle_to_patient", "map_bundle", "parse_bundle"]


def bundle_to_patient(data: dict, file: str | None = None, text: str | None = None, strict: bool = False) -> Patient:
    """Validate a decoded FHIR R4 Bundle and map it to a native profile. Raises PatientError.

    ``text``, the JSON text ``data`` was decoded from, locates each problem by line and column.
    A resource that is not valid FHIR is listed in ``unmapped`` with its problems and the rest
    is mapped; with ``strict`` it rejects the bundle.
    """
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise PatientError(Problem("not a FHIR Bundle (resourceType 'Bundle')", file))
    return map_bundle(parse_bundle(data, file, text, strict), file)


class FhirSource:
    """A ``PatientSource`` over FHIR R4 Bundles already decoded from JSON: (bundle, where, text)
    triples, ``text`` being the JSON the bundle was decoded from (for line and column) or None."""

    def __init__(self, bundles: Iterable[tuple[Any, Where, str | None]]):
        self.bundles = bundles

    def patients(self) -> Iterator[SourcedPatient]:
        for data, where, text in self.bundles:
            try:
                yield SourcedPatient(where, bundle_to_patient(data, where.file, text))
            except PatientError as err:
                yield SourcedPatient(where, error=err)
