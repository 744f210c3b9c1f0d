"""The HTTP service: JSON API, CDS Hooks and the coordinator's page, in one FastAPI application.

Built by ``create_app`` from a ``ServiceConfig`` and the compiled trials; ``screening serve``
runs it under uvicorn. Screening runs on a bounded thread pool (``limits.Runner``); every
request is bounded in size and time (``limits.Limits``). Errors are JSON with one located
line (``{"error": "request body:3:5: error: invalid JSON: ...", "status": 400}``), never a
stack trace; the log holds request ids, paths, statuses and timings only.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
import traceback
from collections import OrderedDict
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, Callable, Optional, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import Patient, ScreeningResult, __version__
from ..report.coverage import TrialCoverage, coverage
from ..model.rulefile import Criterion, TrialInfo
from . import cdshooks
from .config import ServiceConfig
from .core import BadRequest, Trials, decode_body, decode_body_json, read_screen_request, screen_all
from .limits import BodyTooLarge, Busy, Limits, Runner

log = logging.getLogger("screening.service")


# ---------------------------------------------------------------------------------------------------- models

class TrialSummary(BaseModel):
    """A loaded trial, as listed by GET /trials."""

    id: str
    title: str
    registry_id: str | None = None
    criteria: int
    machine: int = Field(description="Criteria decided from the record.")
    confirm: int = Field(description="Criteria a person must confirm.")


class TrialDetail(BaseModel):
    """A loaded trial with its criteria (verbatim text and rules) and its coverage."""

    trial: TrialInfo
    criteria: list[Criterion]
    coverage: TrialCoverage


class FhirBundle(BaseModel):
    """A FHIR R4 Bundle (collection, searchset, document, transaction or batch); validated by the FHIR mapping."""

    model_config = ConfigDict(extra="allow", title="FHIR R4 Bundle")
    resourceType: str = Field("Bundle", pattern="^Bundle$")


class ScreenEnvelope(BaseModel):
    """POST /screen with everything in the body (the other form: the patient document as the body, options in the query)."""

    model_config = ConfigDict(extra="forbid", title="Screen request")
    patient: Union[Patient, FhirBundle] = Field(description="A native patient profile or a FHIR R4 Bundle.")
    trials: list[str] = Field(default_factory=list, description="Trial ids (default: every loaded trial).")
    as_of: Optional[date] = Field(None, description="Screening date (default: the server's today).")
    complete: list[str] = Field(default_factory=list, description="Record parts in which no record means absent.")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: one line naming the place (file or field, line and column) and the problem."""

    error: str
    status: int
    request_id: str | None = None


class Health(BaseModel):
    status: str
    trials: int = 0
    outstanding: int = 0


# ---------------------------------------------------------------------------------------------------- results kept for card links

