"""The coordinator's page at `/`: server-rendered HTML forms, no JavaScript, no build step.

Choose trials, upload or paste a patient (native JSON or FHIR Bundle), set the screening
date and the record parts known complete, and see each trial's verdict and a per-criterion
table (the terminal table's colours: pass green, fail red, unknown yellow) with the reading,
the evidence, and what would decide each unknown and who. A person's confirmation is
recorded on the page (as a fact named after the trial and criterion) and the patient is
screened again; the page keeps the patient and the confirmations in its form, the server
keeps nothing. `/funnel` draws a batch's attrition as SVG from a batch output folder, or
from patients uploaded as NDJSON.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import ValidationError

from .. import Fact, screen
from ..report.funnel import Funnel
from ..report.table import evidence_line
from .core import (
    PARTS,
    BadRequest,
    ScreenRequest,
    parse_date,
    parse_parts,
    patient_at,
    screen_all,
    with_confirmations,
)
from .svg import funnel_svg

_ENV = Environment(loader=PackageLoader("screening.service", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)

def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_ENV.get_template(name).render(**context), status)


def install(app: FastAPI) -> None:
    """Add the page's routes to the application."""
    trials = app.state.trials
    runner = app.state.runner
    config = app.state.config

    def form_context(**extra) -> dict:
        ctx = {"trials": list(trials.by_id.values()), "parts": PARTS, "today": app.state.today().isoformat(),
               "selected": set(trials.ids()), "complete": set(), "patient_text": "", "as_of": None,
               "error": None, "results": [], "confirmations": [], "batch": config.batch_root is not None}
        ctx.update(extra)
        return ctx

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home():
        return render("screen.html", **form_context())

    @app.post("/page/screen", response_class=HTMLResponse, include_in_schema=False)
    async def page_screen(request: Request):
        form = await request.form(max_part_size=config.max_body_bytes)
        selected = [v for v in form.getlist("trial") if isinstance(v, str)]
        complete_raw = [v for v in form.getlist("complete") if isinstance(v, str)]
        as_of_raw = form.get("as_of") or ""
        text = form.get("patient_text") or ""
        upload = form.get("patient_file")
        if upload is not None and hasattr(upload, "read"):
            data = await upload.read()
            if data:
                try:
                    text = data.decode("utf-8-sig")
                except UnicodeDecodeError:
                    return render("screen.html", 400, **form_context(
                        error=f"{upload.filename or 'upload'}: error: not UTF-8 text", selected=set(selected)))
        ctx = form_context(selected=set(selected), complete=set(complete_raw), patient_text=text, as_of=as_of_raw)
        try:
            as_of = parse_date(as_of_raw, "screening date", app.state.today())
            complete = parse_parts(complete_raw, "complete")
            chosen = trials.select(selected) if selected else []
            if not chosen:
                raise BadRequest("trials: error: choose at least one trial")
            if not text.strip():
                raise BadRequest("patient: error: upload a patient file or paste one (native JSON or FHIR Bundle)")
            confirmations = _confirmations(form, as_of)
            name = getattr(upload, "filename", None) or "patient"
            patient, results = await runner.run(_read_and_screen, text, name, confirmations, chosen, as_of, complete)
        except BadRequest as err:
            ctx["error"] = err.message
            return render("screen.html", err.status if err.status < 500 else 400, **ctx)
        ctx.update(as_of=as_of.isoformat(), results=[_view(r, trials.get(r.trial)) for r in results],
                   confirmations=[c.model_dump(mode="json") for c in confirmations],
                   confirmations_json=json.dumps([c.model_dump(mode="json", exclude_none=True) for c in confirmations]),
                   patient_name=patient.id)
        return render("screen.html", **ctx)

    @app.get("/results/{key}", response_class=HTMLResponse, include_in_schema=False)
    def result_page(key: str):
        result = app.state.store.get(key)
        if result is None:
            return render("message.html", 404, title="Result not found",
                          message="This result has expired or never existed: results behind card links are kept "
                                  "in memory for a short while only. Open the patient's chart again.")
        return render("result.html", result=_view(result, trials.get(result.trial)))

    @app.get("/funnel", response_class=HTMLResponse, include_in_schema=False)
    def funnel_page(folder: str | None = None):
        ctx = {"trials": list(trials.by_id.values()), "today": app.state.today().isoformat(), "parts": PARTS,
               "folders": _batch_folders(config.batch_root), "folder": folder, "funnels": [], "error": None,
               "batch": config.batch_root is not None}
        if folder:
            try:
                ctx["funnels"] = _read_folder(config.batch_root, folder)
            except BadRequest as err:
                ctx["error"] = err.message
                return render("funnel.html", err.status, **ctx)
        return render("funnel.html", **ctx)

    @app.post("/funnel", response_class=HTMLResponse, include_in_schema=False)
    async def funnel_run(request: Request):
        form = await request.form(max_part_size=config.max_body_bytes)
        ctx = {"trials": list(trials.by_id.values()), "today": app.state.today().isoformat(), "parts": PARTS,
               "folders": _batch_folders(config.batch_root), "folder": None, "funnels": [], "error": None,
               "batch": config.batch_root is not None}
        try:
            selected = [v for v in form.getlist("trial") if isinstance(v, str)]
            chosen = trials.select(selected) if selected else []
            if not chosen:
                raise BadRequest("trials: error: choose at least one trial")
            as_of = parse_date(form.get("as_of") or "", "screening date", app.state.today())
            complete = parse_parts([v for v in form.getlist("complete") if isinstance(v, str)], "complete")
            upload = form.get("patients")
            data = await upload.read() if upload is not None and hasattr(upload, "read") else b""
            if not data:
                raise BadRequest("patients: error: upload an NDJSON file (one patient per line)")
            name = getattr(upload, "filename", None) or "patients.ndjson"
            ctx["funnels"], ctx["errors"] = await runner.run(_run_batch, data, name, chosen, as_of, complete)
            ctx["folder"] = name
        except BadRequest as err:
            ctx["error"] = err.message
            return render("funnel.html", err.status, **ctx)
        return render("funnel.html", **ctx)


