"""CDS Hooks 2.0: the discovery document, a patient-view service, and its cards.

The EHR sends the patient's chart as prefetched FHIR resources (one key per template
below); whatever it leaves out is fetched from its ``fhirServer`` with the bearer token in
``fhirAuthorization``, which is used for those requests only and never logged or returned.
The resources are put into one collection Bundle and read by the same FHIR mapping as
``screening screen bundle.json``; the cards say per trial what the verdict is and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import ScreeningResult, Verdict, __version__
from ..report.table import status_words
from .core import PARTS, BadRequest

SERVICE_ID = "trial-eligibility"

# prefetch key -> (FHIR query template, record part its resources fill; None for the patient itself)
PREFETCH: dict[str, tuple[str, str | None]] = {
    "patient": ("Patient/{{context.patientId}}", None),
    "conditions": ("Condition?patient={{context.patientId}}", "conditions"),
    "observations": ("Observation?patient={{context.patientId}}", "observations"),
    "medicationRequests": ("MedicationRequest?patient={{context.patientId}}"
                           "&_include=MedicationRequest:medication", "medications"),
    "medicationStatements": ("MedicationStatement?patient={{context.patientId}}"
                             "&_include=MedicationStatement:medication", "medications"),
    "medicationAdministrations": ("MedicationAdministration?patient={{context.patientId}}"
                                  "&_include=MedicationAdministration:medication", "medications"),
    "procedures": ("Procedure?patient={{context.patientId}}", "procedures"),
    "immunizations": ("Immunization?patient={{context.patientId}}", "immunizations"),
    "consents": ("Consent?patient={{context.patientId}}", "facts"),
    "checklists": ("QuestionnaireResponse?patient={{context.patientId}}", "facts"),
}


def discovery(trial_ids: list[str]) -> dict:
    """The document at GET /cds-services."""
    return {"services": [{
        "hook": "patient-view",
        "id": SERVICE_ID,
        "title": "Clinical trial eligibility",
        "description": ("Screens the patient against the trials this service holds "
                        f"({', '.join(trial_ids)}) and says, per trial, whether they may be eligible, "
                        "are likely ineligible, or what would decide it."),
        "prefetch": {key: template for key, (template, _) in PREFETCH.items()},
    }]}


@dataclass
class HookCall:
    """A validated patient-view call (the token kept apart, never printed)."""

    hook_instance: str
    patient_id: str
    fhir_server: str | None
    prefetch: dict[str, Any]
    token: str | None = field(default=None, repr=False)


def read_call(data: Any) -> HookCall:
    """Validate a CDS Hooks request body for the patient-view service; BadRequest with the field named."""
    if not isinstance(data, dict):
        raise BadRequest("request body: error: expected a CDS Hooks request (a JSON object)")
    hook = data.get("hook")
    if hook != "patient-view":
        raise BadRequest(f"hook: error: this service answers 'patient-view', not {json.dumps(hook)[:40]}")
    hook_instance = data.get("hookInstance")
    if not isinstance(hook_instance, str) or not hook_instance:
        raise BadRequest("hookInstance: error: missing (a UUID for this hook call)")
    context = data.get("context")
    if not isinstance(context, dict):
        raise BadRequest("context: error: missing (an object with patientId and userId)")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id or "/" in patient_id or "?" in patient_id:
        raise BadRequest("context.patientId: error: missing or not a FHIR id")
    server = data.get("fhirServer")
    if server is not None and (not isinstance(server, str) or not server.startswith(("http://", "https://"))):
        raise BadRequest("fhirServer: error: expected the FHIR server's base URL (http or https)")
    auth = data.get("fhirAuthorization")
    token = None
    if auth is not None:
        if not isinstance(auth, dict) or not isinstance(auth.get("access_token"), str):
            raise BadRequest("fhirAuthorization.access_token: error: missing")
        if str(auth.get("token_type", "")).lower() != "bearer":
            raise BadRequest("fhirAuthorization.token_type: error: expected 'Bearer'")
        if server is None:
            raise BadRequest("fhirServer: error: required when fhirAuthorization is given")
        token = auth["access_token"]
    prefetch = data.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise BadRequest("prefetch: error: expected an object of prefetched resources")
    return HookCall(hook_instance, patient_id, server.rstrip("/") if server else None, prefetch, token)


def query_for(key: str, patient_id: str) -> str:
    """A prefetch template with its token replaced: the relative FHIR URL to ask for."""
    return PREFETCH[key][0].replace("{{context.patientId}}", patient_id)


class FetchFailed(Exception):
    def __init__(self, key: str, why: str):
        super().__init__(f"{key}: {why}")
        self.key = key
        self.why = why


async def fetch_missing(call: HookCall, timeout_s: float, max_pages: int,
                        max_bytes: int = 20_000_000) -> tuple[dict[str, Any], dict[str, str]]:
    """Fetch the prefetch keys the client did not send from its FHIR server.

    Returns the fetched values by key, and by key why a fetch failed (for keys left unfetched).
    """
    import httpx

    missing = [k for k in PREFETCH if k not in call.prefetch]
    if not missing:
        return {}, {}
    if call.fhir_server is None:
        return {}, {k: "not prefetched and no fhirServer given" for k in missing}
    headers = {"Accept": "application/fhir+json"}
    if call.token:
        headers["Authorization"] = f"Bearer {call.token}"
    fetched: dict[str, Any] = {}
    failed: dict[str, str] = {}
    budget = [max_bytes]  # bytes all fetches of this call may still read
    async with httpx.AsyncClient(timeout=timeout_s, headers=headers, follow_redirects=False) as client:
        for key in missing:
            try:
                fetched[key] = await _fetch(client, call.fhir_server, query_for(key, call.patient_id), key, max_pages,
                                            budget)
            except FetchFailed as err:
                failed[key] = err.why
    return fetched, failed


async def _get(client, url: str, key: str, budget: list[int]) -> tuple[int, bytes]:
    """One GET: its status and body, read as a stream and stopped once the call's byte budget is spent."""
    import httpx

    try:
        async with client.stream("GET", url) as response:
            chunks = []
            async for chunk in response.aiter_bytes():
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise FetchFailed(key, "the FHIR server's answers are larger than this service reads per call")
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)
    except httpx.HTTPError as err:
        raise FetchFailed(key, f"FHIR server not reachable ({type(err).__name__})") from None