class ResultStore:
    """CDS card detail links: results kept in memory only, for a short while, a bounded number."""

    def __init__(self, ttl_s: float, max_items: int, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max, self.clock = ttl_s, max_items, clock
        self._items: OrderedDict[str, tuple[float, ScreeningResult]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, result: ScreeningResult) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._items[key] = (self.clock() + self.ttl, result)
            while len(self._items) > self.max:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> ScreeningResult | None:
        with self._lock:
            now = self.clock()
            for k in [k for k, (exp, _) in self._items.items() if exp < now]:
                del self._items[k]
            item = self._items.get(key)
            return item[1] if item else None


# ---------------------------------------------------------------------------------------------------- application

def create_app(config: ServiceConfig, trials: Trials | None = None, today: Callable[[], date] = date.today) -> FastAPI:
    """The application: trials (loaded from ``config.trials`` unless given), limits, routes."""
    trials = trials if trials is not None else Trials.load(config.trials)
    runner = Runner(config.max_concurrency, config.max_queue)
    store = ResultStore(config.result_ttl_s, config.result_max)
    ready = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        def warmed(f) -> None:
            if f.exception() is None:
                ready.set()
            else:  # /readyz stays 503; the type only, as everywhere in the log
                log.error("warm-up failed (%s): /readyz will answer 503", type(f.exception()).__name__)

        warm = asyncio.get_running_loop().run_in_executor(None, _warm_up, trials)
        warm.add_done_callback(warmed)
        yield
        runner.shutdown()

    app = FastAPI(title="screening", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Eligibility screening for clinical trials: JSON API, CDS Hooks 2.0 (patient-view) "
                              "and the coordinator's page at /.",
                  responses={400: {"model": ErrorBody}, 413: {"model": ErrorBody}, 503: {"model": ErrorBody}})
    app.state.config, app.state.trials, app.state.runner, app.state.store = config, trials, runner, store
    app.state.today = today

    # --- errors: one located line, never a traceback
    @app.exception_handler(BadRequest)
    async def _bad(request: Request, err: BadRequest):
        return error(request, err.status, err.message)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, err: BodyTooLarge):
        return error(request, 413, str(err))

    @app.exception_handler(Busy)
    async def _busy(request: Request, err: Busy):
        return error(request, 503, "error: busy: every screening slot is taken; retry shortly", {"Retry-After": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException):
        text = err.detail if isinstance(err.detail, str) else "error"
        if err.status_code == 404 and text == "Not Found":
            text = f"{request.url.path}: error: no such page or endpoint"
        elif err.status_code == 405:
            text = f"{request.url.path}: error: method {request.method} is not allowed here"
        return error(request, err.status_code, text)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError):
        first = err.errors()[0] if err.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return error(request, 400, f"{where}: error: {first.get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def _crash(request: Request, err: Exception):
        frames = traceback.extract_tb(err.__traceback__)[-3:]  # where, not what: the message may hold patient data
        log.error("rid=%s internal error %s at %s", rid_of(request), type(err).__name__,
                  " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames)))
        return error(request, 500, "error: internal error; the request id is in the server's log")

    # --- health
    @app.get("/healthz", response_model=Health, tags=["health"], summary="The process is up.")
    def healthz():
        return Health(status="ok", trials=len(trials.by_id), outstanding=runner.outstanding)

    @app.get("/readyz", response_model=Health, tags=["health"], summary="Trials compiled, warmed up, not saturated.",
             responses={503: {"model": Health}})
    def readyz():
        if not ready.is_set():
            return JSONResponse(Health(status="starting", trials=len(trials.by_id)).model_dump(), 503)
        if runner.saturated():
            return JSONResponse(Health(status="busy", trials=len(trials.by_id),
                                       outstanding=runner.outstanding).model_dump(), 503)
        return Health(status="ready", trials=len(trials.by_id), outstanding=runner.outstanding)

    # --- trials
    @app.get("/trials", response_model=list[TrialSummary], tags=["trials"], summary="The loaded trials.")
    def list_trials():
        out = []
        for t in trials.by_id.values():
            cov = coverage(t)
            out.append(TrialSummary(id=t.id, title=t.info.title, registry_id=t.info.registry_id,
                                    criteria=cov.criteria, machine=cov.machine, confirm=cov.confirm))
        return out

    @app.get("/trials/{trial_id}", response_model=TrialDetail, tags=["trials"],
             summary="One trial: criteria with their verbatim text, and coverage.", responses={404: {"model": ErrorBody}})
    def get_trial(trial_id: str):
        t = trials.get(trial_id)
        return TrialDetail(trial=t.info, criteria=[c.criterion for c in t.criteria], coverage=coverage(t))

    # --- screening
    @app.post("/screen", tags=["screening"], response_model=Union[ScreeningResult, list[ScreeningResult]],
              summary="Screen one patient (native profile or FHIR Bundle) against trials.",
              description="The body is the patient document itself (native profile or FHIR R4 Bundle) with "
                          "`trial`, `as_of` and `complete` in the query, or a screen request envelope. One "
                          "result when exactly one trial is asked for, else a list. Bad input: 400 with the "
                          "place (`request body:LINE:COLUMN`) and the problem.",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "oneOf": [{"$ref": "#/components/schemas/ScreenEnvelope"},
                            {"$ref": "#/components/schemas/Patient"},
                            {"$ref": "#/components/schemas/FhirBundle"}]}}}},
                  "parameters": [
                      {"name": "trial", "in": "query", "required": False, "description": "Trial id (repeat; default all).",
                       "schema": {"type": "array", "items": {"type": "string"}}},
                      {"name": "as_of", "in": "query", "required": False, "description": "Screening date YYYY-MM-DD "
                       "(default: the server's today).", "schema": {"type": "string", "format": "date"}},
                      {"name": "complete", "in": "query", "required": False, "description": "Record parts declared "
                       "complete (comma-separated or repeated).", "schema": {"type": "array", "items": {"type": "string"}}}]})
    async def screen_endpoint(request: Request):
        body = await request.body()
        payload = await runner.run(_screen_body, body, _query(request), trials, today())
        return JSONResponse(payload)

    # --- CDS Hooks
    @app.get("/cds-services", tags=["cds-hooks"], summary="CDS Hooks discovery.")
    def cds_discovery():
        return cdshooks.discovery(trials.ids())

    @app.post("/cds-services/{service_id}", tags=["cds-hooks"], summary="The patient-view service: one card per trial.",
              responses={412: {"model": ErrorBody}, 404: {"model": ErrorBody}})
    async def cds_call(service_id: str, request: Request):
        if service_id != cdshooks.SERVICE_ID:
            raise BadRequest(f"cds-services/{service_id}: error: no such service (see GET /cds-services)", 404)
        text = decode_body(await request.body())
        data = decode_body_json(text) if text.strip() else None
        call = cdshooks.read_call(data)
        fetched, failed = await cdshooks.fetch_missing(call, config.fhir_timeout_s, config.fhir_max_pages,
                                                       config.fhir_max_bytes)
        chart = cdshooks.gather(call, fetched, failed)
        complete = cdshooks.complete_parts(config.cds_complete, chart)
        results = await runner.run(_screen_chart, chart.bundle, trials, today(), complete)
        base = (config.public_url or str(request.base_url)).rstrip("/")
        cards = [cdshooks.card(r, f"{base}/results/{store.put(r)}", chart.unavailable) for r in results]
        return {"cards": cards}

    from .page import install as install_page

    install_page(app)
    _document_models(app)
    return app