def _read_and_screen(text: str, name: str, confirmations: list[Fact], trials: list, as_of: date, complete: list[str]):
    """On a worker thread: read the patient as the command line does, add the confirmations, screen."""
    patient = with_confirmations(patient_at(text, name), confirmations)
    return patient, screen_all(ScreenRequest(patient, trials, as_of, complete, one=False))


def _confirmations(form, as_of: date) -> list[Fact]:
    """Confirmations already recorded (carried in the form) and those just entered."""
    out: list[Fact] = []
    raw = form.get("confirmations") or "[]"
    try:
        carried = json.loads(raw)
        out.extend(Fact.model_validate(c) for c in carried)
    except (ValueError, ValidationError, TypeError):
        raise BadRequest("confirmations: error: the page's recorded confirmations are damaged; screen again") from None
    by = (form.get("confirmed_by") or "").strip()
    when = form.get("confirmed_on") or ""
    new = [(k[len("confirm:"):], v) for k, v in form.multi_items() if k.startswith("confirm:") and v in ("yes", "no")]
    if new:
        if not by:
            raise BadRequest("confirmed by: error: say who confirms (name and role)")
        day = parse_date(when, "confirmed on", as_of)
        if day > as_of:
            raise BadRequest("confirmed on: error: a confirmation cannot be dated after the screening date")
        known = {c.code for c in out}
        for code, answer in new:
            if code in known:
                out = [c for c in out if c.code != code]
            out.append(Fact(code=code, value=answer == "yes", date=day, source=f"confirmed by {by}"))
    return out


