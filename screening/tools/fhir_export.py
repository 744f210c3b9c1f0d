"""A native profile written as a FHIR R4 collection Bundle (the inverse of the mapping).

Used to check that the FHIR path screens like the native one, and to give sites a FHIR
version of a hand-written profile. Codes whose prefix has no code system in
``data/fhir-systems.yaml`` cannot be written and raise ValueError; facts are written only
when the mapping table has a FHIR form for them (pregnancy status, research consent).
``complete`` has no FHIR equivalent and is not written.
"""

from __future__ import annotations

from typing import Any

from ..model.patient import Patient
from ..sources.fhir.mapping import UCUM
from ..sources.fhir.tables import tables

_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _coding(code: str) -> dict:
    prefix, _, value = code.partition(":")
    system = tables().system_of.get(prefix)
    if system is None or not value:
        raise ValueError(f"code {code!r}: no FHIR code system for prefix {prefix!r}")
    return {"system": system, "code": value}


def _concept(r: Any) -> dict:
    cc: dict = {}
    codes = ([r.code] if r.code else []) + list(r.codes)
    if codes:
        cc["coding"] = [_coding(c) for c in codes]
    if r.name:
        cc["text"] = r.name
    return cc


def patient_to_bundle(patient: Patient) -> dict:
    """A collection Bundle with a Patient and one resource per record."""
    m = tables().mapping
    subject = {"reference": f"Patient/{patient.id}"}
    res: list[dict] = []
    p: dict = {"resourceType": "Patient", "id": patient.id}
    if patient.birth_date:
        p["birthDate"] = patient.birth_date.isoformat()
    if patient.sex:
        p["gender"] = patient.sex
    res.append(p)

    def add(kind: str, body: dict) -> None:
        res.append({"resourceType": kind, "id": f"{kind.lower()}-{len(res)}", **body})

    for o in patient.observations:
        body: dict = {"status": o.status, "code": _concept(o), "subject": subject,
                      "effectiveDateTime": o.date.isoformat()}
        v = o.value
        if isinstance(v, bool):
            body["valueBoolean"] = v
        elif isinstance(v, (int, float)) and (o.unit or isinstance(v, float)):
            q: dict = {"value": v}
            if o.unit:
                q.update(unit=o.unit, system=UCUM, code=o.unit)
            body["valueQuantity"] = q
        elif isinstance(v, int):
            body["valueInteger"] = v
        else:
            body["valueString"] = str(v)
        add("Observation", body)
    for c in patient.conditions:
        body = {"code": _concept(c), "subject": subject}
        if c.status == "refuted":
            body["verificationStatus"] = {"coding": [{"system": _VERIFICATION, "code": "refuted"}]}
        else:
            body["clinicalStatus"] = {"coding": [{"system": _CLINICAL, "code": c.status}]}
        for what in ("onset", "abatement"):  # a day; else the interval as a period (the onset happened within
            day = getattr(c, what)               # it), else the chart's words
            bounds = {k: v.isoformat() for k, v in (("start", getattr(c, f"{what}_earliest")),
                                                    ("end", getattr(c, f"{what}_latest"))) if v}
            if day:
                body[f"{what}DateTime"] = day.isoformat()
            elif bounds:
                body[f"{what}Period"] = bounds
            elif getattr(c, f"{what}_text"):
                words = getattr(c, f"{what}_text")
                quoted = len(words) > 1 and words[0] == words[-1] and words[0] in "'\""  # as the mapping quotes them
                body[f"{what}String"] = words[1:-1] if quoted else words
        add("Condition", body)
    for d in patient.medications:
        body = {"status": d.status, "medicationCodeableConcept": _concept(d), "subject": subject}
        period = {k: v.isoformat() for k, v in (("start", d.start), ("end", d.stop)) if v}
        if period:
            body["effectivePeriod"] = period
        add("MedicationStatement", body)
    for pr in patient.procedures:
        status = {"planned": "preparation"}.get(pr.status, pr.status)
        body = {"status": status, "code": _concept(pr), "subject": subject}
        if pr.end:
            body["performedPeriod"] = {k: v.isoformat() for k, v in (("start", pr.date), ("end", pr.end)) if v}
        elif pr.date:
            body["performedDateTime"] = pr.date.isoformat()
        add("Procedure", body)
    for im in patient.immunizations:
        body = {"status": im.status, "vaccineCode": _concept(im), "patient": subject}
        if im.date:
            body["occurrenceDateTime"] = im.date.isoformat()
        else:
            body["occurrenceString"] = "date not recorded"
        add("Immunization", body)
    for f in patient.facts:
        codes = [c for c in [f.code, *f.codes] if c]
        fact_obs = next(((code, spec) for code, spec in m["fact_observations"].items()
                         if set(codes) & set(spec["codes"]) or f.name == spec["name"]), None)
        consent = m["consent"]
        if fact_obs is not None:
            code, spec = fact_obs
            if f.date is None:
                raise ValueError(f"fact {f.label!r} has no date: a FHIR Observation needs one")
            answer = next(k for k, val in spec["values"].items() if val is f.value)
            add("Observation", {"status": "final", "code": {"coding": [_coding(code)], "text": spec["name"]},
                                "subject": subject, "effectiveDateTime": f.date.isoformat(),
                                "valueCodeableConcept": {"coding": [_coding(answer)],
                                                         "text": spec["name"] if f.value else f"not {spec['name']}"}})
        elif set(codes) & set(consent["codes"]):
            status = next(k for k, val in consent["values"].items() if val is f.value)
            body = {"status": status, "patient": subject,
                    "scope": {"coding": [{"system": _CONSENT_SCOPE, "code": consent["scopes"][0]}]},
                    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}]}
            if f.date:
                body["dateTime"] = f.date.isoformat()
            add("Consent", body)
        elif f.code and "/" in f.code and f.code.partition(":")[0] not in tables().system_of:
            qid, _, link = f.code.rpartition("/")  # a confirmation '<trial>/<criterion>': a checklist answer
            body = {"status": "completed", "questionnaire": f"Questionnaire/{qid}", "subject": subject,
                    "item": [{"linkId": link, **({"text": f.name} if f.name else {}),
                              "answer": [{"valueBoolean": f.value}]}]}
            if f.date:
                body["authored"] = f.date.isoformat()
            add("QuestionnaireResponse", body)
        else:
            if f.date is None:
                raise ValueError(f"fact {f.label!r} has no date: a FHIR Observation needs one")
            add("Observation", {"status": "final", "code": _concept(f), "subject": subject,
                                "effectiveDateTime": f.date.isoformat(), "valueBoolean": f.value})
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:screening:{r['resourceType']}/{r['id']}", "resource": r} for r in res]}