def _screen_body(body: bytes, query: dict[str, list[str]], trials: Trials, today: date) -> Any:
    """Read and screen a POST /screen body on a worker thread (reading a FHIR bundle is CPU work too)."""
    req = read_screen_request(body, query, trials, today)
    payload = [r.model_dump(mode="json") for r in screen_all(req)]
    return payload[0] if req.one else payload


def _screen_chart(bundle: dict, trials: Trials, as_of: date, complete: list[str]) -> list[ScreeningResult]:
    """Map the gathered chart exactly as a bundle file is read, and screen it against every trial."""
    import json

    from .core import ScreenRequest, patient_at

    patient = patient_at(json.dumps(bundle), "chart")
    return screen_all(ScreenRequest(patient, trials.select(None), as_of, complete, one=False))


def _warm_up(trials: Trials) -> None:
    """Import what the first FHIR request would (the FHIR models) and run every trial once, before /readyz says ready."""
    from .core import patient_at, screen

    bundle = '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "id": "warm-up"}}]}'
    patient = patient_at(bundle, "warm-up")
    for t in trials.by_id.values():
        screen(patient, t, as_of=date(2000, 1, 1))


def _query(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        out.setdefault(k, []).append(v)
    return out


def rid_of(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def error(request: Request, status: int, message: str, headers: dict | None = None) -> JSONResponse:
    """The one error shape: a single line (the place, then the problem), the status and the request id."""
    line = (message or "error").splitlines()[0]
    return JSONResponse({"error": line, "status": status, "request_id": rid_of(request)}, status, headers=headers)


def _document_models(app: FastAPI) -> None:
    """Put the request models (Patient, FhirBundle, ScreenEnvelope) into the OpenAPI components, from the same
    pydantic models as `screening schema`."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ScreenEnvelope, Patient, FhirBundle):
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in js.pop("$defs", {}).items():
                components.setdefault(name, sub)
            components[model.__name__] = js
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def build(config: ServiceConfig, trials: Trials | None = None):
    """The ASGI application with its limits: what uvicorn serves."""
    app = create_app(config, trials)
    return Limits(app, config.max_body_bytes, config.timeout_s), app
