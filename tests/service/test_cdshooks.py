"""CDS Hooks 2.0 over real HTTP: discovery, the patient-view call with prefetch, and with data fetched
from a FHIR server (started here on the loopback) using the request's bearer token, never logged."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date

import httpx
import pytest

import screening

from .support import CRITERIA, EXAMPLES, fhir_server, fhir_store_from_bundle, serve

TOKEN = "tok-3f9c1e-never-in-logs"
LUPUS_BUNDLE = EXAMPLES / "fhir" / "phase-ii-lupus-msc-ineligible.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("cds"), "--timeout", "30") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def patient_of(bundle_path):
    bundle = json.loads(bundle_path.read_text())
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def call(patient_id, prefetch=None, fhir=None, token=None):
    """A patient-view request shaped as in the specification's example."""
    body = {"hookInstance": str(uuid.uuid4()), "hook": "patient-view",
            "context": {"userId": "Practitioner/example", "patientId": patient_id, "encounterId": "89284"}}
    if fhir:
        body["fhirServer"] = fhir
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/Patient.read patient/Observation.read", "subject": "cds-service4"}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def test_discovery_lists_patient_view_with_prefetch_templates(client):
    services = client.get("/cds-services").json()["services"]
    assert len(services) == 1
    s = services[0]
    assert s["hook"] == "patient-view" and s["id"] == "trial-eligibility" and s["description"] and s["title"]
    prefetch = s["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    for resource in ("Condition", "Observation", "MedicationRequest", "MedicationStatement", "Procedure",
                     "Immunization", "Consent"):
        assert any(t.startswith(f"{resource}?patient={{{{context.patientId}}}}") for t in prefetch.values()), resource


def expected_results(bundle_path):
    patient = screening.load_patient(bundle_path)
    today = date.today()
    return {t.id: screening.screen(patient, t, as_of=today)
            for t in (screening.load_criteria(p) for p in sorted(CRITERIA.glob("*.yaml")))}


def check_cards(cards, expected):
    """One card per trial; its summary and indicator follow the library's verdict for the same chart."""
    assert len(cards) == len(expected)
    for c in cards:
        assert set(c) >= {"summary", "indicator", "source", "detail", "links"} and len(c["summary"]) < 140
        assert c["indicator"] in ("info", "warning", "critical") and c["source"]["label"]
        trial = next(t for t in expected if f" {t}:" in c["summary"])
        r = expected[trial]
        if r.verdict.value == "ineligible":
            first = r.failed[0]
            kind = next((x.kind.value for x in r.criteria if x.id == first), None) or \
                next(b.kind.value for b in r.bullets if b.bullet == first)
            words = "excluded by" if kind == "exclusion" else "fails"
            assert c["summary"].startswith(f"Likely ineligible for {trial}: ") and f"{words} {first}" in c["summary"]
        elif r.verdict.value == "eligible":
            assert c["summary"].startswith(f"May be eligible for {trial}: all")
        else:
            assert c["summary"].startswith(f"May be eligible for {trial}:")
        assert r.summary in c["detail"]
        assert c["links"][0]["type"] == "absolute"


def test_patient_view_fetches_from_the_fhir_server_with_the_token(client, server):
    store = fhir_store_from_bundle(LUPUS_BUNDLE, token=TOKEN, page_size=3)
    pid = patient_of(LUPUS_BUNDLE)["id"]
    with fhir_server(store) as fhir:
        r = client.post("/cds-services/trial-eligibility", json=call(pid, fhir=fhir, token=TOKEN))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    expected = expected_results(LUPUS_BUNDLE)
    assert expected["Phase-II-Lupus-MSC"].verdict.value == "ineligible"
    check_cards(cards, expected)
    paths = [p for p, _ in store.requests]
    assert f"/Patient/{pid}" in paths
    assert any(p.startswith(f"/Observation?patient={pid}&_offset=3") for p in paths)  # followed 'next' pages
    assert any("_include=MedicationRequest:medication" in p for p in paths)
    assert all(auth == f"Bearer {TOKEN}" for _, auth in store.requests)
    # the card's link shows the per-criterion detail
    lupus = next(c for c in cards if "Phase-II-Lupus-MSC" in c["summary"])
    page = httpx.get(lupus["links"][0]["url"])
    assert page.status_code == 200 and 'data-verdict="ineligible"' in page.text
    assert TOKEN not in server.log_text() and pid not in server.log_text()
    assert TOKEN not in r.text


def test_patient_view_with_prefetch_makes_no_fetch(client):
    bundle = json.loads(LUPUS_BUNDLE.read_text())
    patient = patient_of(LUPUS_BUNDLE)
    by_type = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])

    def searchset(*types):
        entries = [{"resource": r} for t in types for r in by_type.get(t, [])]
        return {"resourceType": "Bundle", "type": "searchset", "entry": entries} if entries else None

    prefetch = {"patient": patient, "conditions": searchset("Condition"), "observations": searchset("Observation"),
                "medicationRequests": searchset("MedicationRequest", "Medication"),
                "medicationStatements": searchset("MedicationStatement", "Medication"), "medicationAdministrations": searchset("MedicationAdministration", "Medication"),
                "procedures": searchset("Procedure"), "immunizations": None, "consents": None,
                "checklists": searchset("QuestionnaireResponse")}
    store = fhir_store_from_bundle(LUPUS_BUNDLE, token=TOKEN)
    with fhir_server(store) as fhir:
        r = client.post("/cds-services/trial-eligibility",
                        json=call(patient["id"], prefetch=prefetch, fhir=fhir, token=TOKEN))
    assert r.status_code == 200, r.text
    assert store.requests == []  # everything was prefetched (null: the client has no such data)
    check_cards(r.json()["cards"], expected_results(LUPUS_BUNDLE))
    assert "Not fetched" not in r.text


