"""Load test of `screening serve` on the loopback: requests/s and p50/p99 latency at 1, 8 and 32 clients.

    python bench/service_bench.py                 # a table; --json for machine-readable figures
    python bench/service_bench.py --requests 200  # fewer requests per level (bounded either way)

Starts `screening serve` (all four seed trials, default limits) on 127.0.0.1 and a free
port, and posts two payloads to POST /screen?trial=NCT01056471&as_of=2026-11-23: the
native profile examples/NCT01056471/eligible.json, and the ~200-resource FHIR R4 Bundle
that bench/fhir_bench.py builds (the same example plus two years of chart history). For
each payload and each number of concurrent clients (the server runs with default limits
except `--timeout 120`, so that queueing shows as latency rather than as 503s) (keep-alive connections, one asyncio
task each) it sends a fixed number of requests after a warm-up, checks every answer (200,
verdict eligible), and reports requests per second over the wall time and the 50th and
99th percentile of the per-request latency. The load generator runs on the same machine
and shares its cores with the server: the figures are a floor for a dedicated host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fhir_bench import build_bundle  # noqa: E402  (bench/ is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "examples" / "NCT01056471" / "eligible.json"
PARAMS = {"trial": "NCT01056471", "as_of": "2026-11-23", "complete": "conditions,medications,procedures"}
LEVELS = (1, 8, 32)


def calibration() -> float:
    """Seconds for 3 million additions in pure Python: how loaded the shared machine is (about 0.2 s idle)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, extra: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "screening.cli", "serve", "--trials", str(ROOT / "criteria"), "--port", str(port),
           *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"screening serve exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("screening serve did not become ready")


async def level(url: str, body: bytes | None, clients: int, requests: int, warmup: int) -> dict:
    """Send ``requests`` POSTs from ``clients`` concurrent connections; latency of each, wall time of all."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        async def one() -> float:
            nonlocal failures
            t0 = time.perf_counter()
            if body is None:  # the HTTP round trip alone, for comparison
                r = await client.get("/healthz")
                ok = r.status_code == 200
            else:
                r = await client.post("/screen", params=PARAMS, content=body,
                                      headers={"content-type": "application/json"})
                ok = r.status_code == 200 and r.json().get("verdict") == "eligible"
            dt = time.perf_counter() - t0
            if not ok:
                failures += 1
            return dt

        await asyncio.gather(*(one() for _ in range(warmup)))
        todo = iter(range(requests))

        async def worker():
            for _ in todo:
                latencies.append(await one())

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    latencies.sort()
    return {"clients": clients, "requests": requests, "failures": failures, "rps": requests / wall,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400, help="requests per level for the native profile")
    ap.add_argument("--bundle-requests", type=int, default=100, help="requests per level for the FHIR bundle")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--server-args", default="--timeout 120",
                    help="`screening serve` options (default: a time limit that lets 32 clients queue for a bundle)")
    args = ap.parse_args()

    bundle = build_bundle(200)
    payloads = [("GET /healthz (no screening)", None, args.requests),
                ("native profile", NATIVE.read_bytes(), args.requests),
                (f"FHIR bundle ({len(bundle['entry'])} resources)", json.dumps(bundle).encode(), args.bundle_requests)]
    before = calibration()
    port = free_port()
    proc = start_server(port, args.server_args.split())
    rows = []
    try:
        for name, body, n in payloads:
            for clients in LEVELS:
                res = asyncio.run(level(f"http://127.0.0.1:{port}", body, clients, n, warmup=min(20, n)))
                res.update(payload=name, bytes=len(body or b""))
                rows.append(res)
                if not args.json:
                    print(f"{name:32} {clients:3} clients  {res['rps']:7.1f} req/s  p50 {res['p50_ms']:7.1f} ms  "
                          f"p99 {res['p99_ms']:7.1f} ms  failures {res['failures']}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    load, after = os.getloadavg(), calibration()
    if args.json:
        print(json.dumps({"load_average": load, "calibration_s": [before, after], "levels": rows}, indent=2))
    else:
        print(f"load average at the end (the machine is shared): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
              f"3M additions took {before:.2f} s before and {after:.2f} s after (about 0.2 s on an idle core)")
    if any(r["failures"] for r in rows):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
