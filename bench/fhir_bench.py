"""Benchmark: one FHIR R4 Bundle of about 200 resources screened against one trial.

    python bench/fhir_bench.py            # prints a table; --json for machine-readable figures

The bundle is built deterministically from examples/fhir/nct01056471-eligible.json plus
two years of chart history (encounters, vital signs and blood-pressure panels, labs with
the EHR's own codes beside LOINC, medication orders with their Medication resources,
conditions, procedures, immunizations). The three stages are timed separately, warm, as
medians of repeated blocks: parse (validation with the fhir.resources R4B models), map
(resources -> native profile) and evaluate (screening the profile against the compiled
NCT01056471 rule file). The verdict is checked before timing.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from timing import per_call  # bench/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 23)
EXAMPLE = ROOT / "examples" / "fhir" / "nct01056471-eligible.json"
RULES = ROOT / "criteria" / "NCT01056471.yaml"
LOINC, SNOMED, RXNORM, CVX, CPT = ("http://loinc.org", "http://snomed.info/sct",
                                   "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/cvx",
                                   "http://www.ama-assn.org/go/cpt")
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.67"


def cc(*codings, text=None):
    out = {"coding": [dict(zip(("system", "code", "display"), c)) for c in codings]}
    if text:
        out["text"] = text
    return out


def build_bundle(target: int = 200) -> dict:
    """The example bundle plus chart history up to ``target`` resources (deterministic)."""
    bundle = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    pid = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    ref = {"reference": f"Patient/{pid}"}
    extra: list[dict] = []
    start = AS_OF - timedelta(days=730)
    labs = [(("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"), "mg/dL", 0.9),
            (("718-7", "Hemoglobin [Mass/volume] in Blood"), "g/dL", 14.1),
            (("6690-2", "Leukocytes [#/volume] in Blood by Automated count"), "10*3/uL", 6.2),
            (("777-3", "Platelets [#/volume] in Blood by Automated count"), "10*3/uL", 240),
            (("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"), "U/L", 22)]
    k = 0
    while len(bundle["entry"]) + len(extra) < target:
        day = start + timedelta(days=11 * k)
        when = f"{day.isoformat()}T09:{k % 60:02d}:00+01:00"
        kind = k % 8
        if kind == 0:
            extra.append({"resourceType": "Encounter", "id": f"enc-h{k}", "status": "finished",
                          "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                          "subject": ref, "period": {"start": when, "end": when}})
        elif kind == 1:
            extra.append({"resourceType": "Observation", "id": f"bp-h{k}", "status": "final", "subject": ref,
                          "code": cc((LOINC, "85354-9", "Blood pressure panel")), "effectiveDateTime": when,
                          "component": [
                              {"code": cc((LOINC, "8480-6", "Systolic blood pressure")),
                               "valueQuantity": {"value": 120 + k % 15, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
                              {"code": cc((LOINC, "8462-4", "Diastolic blood pressure")),
                               "valueQuantity": {"value": 75 + k % 9, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}]})
        elif kind in (2, 3, 4):
            (code, display), unit, value = labs[k % len(labs)]
            extra.append({"resourceType": "Observation", "id": f"lab-h{k}", "status": "final", "subject": ref,
                          "code": cc((LOINC, code, display), (LOCAL, f"15{k:05d}", display.split(" [")[0].upper())),
                          "effectiveDateTime": when,
                          "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}})
        elif kind == 5:
            extra.append({"resourceType": "Observation", "id": f"wt-h{k}", "status": "final", "subject": ref,
                          "code": cc((LOINC, "29463-7", "Body weight")), "effectiveDateTime": when,
                          "valueQuantity": {"value": 82 + (k % 5) / 10, "unit": "kg", "system": UCUM, "code": "kg"}})
        elif kind == 6:
            extra.append({"resourceType": "Medication", "id": f"med-h{k}", "code": {"text": "vitamin D3 1000 UNT Oral Tablet"},
                          "ingredient": [{"itemCodeableConcept": cc((RXNORM, "2418", "cholecalciferol"))}]})
            extra.append({"resourceType": "MedicationRequest", "id": f"mr-h{k}", "status": "completed", "intent": "order",
                          "subject": ref, "medicationReference": {"reference": f"Medication/med-h{k}"},
                          "authoredOn": day.isoformat(), "dosageInstruction": [
                              {"timing": {"repeat": {"boundsPeriod": {"start": day.isoformat(),
                                                                      "end": (day + timedelta(days=90)).isoformat()}}}}]})
        else:
            extra.append({"resourceType": "Procedure", "id": f"mri-h{k}", "status": "completed", "subject": ref,
                          "code": cc((SNOMED, "816077007", "MRI of brain"), (CPT, "70553", "MRI brain with and without contrast")),
                          "performedDateTime": when})
        k += 1
    bundle["entry"] += [{"fullUrl": f"https://fhir.hospital.example/R4/{r['resourceType']}/{r['id']}", "resource": r}
                        for r in extra]
    return bundle


def cold_import() -> float:
    """Seconds to import the FHIR models and read the bundle once, in a new process (median of 3)."""
    code = ("import time, json, sys; sys.path.insert(0, %r); from fhir_bench import build_bundle; b = build_bundle();"
            "t = time.perf_counter(); from screening.sources.fhir import bundle_to_patient; bundle_to_patient(b);"
            "print(time.perf_counter() - t)") % str(Path(__file__).resolve().parent)
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(3)]
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--number", type=int, default=20)
    args = ap.parse_args()

    import screening
    from screening.sources.fhir import map_bundle, parse_bundle

    bundle = build_bundle()
    resources = len(bundle["entry"])
    trial = screening.load_criteria(RULES)
    parsed = parse_bundle(copy.deepcopy(bundle), "bench")
    patient = map_bundle(parsed, "bench")
    result = screening.screen(patient, trial, AS_OF, complete=["conditions", "medications", "procedures"])
    assert result.verdict is screening.Verdict.ELIGIBLE, result.summary

    parse_s = per_call(lambda: parse_bundle(bundle, "bench"), args.number, args.repeat)
    map_s = per_call(lambda: map_bundle(parsed, "bench"), args.number, args.repeat)
    eval_s = per_call(lambda: screening.screen(patient, trial, AS_OF,
                                                  complete=["conditions", "medications", "procedures"]),
                         args.number * 10, args.repeat)
    cold_s = cold_import()
    counts = {c: len(getattr(patient, c)) for c in ("observations", "conditions", "medications", "procedures",
                                                   "immunizations", "facts")}
    figures = {"resources": resources, "records": counts, "unmapped": len(patient.unmapped),
               "criteria": len(result.criteria), "verdict": result.verdict.value,
               "parse_ms": parse_s * 1e3, "map_ms": map_s * 1e3, "evaluate_ms": eval_s * 1e3,
               "total_warm_ms": (parse_s + map_s + eval_s) * 1e3, "first_read_cold_ms": cold_s * 1e3,
               "repeat": args.repeat, "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"bundle: {resources} resources -> {sum(counts.values())} records {counts}, {len(patient.unmapped)} unmapped")
    print(f"trial: {trial.id}, {len(result.criteria)} criteria, verdict {result.verdict.value}")
    print(f"{'stage':<34}{'median':>12}")
    for label, value in (("parse (fhir.resources R4B)", parse_s), ("map (resources -> profile)", map_s),
                         ("evaluate (screen)", eval_s), ("total, warm", parse_s + map_s + eval_s),
                         ("first read in a new process", cold_s)):
        print(f"{label:<34}{value * 1e3:>9.2f} ms")
    print("(first read: importing the FHIR models, reading the tables, parsing and mapping once)")


if __name__ == "__main__":
    main()
