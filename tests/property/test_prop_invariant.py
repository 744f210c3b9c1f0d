"""The fail-safe invariant on the four seed trials, by property.

1. Adding a record the engine cannot know (an arbitrary name, an arbitrary code) to a part
   of the record declared complete never turns a criterion into `pass` and never turns a
   verdict into `eligible`: a record that was not understood is no evidence of absence.
2. A FHIR resource the mapper cannot use (no clinicalStatus, a provisional or unconfirmed
   diagnosis, an order with only its authoredOn, status unknown) never makes a criterion
   more decided than the same resource made usable would: where the engine decides with it
   dropped, it decides the same as with it kept.
"""

from __future__ import annotations

import copy
import json
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from screening import load_criteria, load_patient, screen

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-23"
TRIALS = ["Phase-II-Lupus-MSC", "MSV-allo-LN", "NCT01056471", "NCT04348461"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def trial(name: str):
    return load_criteria(ROOT / "criteria" / f"{name}.yaml")


@lru_cache(maxsize=None)
def examples() -> list[tuple[str, str, dict]]:
    """(trial, file, profile): the seed trials' native example patients and adversarial charts with a complete part."""
    out = []
    for t in TRIALS:
        paths = [*(ROOT / "examples" / t).glob("*.json"), *(ROOT / "tests" / "adversarial" / t).glob("*.json")]
        for path in sorted(paths):
            if path.name == "expected.json":
                continue
            profile = json.loads(path.read_text(encoding="utf-8"))
            if profile.get("resourceType") == "Bundle":
                continue
            if set(profile.get("complete", [])) - {"facts"}:
                out.append((t, path.name, profile))
    return out


def statuses(result) -> dict[str, str]:
    return {c.id: c.status.value for c in result.criteria}


# Names no vocabulary knows: words built from letters that spell no drug, disease or procedure
# (every word holds a q, x or z and none of l, m, n, r, s, t, c, h, p, y), with doses and routes.
_word = st.text(alphabet="bdfgkqvxzaeiou", min_size=3, max_size=10).filter(lambda w: any(ch in w for ch in "qxz"))
unknown_names = st.one_of(
    _word,
    st.builds(lambda w, n: f"{w.capitalize()} {n} mg", _word, st.integers(1, 2000)),
    st.builds(lambda w, n, r: f"{w} {n} mg {r}", _word, st.integers(1, 2000), st.sampled_from(["IV", "oral", "SC", "IM"])),
    st.builds(lambda a, b: f"{a} {b}", _word, _word),
)
# Codes that exist in no release: RxNorm, SNOMED CT and CVX numbers beyond any assigned, an NDC
# with labeler 00000, ATC under a group letter that does not exist, ICD-10 categories U9x.
unknown_codes = st.one_of(
    st.integers(90_000_000, 99_999_999).map(lambda n: f"rxnorm:{n}"),
    st.integers(9_900_000_000_000, 9_999_999_999_999).map(lambda n: f"snomed:{n}"),
    st.integers(700, 899).map(lambda n: f"cvx:{n}"),
    st.tuples(st.integers(0, 9999), st.integers(0, 99)).map(lambda t: f"ndc:00000-{t[0]:04d}-{t[1]:02d}"),
    st.integers(0, 99).map(lambda n: f"atc:Y{n:02d}XX{n:02d}"),
    st.tuples(st.integers(90, 99), st.integers(0, 9)).map(lambda t: f"icd10:U{t[0]}.{t[1]}"),
    st.text(alphabet="ABCXYZ0123456789", min_size=2, max_size=8).map(lambda c: f"local:{c}"),
)
days = st.dates(min_value=__import__("datetime").date(2000, 1, 1),
                max_value=__import__("datetime").date(2026, 11, 23)).map(lambda d: d.isoformat())


@st.composite
def unknown_record(draw, part: str) -> dict:
    """One record of ``part`` with an arbitrary name and/or code that no vocabulary knows."""
    rec: dict = {}
    which = draw(st.sampled_from(["name", "code", "both"]))
    if which in ("name", "both"):
        rec["name"] = draw(unknown_names)
    if which in ("code", "both"):
        rec["code"] = draw(unknown_codes)
    day = draw(days)
    if part == "conditions":
        rec["onset"] = day
    elif part == "medications":
        rec["start"] = day
    elif part in ("procedures", "immunizations"):
        rec["date"] = day
    return rec


@st.composite
def chart_plus_unknown(draw):
    """A seed example with 1-3 unknown records added to its declared-complete parts."""
    t, name, profile = draw(st.sampled_from(examples()))
    parts = sorted(set(profile["complete"]) - {"facts"})
    added = []
    for _ in range(draw(st.integers(1, 3))):
        part = draw(st.sampled_from(parts))
        added.append((part, draw(unknown_record(part))))
    return t, name, profile, added


@SETTINGS
@given(chart_plus_unknown())
def test_an_unknown_record_in_a_complete_part_never_makes_a_pass(case) -> None:
    t, name, profile, added = case
    before = screen(profile, trial(t), AS_OF)
    changed = copy.deepcopy(profile)
    for part, rec in added:
        changed.setdefault(part, []).append(rec)
    after = screen(changed, trial(t), AS_OF)
    was, now = statuses(before), statuses(after)
    for cid, status in now.items():
        assert status != "pass" or was[cid] == "pass", (t, name, cid, was[cid], added, after.criteria)
    assert after.verdict.value != "eligible" or before.verdict.value == "eligible", (t, name, added)


# --- FHIR: resources the mapper cannot use -------------------------------------------------

FHIR_BASES = {
    "Phase-II-Lupus-MSC": ["phase-ii-lupus-msc-eligible.json", "phase-ii-lupus-msc-undetermined.json"],
    "NCT01056471": ["nct01056471-eligible.json"],
    "NCT04348461": ["nct04348461-eligible.json", "nct04348461-undetermined.json"],
}
COMPLETE = ["conditions", "medications", "procedures"]
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# Codes the seed trials' concept sets hold, as an EHR codes them (with the display it sends).
CONDITION_CODES = [
    (ICD10CM, "C50.911", "Malignant neoplasm of unspecified site of right female breast"),
    (SNOMED, "363346000", "Malignant neoplastic disease"),
    (SNOMED, "128053003", "Deep venous thrombosis"),
    (SNOMED, "59282003", "Pulmonary embolism"),
    (ICD10CM, "I26.99", "Other pulmonary embolism without acute cor pulmonale"),
    (SNOMED, "85232009", "Left heart failure"),
    (ICD10CM, "J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    (ICD10CM, "Z99.81", "Dependence on supplemental oxygen"),
    (ICD10CM, "Z95.0", "Presence of cardiac pacemaker"),
    (SNOMED, "840539006", "COVID-19"),
]
MEDICATION_CODES = [
    (RXNORM, "68149", "mycophenolate mofetil"),
    (RXNORM, "3002", "cyclophosphamide"),
    (RXNORM, "121191", "rituximab"),
    (RXNORM, "6902", "methylprednisolone"),
    (RXNORM, "612865", "tocilizumab"),
    (RXNORM, "8640", "prednisone"),
]


def _cc(coding):
    return {"coding": [dict(zip(("system", "code", "display"), coding))], "text": coding[2]}


@st.composite
def unusable_and_usable(draw):
    """A resource the mapper cannot use, and the same resource with the flaw repaired."""
    day = draw(st.dates(min_value=__import__("datetime").date(2024, 1, 1),
                        max_value=__import__("datetime").date(2026, 11, 23))).isoformat()
    if draw(st.booleans()):
        coding = draw(st.sampled_from(CONDITION_CODES))
        flaw = draw(st.sampled_from(["no-clinical-status", "provisional", "unconfirmed", "differential"]))
        usable = {"resourceType": "Condition", "id": "adv-x", "code": _cc(coding), "subject": {"reference": "Patient/PATIENT"},
                  "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
                  "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
                  "onsetDateTime": day}
        flawed = copy.deepcopy(usable)
        if flaw == "no-clinical-status":
            del flawed["clinicalStatus"]
        else:
            flawed["verificationStatus"]["coding"][0]["code"] = flaw
    else:
        coding = draw(st.sampled_from(MEDICATION_CODES))
        flaw = draw(st.sampled_from(["authored-only", "status-unknown"]))
        usable = {"resourceType": "MedicationStatement", "id": "adv-x", "status": "active",
                  "medicationCodeableConcept": _cc(coding), "subject": {"reference": "Patient/PATIENT"},
                  "effectivePeriod": {"start": day}}
        if flaw == "authored-only":
            flawed = {"resourceType": "MedicationRequest", "id": "adv-x", "status": "active", "intent": "order",
                      "medicationCodeableConcept": _cc(coding), "subject": {"reference": "Patient/PATIENT"},
                      "authoredOn": day}
        else:
            flawed = copy.deepcopy(usable)
            flawed["status"] = "unknown"
    return flaw, flawed, usable


def _screen_bundle(t: str, base: str, extra: dict | None):
    bundle = json.loads((ROOT / "examples" / "fhir" / base).read_text(encoding="utf-8"))
    pid = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    if extra is not None:
        bundle["entry"].append({"fullUrl": "urn:uuid:adv-x",
                                "resource": json.loads(json.dumps(extra).replace("PATIENT", pid))})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        return screen(load_patient(path), trial(t), AS_OF, complete=COMPLETE)


_BREAST_CA = (ICD10CM, "C50.911", "Malignant neoplasm of unspecified site of right female breast")
_COUNTEREXAMPLE = (
    "Phase-II-Lupus-MSC", "phase-ii-lupus-msc-eligible.json",
    ("no-clinical-status",
     {"resourceType": "Condition", "id": "adv-x", "code": _cc(_BREAST_CA), "subject": {"reference": "Patient/PATIENT"},
      "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]}, "onsetDateTime": "2026-09-02"},
     {"resourceType": "Condition", "id": "adv-x", "code": _cc(_BREAST_CA), "subject": {"reference": "Patient/PATIENT"},
      "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
      "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]}, "onsetDateTime": "2026-09-02"}))


@SETTINGS
@example(case=_COUNTEREXAMPLE)
@given(case=st.sampled_from([(t, b) for t, bs in FHIR_BASES.items() for b in bs]).flatmap(
    lambda tb: st.tuples(st.just(tb[0]), st.just(tb[1]), unusable_and_usable())))
def test_a_resource_the_mapper_cannot_use_never_decides_more_than_keeping_it(case) -> None:
    t, base, (flaw, flawed, usable) = case
    dropped = statuses(_screen_bundle(t, base, flawed))
    kept = statuses(_screen_bundle(t, base, usable))
    for cid, status in dropped.items():
        if status != "unknown":
            assert status == kept[cid], (t, base, flaw, flawed.get("code") or flawed.get("medicationCodeableConcept"),
                                         cid, f"with the flawed resource: {status}", f"with it usable: {kept[cid]}")