async def _fetch(client, base: str, query: str, key: str, max_pages: int, budget: list[int]) -> Any:
    status, content = await _get(client, f"{base}/{query}", key, budget)
    if status == 404 and "?" not in query:
        return None  # a read of a resource that is not there
    if status != 200:
        raise FetchFailed(key, f"FHIR server answered HTTP {status}")
    body = _json(content, key)
    if body.get("resourceType") != "Bundle":
        return body
    entries = list(body.get("entry") or [])
    pages = 1
    next_url = _next(body)
    while next_url:
        if pages >= max_pages:
            raise FetchFailed(key, f"more than {max_pages} pages of results")
        if not next_url.startswith(base + "/"):
            raise FetchFailed(key, "a 'next' link points away from the FHIR server")
        status, content = await _get(client, next_url, key, budget)
        if status != 200:
            raise FetchFailed(key, f"FHIR server answered HTTP {status} for a next page")
        page = _json(content, key)
        entries.extend(page.get("entry") or [])
        next_url = _next(page)
        pages += 1
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def _json(content: bytes, key: str) -> dict:
    try:
        data = json.loads(content)
    except ValueError:
        raise FetchFailed(key, "FHIR server answered with something that is not JSON") from None
    if not isinstance(data, dict):
        raise FetchFailed(key, "FHIR server answered with JSON that is not a resource")
    return data


def _next(bundle: dict) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


@dataclass
class Chart:
    """The patient's resources gathered from prefetch and fetches, as one Bundle."""

    bundle: dict
    unavailable: dict[str, str]  # prefetch key -> why its data are not there
    parts_fetched: set[str]  # record parts whose every query succeeded