def _view(result, trial) -> dict:
    """What the templates show of a result: per criterion the reading, evidence and what would decide it."""
    from ..report.table import status_words

    crit = {c.criterion.id: c.criterion for c in trial.criteria}
    bullets = {b.bullet: b for b in result.bullets if len(b.parts) > 1}
    shown: set[str] = set()
    rows = []
    for c in result.criteria:
        spec = crit.get(c.id)
        decide = []
        if c.status.value == "unknown":
            if c.missing:
                decide.append(("data", "from the chart: " + ", ".join(c.missing)))
            if c.needs_confirmation:
                decide.append(("person", spec.confirm if spec and spec.confirm else "confirmation of this criterion"))
            if not decide:
                decide.append(("data", "data that can be read (see the reason)"))
        b = bullets.get(c.parent) if c.parent else None
        if b is not None and b.bullet not in shown:  # a bullet split into parts: its own row first
            shown.add(b.bullet)
            rows.append({"bullet": b, "status": b.status.value, "words": status_words(b)})
        rows.append({"c": c, "status": c.status.value, "words": status_words(c),
                     "evidence": [evidence_line(e, digits=3) for e in c.evidence],
                     "decide": decide, "confirmable": c.needs_confirmation,
                     "code": f"{result.trial}/{c.id}", "why_confirm": spec.confirm if spec else None,
                     "note": spec.note if spec else None})
    return {"r": result, "title": trial.info.title, "rows": rows, "verdict": result.verdict.value,
            "confirmable": [row for row in rows if row.get("confirmable")]}


# ---------------------------------------------------------------------------------------------------- funnels

def _batch_folders(root: Path | None) -> list[str]:
    if root is None or not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and any(p.glob("funnel-*.csv")):
            out.append(p.name)
    return out


def _read_folder(root: Path | None, name: str) -> list[dict]:
    """The funnels of a batch output folder under the configured root (never a path outside it)."""
    if root is None:
        raise BadRequest("folder: error: this server was started without --batch-root; no batch folders to read", 404)
    base = root.resolve()
    folder = (base / name).resolve()
    if folder != base and base not in folder.parents:
        raise BadRequest(f"folder {name!r}: error: not inside the batch root", 400)
    files = sorted(folder.glob("funnel-*.csv")) if folder.is_dir() else []
    if not files:
        raise BadRequest(f"folder {name!r}: error: no batch output here (no funnel-*.csv)", 404)
    verdicts = _verdicts(folder / "summary.csv")
    out = []
    for f in files:
        try:
            rows = list(csv.DictReader(io.StringIO(f.read_text(encoding="utf-8"))))
            steps = [{k: (int(v) if k not in ("criterion", "kind", "text") and v != "" else v) for k, v in r.items()}
                     for r in rows]
        except (OSError, ValueError, UnicodeDecodeError) as err:
            raise BadRequest(f"{f.name}: error: cannot read this funnel ({type(err).__name__})", 400) from None
        trial = f.stem[len("funnel-"):]
        out.append(_funnel_view(trial, steps, verdicts.get(trial)))
    return out


def _verdicts(summary: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    try:
        with summary.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                counts = out.setdefault(row.get("trial", ""), {})
                counts[row.get("verdict", "")] = counts.get(row.get("verdict", ""), 0) + 1
    except (OSError, UnicodeDecodeError):
        return {}
    return out


def _funnel_view(trial: str, steps: list[dict], verdicts: dict | None) -> dict:
    return {"trial": trial, "steps": steps, "svg": funnel_svg(trial, steps), "verdicts": verdicts or {}}


def _run_batch(data: bytes, name: str, trials: list, as_of: date, complete: list[str]):
    """Screen uploaded NDJSON patients (one bad line reported, the rest screened) and count each trial's funnel."""
    funnels = [Funnel.for_trial(t) for t in trials]
    errors: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(f"{name}: error: not UTF-8 text") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            patient = patient_at(line, f"{name}")
        except BadRequest as err:
            errors.append(_renumber(err.message, name, n))
            continue
        for t, f in zip(trials, funnels, strict=True):
            f.add_result(screen(patient, t, as_of=as_of, complete=complete))
    views = []
    for f in funnels:
        v = f.verdicts
        views.append(_funnel_view(f.trial, f.rows(), {"eligible": v["eligible"], "ineligible": v["ineligible"],
                                                       "undetermined": v["undetermined"]}))
    return views, errors


def _renumber(message: str, name: str, line: int) -> str:
    """A problem found in one NDJSON line, located by the line's number in the file."""
    prefix = f"{name}:1:"
    if message.startswith(prefix):
        return f"{name}:{line}:" + message[len(prefix):]
    return message.replace(f"{name}:", f"{name}:{line}:", 1)

