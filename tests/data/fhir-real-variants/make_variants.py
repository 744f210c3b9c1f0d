"""Write the one-field variants of ../shared/data/fhir-real bundles (run from the repository root)."""
import copy, json, sys
from pathlib import Path
SRC = Path("../shared/data/fhir-real"); OUT = Path("tests/data/fhir-real-variants")

def load(name): return json.loads((SRC / name).read_text())
def res(b, rtype, rid):
    return next(e["resource"] for e in b["entry"] if e["resource"].get("resourceType") == rtype and e["resource"].get("id") == rid)
def save(name, b, what):
    b = copy.deepcopy(b); b["id"] = name
    (OUT / f"{name}.json").write_text(json.dumps(b, ensure_ascii=False) + "\n")
    rows.append((name, what))
rows = []
F001 = "hl7r4-assembled-f001-pieter.json"
VS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CS = "http://terminology.hl7.org/CodeSystem/condition-clinical"

b = load(F001); del res(b, "Condition", "f002")["clinicalStatus"]
save("f001-nsclc-no-clinicalstatus", b, f"{F001}: Condition/f002 (NSCLC) without clinicalStatus")
for v in ("provisional", "differential", "unconfirmed"):
    b = load(F001); res(b, "Condition", "f002")["verificationStatus"]["coding"][0]["code"] = v
    save(f"f001-nsclc-{v}", b, f"{F001}: Condition/f002 verificationStatus {v}")
for c in ("recurrence", "relapse"):
    b = load(F001); res(b, "Condition", "f002")["clinicalStatus"]["coding"][0]["code"] = c
    save(f"f001-nsclc-{c}", b, f"{F001}: Condition/f002 clinicalStatus {c}")
b = load(F001); res(b, "Condition", "f002")["code"]["coding"] = [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C34.9", "display": "Bronchus or lung, unspecified"}]
save("f001-nsclc-who-icd10", b, f"{F001}: Condition/f002 coded in WHO ICD-10 (http://hl7.org/fhir/sid/icd-10 C34.9)")
b = load(F001); res(b, "Condition", "f002")["code"]["coding"][0]["system"] = "urn:oid:2.16.840.1.113883.6.96"
save("f001-nsclc-snomed-oid", b, f"{F001}: Condition/f002's SNOMED CT system written as its OID (urn:oid:2.16.840.1.113883.6.96)")
b = load(F001); p = res(b, "Patient", "f001"); del p["deceasedBoolean"]; p["deceasedDateTime"] = "2013-01-05"
save("f001-deceased", b, f"{F001}: Patient deceasedDateTime 2013-01-05 instead of deceasedBoolean false")
b = load(F001); p = res(b, "Patient", "f001"); del p["gender"]
p["extension"] = [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"}]
save("f001-birthsex-only", b, f"{F001}: Patient without gender, with the US Core birth-sex extension M")
b = load(F001); b["entry"] = [e for e in b["entry"] if e["resource"]["resourceType"] != "Patient"]
save("f001-no-patient", b, f"{F001}: the Patient entry removed")
b = load(F001); b["entry"].append({"fullUrl": "urn:uuid:8b0f0a3e-2a43-4bd6-9c0a-5d0e4f3c1a01", "resource": {
    "resourceType": "Observation", "id": "sars-cov-2-pcr", "status": "final",
    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "94531-1", "display": "SARS-CoV-2 (COVID-19) RNA panel - Respiratory specimen by NAA with probe detection"}], "text": "SARS-CoV-2 (COVID-19) RNA panel - Respiratory specimen by NAA with probe detection"},
    "subject": {"reference": "Patient/f001"}, "effectiveDateTime": "2013-04-04T08:30:00+02:00",
    "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260373001", "display": "Detected (qualifier value)"}], "text": "Detected (qualifier value)"}}})
save("f001-sars-cov-2-panel", b, f"{F001}: one Observation added, a SARS-CoV-2 RNA panel (LOINC 94531-1, as Synthea writes it) Detected on 2013-04-04")
for status, prov in (("active", "permit"), ("rejected", "deny")):
    b = load(F001); b["entry"].append({"fullUrl": "urn:uuid:5c3e8d1e-7f00-4b7a-9f0e-1c2d3e4f5a6b", "resource": {
        "resourceType": "Consent", "id": f"consent-{status}", "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/f001"}, "dateTime": "2013-04-04",
        "policy": [{"uri": "https://clinicaltrials.gov/study/NCT04348461"}],
        "provision": {"type": prov}}})
    save(f"f001-consent-{status}", b, f"{F001}: one research Consent added, status {status}, policy naming NCT04348461")
b = load(F001)
b["entry"].append(copy.deepcopy(json.loads((OUT / "f001-sars-cov-2-panel.json").read_text())["entry"][-1]))
res(b, "Observation", "sars-cov-2-pcr")["effectiveDateTime"] = "2013-04-31T08:30:00+02:00"
save("f001-sars-cov-2-panel-invalid-date", b, f"{F001}: the SARS-CoV-2 RNA panel of f001-sars-cov-2-panel.json, with an invalid effectiveDateTime (2013-04-31)")
PAT1 = "hl7r4-assembled-pat1-medications.json"
for s in ("cancelled", "entered-in-error", "draft", "unknown"):
    b = load(PAT1); res(b, "MedicationRequest", "medrx0317")["status"] = s
    save(f"pat1-alemtuzumab-order-{s}", b, f"{PAT1}: MedicationRequest/medrx0317 (alemtuzumab) status {s}")
lines = ["# One-field variants of the real bundles", "",
         "Each file is a copy of a bundle in `../shared/data/fhir-real` (see its SOURCES.md) with one change,",
         "made to test one way real charts are written. The originals are not copied here.", "",
         "| file | original and change |", "|---|---|"]
lines += [f"| {n}.json | {w} |" for n, w in rows]
(OUT / "README.md").write_text("\n".join(lines) + "\n")
print(len(rows))