def gather(call: HookCall, fetched: dict[str, Any], failed: dict[str, str]) -> Chart:
    """One collection Bundle of the patient and their records; 412 when the patient itself is unavailable."""
    values = {**{k: v for k, v in call.prefetch.items() if k in PREFETCH}, **fetched}
    if "patient" in failed or "patient" not in values:
        why = failed.get("patient", "not prefetched")
        raise BadRequest(f"prefetch.patient: error: the Patient resource is needed ({why})", 412)
    patient = values.get("patient")
    if patient is None:
        raise BadRequest(f"prefetch.patient: error: the FHIR server has no Patient/{call.patient_id}", 412)
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise BadRequest("prefetch.patient: error: expected a Patient resource")
    if patient.get("id") not in (None, call.patient_id):
        raise BadRequest(f"prefetch.patient: error: Patient/{patient.get('id')} is not the patient in context "
                         f"(context.patientId {call.patient_id!r})")
    records = [k for k in PREFETCH if k != "patient"]
    if all(k in failed for k in records) and call.fhir_server is None:
        raise BadRequest("prefetch: error: no records of the patient were prefetched and no fhirServer was given "
                         f"(expected some of: {', '.join(records)})", 412)
    entries: list[dict] = [{"resource": patient}]
    seen: set[str] = set()
    for key, value in values.items():
        if key == "patient" or value is None:
            continue  # null: the client has no data for this template
        if not isinstance(value, dict):
            raise BadRequest(f"prefetch.{key}: error: expected a FHIR Bundle or resource, or null")
        resources = ([e.get("resource") for e in value.get("entry") or [] if isinstance(e, dict)
                      and (e.get("search") or {}).get("mode") != "outcome"]
                     if value.get("resourceType") == "Bundle" else [value])
        for i, r in enumerate(resources):
            if not isinstance(r, dict) or not isinstance(r.get("resourceType"), str):
                raise BadRequest(f"prefetch.{key}: error: entry {i} holds no FHIR resource")
            ref = f"{r.get('resourceType')}/{r.get('id')}" if r.get("id") else None
            owner = _owner(r)
            if owner is not None and owner != f"Patient/{call.patient_id}" \
                    and not owner.endswith(f"/Patient/{call.patient_id}"):
                raise BadRequest(f"prefetch.{key}: error: {ref or r['resourceType']} belongs to {owner}, not to "
                                 "the patient in context")
            if ref and ref in seen:
                continue  # the same resource under two keys (a MedicationRequest and its Medication)
            if ref:
                seen.add(ref)
            entries.append({"resource": r})
    unavailable = dict(failed)
    parts_fetched = {part for key, (_, part) in PREFETCH.items() if part} - {
        PREFETCH[k][1] for k in unavailable if PREFETCH.get(k, (None, None))[1]}
    return Chart({"resourceType": "Bundle", "type": "collection", "entry": entries}, unavailable, parts_fetched)


# ---------------------------------------------------------------------------------------------------- cards

def _owner(resource: dict) -> str | None:
    """The patient a record is about (its subject or patient reference), if it says."""
    for field_name in ("subject", "patient"):
        ref = resource.get(field_name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str) and "Patient/" in ref["reference"]:
            return ref["reference"]
    return None


def card(result: ScreeningResult, detail_url: str | None, unavailable: dict[str, str]) -> dict:
    """One card for one trial's result: summary (under 140 characters), indicator, detail, source, links."""
    t = result.trial
    if result.verdict is Verdict.ELIGIBLE:
        every = all(c.status.value == "pass" for c in result.criteria)
        counted = f"all {len(result.criteria)} criteria pass" if every else f"all {len(result.bullets)} bullets pass"
        summary, indicator = f"May be eligible for {t}: {counted}", "info"
    elif result.verdict is Verdict.INELIGIBLE:
        summary, indicator = f"Likely ineligible for {t}: {_failed_words(result)}", "info"
    elif result.pending_confirmation and len(result.pending_confirmation) == len(result.unknown):
        summary = f"May be eligible for {t}: pending confirmation of {_list(result.pending_confirmation)}"
        indicator = "warning"
    else:
        summary = f"May be eligible for {t}: undetermined, needs {_list(result.missing or result.unknown)}"
        indicator = "warning"
    lines = [f"**{result.summary}** (as of {result.as_of.isoformat()})", ""]
    decisive = [c for c in result.criteria if c.status.value != "pass"]
    if decisive:
        lines += ["| criterion | status | reason |", "|---|---|---|"]
        lines += [f"| {c.id} | {status_words(c)} | {_cell(c.reason)} |" for c in decisive]
    if unavailable:
        lines += ["", "Not fetched from the chart (screened without them): "
                  + "; ".join(f"{k} ({why})" for k, why in unavailable.items())]
    if result.unmapped:
        lines += ["", f"{len(result.unmapped)} chart record(s) could not be used; see the detail."]
    out = {"summary": _clip(summary), "indicator": indicator, "detail": "\n".join(lines),
           "source": {"label": f"screening {__version__}: rule file {t}"}}
    if detail_url:
        out["links"] = [{"label": f"Per-criterion detail for {t}", "url": detail_url, "type": "absolute"}]
    return out


def _failed_words(result: ScreeningResult) -> str:
    """'fails inc-3; excluded by exc-2': an exclusion that holds excludes, an inclusion not met fails."""
    kinds = {c.id: c.kind.value for c in result.criteria} | {b.bullet: b.kind.value for b in result.bullets}
    excluded = [i for i in result.failed if kinds.get(i) == "exclusion"]
    failing = [i for i in result.failed if kinds.get(i) != "exclusion"]
    return "; ".join(([f"fails {_list(failing)}"] if failing else []) + ([f"excluded by {_list(excluded)}"]
                                                                        if excluded else []))


def _list(ids: list[str], limit: int = 4) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _clip(text: str, limit: int = 139) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip(" ,") + "..."


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def complete_parts(configured: tuple[str, ...], chart: Chart) -> list[str]:
    """Record parts taken as complete: those configured, and only if every query for them succeeded."""
    return [p for p in configured if p in PARTS and p in chart.parts_fetched]
