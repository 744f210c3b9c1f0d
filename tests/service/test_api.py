"""The JSON API over real HTTP: `screening serve` on the loopback, httpx as the client.

Results must be exactly what the library gives for the same input (nothing is screened
differently over HTTP); bad input gets a 4xx with one located line, never a traceback.
"""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

import screening

from .support import CRITERIA, EXAMPLES, serve

AS_OF = "2026-11-23"
LUPUS = "Phase-II-Lupus-MSC"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("serve"), "--max-body", "300000") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


TRIAL_IDS = [screening.load_criteria(p).id for p in sorted(CRITERIA.glob("*.yaml"))]  # the order serve loads them


def library(patient_file, trial_file, as_of=AS_OF, complete=()):
    trial = screening.load_criteria(trial_file)
    return screening.screen(screening.load_patient(patient_file), trial, as_of=date.fromisoformat(as_of),
                            complete=list(complete)).model_dump(mode="json")


def test_health_and_ready(client):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "trials": len(TRIAL_IDS), "outstanding": 0}


def test_trials_list_and_detail(client):
    trials = client.get("/trials").json()
    assert [t["id"] for t in trials] == TRIAL_IDS and {"NCT01056471", "NCT04348461", LUPUS} <= set(TRIAL_IDS)
    lupus = next(t for t in trials if t["id"] == LUPUS)
    from screening.report.coverage import coverage

    cov = coverage(screening.load_criteria(CRITERIA / f"{LUPUS}.yaml"))
    assert (lupus["criteria"], lupus["machine"], lupus["confirm"]) == (cov.criteria, cov.machine, cov.confirm)
    assert lupus["criteria"] == 19 and lupus["machine"] + lupus["confirm"] == 19 and lupus["confirm"] >= 2
    detail = client.get(f"/trials/{LUPUS}").json()
    assert detail["trial"]["id"] == LUPUS
    by_id = {c["id"]: c for c in detail["criteria"]}
    assert by_id["exc-2"]["kind"] == "exclusion" and "cyclophosphamide" in by_id["exc-2"]["text"].lower()
    assert by_id["exc-2"]["rule"]  # the rule beside its verbatim text
    assert detail["coverage"]["machine_share"] == pytest.approx(cov.machine / 19, abs=1e-3)
    missing = client.get("/trials/NCT000")
    assert missing.status_code == 404
    assert missing.json()["error"].startswith(f"trial 'NCT000': no such trial (loaded: {TRIAL_IDS[0]}, ")


@pytest.mark.parametrize("name", ["eligible.json", "excluded-cyclophosphamide-5-months.json",
                                  "pending-confirmation.json", "undetermined-stale-upcr.json"])
def test_screen_native_profile_same_as_library(client, name):
    body = (EXAMPLES / LUPUS / name).read_bytes()
    got = client.post("/screen", params={"trial": LUPUS, "as_of": AS_OF}, content=body)
    assert got.status_code == 200, got.text
    expected = library(EXAMPLES / LUPUS / name, CRITERIA / f"{LUPUS}.yaml")
    assert got.json() == expected
    want = json.loads((EXAMPLES / LUPUS / "expected.json").read_text())[name]["verdict"]
    assert got.json()["verdict"] == want


def test_screen_fhir_bundle_same_as_library(client):
    path = EXAMPLES / "fhir" / "nct04348461-eligible.json"
    got = client.post("/screen", params=[("trial", "NCT04348461"), ("as_of", AS_OF),
                                         ("complete", "conditions,medications,procedures")],
                      content=path.read_bytes())
    assert got.status_code == 200, got.text
    expected = library(path, CRITERIA / "NCT04348461.yaml", complete=["conditions", "medications", "procedures"])
    assert got.json() == expected and expected["verdict"] == "eligible"
    assert any(e["source"].startswith("Observation/") for c in got.json()["criteria"] for e in c["evidence"]
               if e["source"])


def test_screen_envelope_and_all_trials(client):
    patient = json.loads((EXAMPLES / LUPUS / "excluded-cyclophosphamide-5-months.json").read_text())
    got = client.post("/screen", json={"patient": patient, "as_of": AS_OF})
    assert got.status_code == 200
    results = got.json()
    assert [r["trial"] for r in results] == TRIAL_IDS
    lupus = results[TRIAL_IDS.index(LUPUS)]
    assert lupus["verdict"] == "ineligible" and "exc-2" in lupus["failed"]
    del patient["complete"]
    two = client.post("/screen", json={"patient": patient, "as_of": AS_OF, "trials": [LUPUS, "NCT04348461"],
                                       "complete": ["medications"]}).json()
    assert [r["trial"] for r in two] == [LUPUS, "NCT04348461"] and two[0]["complete"] == ["medications"]


def test_screening_date_defaults_to_servers_today(client):
    got = client.post("/screen", params={"trial": LUPUS}, content=(EXAMPLES / LUPUS / "eligible.json").read_bytes())
    assert got.json()["as_of"] == date.today().isoformat()


def one_line(response) -> str:
    body = response.json()
    assert set(body) == {"error", "status", "request_id"} and body["status"] == response.status_code
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    assert response.headers["x-request-id"] == body["request_id"]
    return body["error"]


