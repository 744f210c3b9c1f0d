"""Helpers for the service tests: `screening serve` on a free loopback port, and a tiny FHIR server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CRITERIA = ROOT / "criteria"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serve(tmp: Path, *args: str, ready_timeout: float = 90.0):
    """`screening serve` in a child process on 127.0.0.1 and a free port; stopped (and waited for) on exit."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as fh:
        cmd = [sys.executable, "-m", "screening.cli", "serve", "--trials", str(CRITERIA), "--host", "127.0.0.1",
               "--port", str(port), *args]
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"screening serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"screening serve not ready after {ready_timeout} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------------- a FHIR server

@dataclass
class FhirStore:
    """Resources by type, served read and search; requests recorded (path and Authorization header)."""

    resources: dict[str, list[dict]]
    token: str | None = None
    page_size: int = 3
    delay_s: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)


def fhir_store_from_bundle(path: Path, token: str | None = None, **kw) -> FhirStore:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    by_type: dict[str, list[dict]] = {}
    for e in bundle["entry"]:
        r = e["resource"]
        by_type.setdefault(r["resourceType"], []).append(r)
    return FhirStore(by_type, token, **kw)


@contextlib.contextmanager
def fhir_server(store: FhirStore):
    """A small FHIR R4 server on 127.0.0.1: GET Type/id, GET Type?patient=..., paged with 'next' links,
    `_include=X:medication` honoured, a bearer token required when the store has one."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            store.requests.append((self.path, self.headers.get("Authorization")))
            if store.delay_s:
                time.sleep(store.delay_s)
            if store.token and self.headers.get("Authorization") != f"Bearer {store.token}":
                return self._send(401, {"resourceType": "OperationOutcome"})
            parts = urlsplit(self.path)
            segments = [s for s in parts.path.split("/") if s]
            if len(segments) == 2:
                rtype, rid = segments
                for r in store.resources.get(rtype, []):
                    if r.get("id") == rid:
                        return self._send(200, r)
                return self._send(404, {"resourceType": "OperationOutcome"})
            rtype = segments[0]
            query = parse_qs(parts.query)
            matches = list(store.resources.get(rtype, []))
            entries = [{"resource": r, "search": {"mode": "match"}} for r in matches]
            if any(v.endswith(":medication") for v in query.get("_include", [])):
                wanted = {r.get("medicationReference", {}).get("reference") for r in matches}
                entries += [{"resource": m, "search": {"mode": "include"}}
                            for m in store.resources.get("Medication", []) if f"Medication/{m['id']}" in wanted]
            offset = int(query.get("_offset", ["0"])[0])
            page = entries[offset:offset + store.page_size]
            bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "entry": page}
            if offset + store.page_size < len(entries):
                nxt = dict(query, _offset=[str(offset + store.page_size)])
                qs = "&".join(f"{k}={v}" for k, vs in nxt.items() for v in vs)
                bundle["link"] = [{"relation": "next", "url": f"http://127.0.0.1:{port}/{rtype}?{qs}"}]
            return self._send(200, bundle)

        def _send(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request, client_address):  # a client that gave up (time limit tests)
            pass

    httpd = Quiet(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