def test_the_specifications_example_request(client):
    """The request in the CDS Hooks specification: only the patient prefetched, no FHIR server to ask."""
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
            "prefetch": {"patient": {"resourceType": "Patient", "gender": "male", "birthDate": "1925-12-23",
                                     "id": "1288992", "active": True}}}
    r = client.post("/cds-services/trial-eligibility", json=body)
    assert r.status_code == 412  # no records and nowhere to fetch them from: the specification's answer
    assert r.json()["error"].startswith("prefetch: error: no records of the patient were prefetched")
    body["prefetch"]["conditions"] = None  # the client has no conditions for this patient
    r = client.post("/cds-services/trial-eligibility", json=body)
    assert r.status_code == 200
    cards = r.json()["cards"]
    lupus = next(c for c in cards if "Phase-II-Lupus-MSC" in c["summary"])  # ages 18 to 75: a man aged 100
    assert lupus["summary"].startswith("Likely ineligible for Phase-II-Lupus-MSC: fails age-max")  # an inclusion
    assert "Not fetched from the chart (screened without them): observations" in lupus["detail"]


def test_fhir_server_refusing_the_token_is_412(client):
    store = fhir_store_from_bundle(LUPUS_BUNDLE, token="another-token")  # our token is refused: 401
    pid = patient_of(LUPUS_BUNDLE)["id"]
    with fhir_server(store) as fhir:
        r = client.post("/cds-services/trial-eligibility", json=call(pid, fhir=fhir, token=TOKEN))
    assert r.status_code == 412
    assert r.json()["error"] == "prefetch.patient: error: the Patient resource is needed (FHIR server answered HTTP 401)"
    assert TOKEN not in r.text


@pytest.mark.parametrize("body, status, message", [
    ({"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "1"}}, 400,
     "hook: error: this service answers 'patient-view', not \"order-sign\""),
    ({"hook": "patient-view", "context": {"patientId": "1"}}, 400, "hookInstance: error: missing"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {}}, 400, "context.patientId: error: missing"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "1"},
      "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"}}, 400,
     "fhirServer: error: required when fhirAuthorization is given"),
    ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "1"}, "prefetch": {"patient": None}}, 412,
     "prefetch.patient: error: the FHIR server has no Patient/1"),
])
def test_bad_hook_calls(client, body, status, message):
    r = client.post("/cds-services/trial-eligibility", json=body)
    assert r.status_code == status and r.json()["error"].startswith(message)
    assert client.post("/cds-services/other", json=body).status_code == 404


def test_a_slow_fhir_server_hits_the_time_limit(tmp_path):
    store = fhir_store_from_bundle(LUPUS_BUNDLE, delay_s=6)
    pid = patient_of(LUPUS_BUNDLE)["id"]
    with serve(tmp_path, "--timeout", "2") as server, fhir_server(store) as fhir:
        t0 = time.monotonic()
        r = httpx.post(server.url + "/cds-services/trial-eligibility", json=call(pid, fhir=fhir), timeout=30)
        elapsed = time.monotonic() - t0
        assert r.status_code == 503
        assert r.json()["error"] == "error: the request took longer than the limit of 2 s"
        assert elapsed < 5.5  # answered at the limit, not when the FHIR server finally answers
        assert httpx.get(server.url + "/healthz").status_code == 200


def test_fetch_reads_at_most_its_byte_budget():
    """A FHIR server answering more than the service reads per call: that part is left out, never half-read."""
    import asyncio

    from screening.service.cdshooks import HookCall, fetch_missing

    store = fhir_store_from_bundle(LUPUS_BUNDLE, page_size=100)
    pid = patient_of(LUPUS_BUNDLE)["id"]
    with fhir_server(store) as fhir:
        call_ = HookCall("x", pid, fhir, {}, token=None)
        fetched, failed = asyncio.run(fetch_missing(call_, 5, 20, max_bytes=3_000))
    assert "patient" in fetched and fetched["patient"]["id"] == pid
    assert failed["observations"] == "the FHIR server's answers are larger than this service reads per call"
    assert "observations" not in fetched


def test_records_of_another_patient_are_refused(client):
    patient = patient_of(LUPUS_BUNDLE)
    other = {"resourceType": "Condition", "id": "c9", "subject": {"reference": "Patient/someone-else"},
             "code": {"text": "lupus nephritis"}}
    prefetch = {"patient": patient, "conditions": {"resourceType": "Bundle", "type": "searchset",
                                                   "entry": [{"resource": other}]}}
    r = client.post("/cds-services/trial-eligibility", json=call(patient["id"], prefetch=prefetch))
    assert r.status_code == 400
    assert r.json()["error"] == ("prefetch.conditions: error: Condition/c9 belongs to Patient/someone-else, "
                                 "not to the patient in context")


def test_a_card_says_excluded_for_an_exclusion_that_holds():
    from screening.service.cdshooks import card

    trial = screening.load_criteria(CRITERIA / "Phase-II-Lupus-MSC.yaml")
    r = screening.screen(screening.load_patient(EXAMPLES / "Phase-II-Lupus-MSC" / "excluded-cyclophosphamide-5-months.json"),
                         trial, as_of="2026-11-23")
    assert r.verdict.value == "ineligible" and "exc-2" in r.failed
    c = card(r, None, {})
    # before: 'Likely ineligible for Phase-II-Lupus-MSC: fails exc-2', as if an inclusion were not met
    assert c["summary"].startswith("Likely ineligible for Phase-II-Lupus-MSC: excluded by exc-2"), c["summary"]
    assert "| exc-2 | fail: excluded |" in c["detail"]