def test_malformed_json_is_located(client):
    r = client.post("/screen", params={"trial": LUPUS}, content=b'{\n  "id": "p1",\n  "sex": female\n}')
    assert r.status_code == 400
    assert one_line(r) == "request body:3:10: error: invalid JSON: Expecting value"


def test_schema_violation_is_located_in_the_body(client):
    text = '{"id": "p1",\n "observations": [{"code": "loinc:2890-5", "value": 150, "date": "2026-13-40"}]}'
    r = client.post("/screen", params={"trial": LUPUS}, content=text.encode())
    assert r.status_code == 400
    assert one_line(r).startswith("request body:2:66: error: observations[0].date: ")
    envelope = '{"as_of": "2026-11-23",\n "patient": {"id": "p1",\n   "sex": "yes"}}'
    r = client.post("/screen", content=envelope.encode())
    assert one_line(r).startswith("request body:3:11: error: sex: ")


def test_bad_fhir_bundle_is_located(client):
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": {"resourceType": "Patient", "id": "p", "birthDate": "not a date"}}]}
    r = client.post("/screen", params={"trial": LUPUS}, json=bundle)
    assert r.status_code == 400
    assert one_line(r).startswith("request body:1:") and "Patient/p" in r.json()["error"]


@pytest.mark.parametrize("params, content, message", [
    ({"trial": "nope"}, b'{"id": "p"}', "trial 'nope': no such trial"),
    ({"as_of": "23/11/2026"}, b'{"id": "p"}', 'query as_of: expected a date as YYYY-MM-DD, got "23/11/2026"'),
    ({"as_of": "2026-02-30"}, b'{"id": "p"}', "query as_of: '2026-02-30' is not a calendar date"),
    ({"complete": "labs"}, b'{"id": "p"}', "query complete: unknown record part 'labs'"),
    ({}, b"", "request body: error: empty body"),
    ({}, b"\xff\xfe{}", "request body:1:1: error: not UTF-8 text (byte 0xff)"),
    ({}, b"[1, 2]", "request body: error: a patient profile must be a JSON object"),
    ({}, b'{"patient": {"id": "p"}, "trial": "x"}', "request body:1:35: error: unknown field 'trial'"),
])
def test_bad_requests_get_one_line(client, params, content, message):
    r = client.post("/screen", params=params, content=content)
    assert 400 <= r.status_code < 500
    assert one_line(r).startswith(message)


def test_oversized_body_is_refused(client, server):
    big = b'{"id": "p", "note": "' + b"x" * 400_000 + b'"}'
    r = client.post("/screen", content=big)
    assert r.status_code == 413
    assert one_line(r) == f"request body: error: {len(big)} bytes is over the limit of 300000 bytes"

    def chunks():  # no Content-Length: refused while it streams in
        yield b'{"id": "p", "note": "'
        for _ in range(50):
            yield b"y" * 10_000
        yield b'"}'

    r = client.post("/screen", content=chunks())
    assert r.status_code == 413 and "over the limit of 300000 bytes" in one_line(r)
    assert client.get("/healthz").status_code == 200  # the server is still there


def test_unknown_path_and_method(client):
    r = client.get("/nothing-here")
    assert r.status_code == 404 and one_line(r) == "/nothing-here: error: no such page or endpoint"
    r = client.delete("/screen")
    assert r.status_code == 405 and one_line(r) == "/screen: error: method DELETE is not allowed here"


def test_openapi_uses_the_library_models(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    patient_schema = screening.Patient.model_json_schema(ref_template="#/components/schemas/{model}")
    assert schemas["Patient"]["properties"] == patient_schema["properties"]
    assert set(schemas["ScreeningResult"]["properties"]) == set(screening.ScreeningResult.model_fields)
    assert "/screen" in spec["paths"] and "/cds-services/{service_id}" in spec["paths"]
    assert client.get("/docs").status_code == 404  # no page that would load scripts from a CDN


def test_log_has_no_patient_data(client, server):
    profile = json.loads((EXAMPLES / LUPUS / "eligible.json").read_text())
    client.post("/screen", params={"trial": LUPUS, "as_of": AS_OF}, json=profile)
    client.post("/screen", params={"trial": LUPUS, "as_of": "2026-99-99"}, json=profile)
    log = server.log_text()
    assert "POST /screen 200" in log and "POST /screen 400" in log
    for secret in (profile["id"], profile["birth_date"], "mg/mmol", "2026-99-99", "Traceback"):
        assert secret not in log


def test_two_worker_processes(tmp_path):
    """--workers 2: each process builds the same application from the same settings."""
    body = (EXAMPLES / LUPUS / "excluded-cyclophosphamide-5-months.json").read_bytes()
    expected = library(EXAMPLES / LUPUS / "excluded-cyclophosphamide-5-months.json", CRITERIA / f"{LUPUS}.yaml")
    with serve(tmp_path, "--workers", "2", "--max-body", "100000", ready_timeout=300) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        for _ in range(4):
            r = c.post("/screen", params={"trial": LUPUS, "as_of": AS_OF}, content=body)
            assert r.status_code == 200 and r.json() == expected
        big = c.post("/screen", content=b"{" + b" " * 200_000 + b"}")
        assert big.status_code == 413  # the settings reached the workers
        assert "with 2 worker process(es)" in s.log_text()
