"""FHIR dosage read into medication attributes: route, dose with its unit, doses a day, stop reason."""

from __future__ import annotations

from pathlib import Path

from screening import load_criteria, screen
from screening.sources.fhir import bundle_to_patient

import builders as B

ROOT = Path(__file__).resolve().parents[2]
ROUTE = "http://snomed.info/sct"


def mapped(*resources):
    return bundle_to_patient(B.bundle(B.patient(), *resources), "test.json")


def solu_medrol(rid: str, kind: str = "MedicationRequest", dose: float = 40, frequency: int | None = None,
                **more) -> dict:
    dosage = {"route": B.cc((ROUTE, "47625008", "Intravenous route")),
              "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg", "system": B.UCUM, "code": "mg"}}]}
    if frequency:
        dosage["timing"] = {"repeat": {"frequency": frequency, "period": 1, "periodUnit": "d"}}
    r = {"resourceType": kind, "id": rid, "status": "active" if kind == "MedicationRequest" else "completed",
         "medicationCodeableConcept": B.cc((B.RXNORM, "6902", "methylprednisolone")), "subject": B.PATIENT_REF}
    if kind == "MedicationRequest":
        r.update(intent="order", authoredOn="2026-10-01", dosageInstruction=[dosage])
    elif kind == "MedicationStatement":
        r.update(effectiveDateTime="2026-10-01", dosage=[dosage])
    else:
        r.update(effectiveDateTime="2026-10-01",
                 dosage={"route": dosage["route"], "dose": dosage["doseAndRate"][0]["doseQuantity"]})
    r.update(more)
    return r


def test_route_dose_and_frequency_are_read_from_each_resource_type():
    p = mapped(solu_medrol("mr", frequency=4), solu_medrol("ms", "MedicationStatement", dose=1000, frequency=1),
               solu_medrol("ma", "MedicationAdministration", dose=500))
    by = {m.source: m for m in p.medications}
    assert (by["MedicationRequest/mr"].route, by["MedicationRequest/mr"].dose, by["MedicationRequest/mr"].dose_unit,
            by["MedicationRequest/mr"].doses_per_day) == ("Intravenous route", 40, "mg", 4.0)
    assert (by["MedicationStatement/ms"].dose, by["MedicationStatement/ms"].doses_per_day) == (1000, 1.0)
    assert (by["MedicationAdministration/ma"].dose, by["MedicationAdministration/ma"].route) == (500, "Intravenous route")


def test_status_reason_is_the_stop_reason():
    r = solu_medrol("ms", "MedicationStatement", status="stopped",
                    statusReason=[B.cc((ROUTE, "281647001", "Adverse reaction"))])
    (m,) = mapped(r).medications
    assert m.stop_reason == "Adverse reaction"


def test_solu_medrol_40_mg_iv_is_no_pulse_and_its_unknown_asks_for_the_daily_dose():
    trial = load_criteria(ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml")

    def exc1a(*resources):
        p = mapped(*resources)
        return next(c for c in screen(p, trial, "2026-11-23", complete=["medications"]).criteria if c.id == "exc-1a")

    c = exc1a(solu_medrol("ms", "MedicationStatement"))  # 40 mg IV, how often not said
    assert c.status.value == "unknown" and "is the daily dose >= 200 mg?" in c.reason
    c = exc1a(solu_medrol("ms", "MedicationStatement", frequency=2))  # 80 mg a day
    assert c.status.value == "pass" and "40 mg a dose (recorded) x 2 a day = 80 mg a day" in c.reason
    c = exc1a(solu_medrol("ma", "MedicationAdministration", dose=1, **{}))
    assert c.status.value == "unknown"  # one administration of 1 mg: others that day are not recorded
    c = exc1a(solu_medrol("ms", "MedicationStatement", dose=1000, frequency=1))
    assert c.status.value == "fail" and "1000 mg a day" in c.reason


def test_a_route_coded_without_a_display_is_read_by_its_snomed_code():
    r = solu_medrol("ms", "MedicationStatement", dose=1000, frequency=1)
    r["dosage"][0]["route"] = {"coding": [{"system": ROUTE, "code": "26643006"}]}  # oral route
    (m,) = mapped(r).medications
    assert m.route == "snomed:26643006"
    trial = load_criteria(ROOT / "criteria" / "Phase-II-Lupus-MSC.yaml")
    c = next(c for c in screen(mapped(r), trial, "2026-11-23", complete=["medications"]).criteria if c.id == "exc-1a")
    assert c.status.value == "pass" and "route oral, not intravenous" in c.reason
    r["dosage"][0]["route"] = {"coding": [{"system": ROUTE, "code": "47625008"}]}  # intravenous route
    c = next(c for c in screen(mapped(r), trial, "2026-11-23", complete=["medications"]).criteria if c.id == "exc-1a")
    assert c.status.value == "fail"
