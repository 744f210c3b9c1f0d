"""Bounds on every request: body size, time, and how many screenings run or wait at once.

``Limits`` is plain ASGI middleware: it gives each request an id, refuses a body over the
limit with 413 (by its Content-Length, or while it streams in), answers 503 when a request
runs out of time, and logs one line per request with the id, method, path, status and
time: never the query string, the body, or a header (they may carry patient data or tokens).
``Runner`` runs CPU-bound screening on a bounded pool of threads with a bounded queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger("screening.service")


class BodyTooLarge(Exception):
    """A body that streamed in past the limit (no Content-Length said so beforehand)."""

    def __init__(self, limit: int):
        super().__init__(f"request body: error: over the limit of {limit} bytes")
        self.limit = limit


class Busy(Exception):
    """Every screening slot is taken and the queue is full."""


def _json_error(status: int, message: str, rid: str) -> tuple[dict, bytes]:
    body = json.dumps({"error": message, "status": status, "request_id": rid}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"x-request-id", rid.encode()), (b"connection", b"close")]}
    return start, body


class Limits:
    """ASGI middleware: request id, body-size limit, time limit, one log line per request."""

    def __init__(self, app, max_body_bytes: int, timeout_s: float):
        self.app = app
        self.max_body = max_body_bytes
        self.timeout = timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = secrets.token_hex(6)
        scope.setdefault("state", {})["request_id"] = rid
        t0 = time.perf_counter()
        state = {"status": None}

        async def send_tagged(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", rid.encode())]
            await send(message)

        async def refuse(status: int, message: str):
            if state["status"] is None:  # nothing sent yet: a clean JSON error
                start, body = _json_error(status, message, rid)
                state["status"] = status
                await send(start)
                await send({"type": "http.response.body", "body": body})

        try:
            length = _content_length(scope)
            if length is not None and length > self.max_body:
                if length <= DRAIN_FACTOR * self.max_body:  # read and drop it, so the client reads our answer
                    await asyncio.wait_for(_drain(receive), self.timeout)  # rather than a reset connection
                await refuse(413, f"request body: error: {length} bytes is over the limit of {self.max_body} bytes")
                return
            received = 0

            async def limited_receive():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise BodyTooLarge(self.max_body)
                return message

            await asyncio.wait_for(self.app(scope, limited_receive, send_tagged), self.timeout)
        except BodyTooLarge:
            await refuse(413, f"request body: error: over the limit of {self.max_body} bytes")
        except asyncio.TimeoutError:
            await refuse(503, f"error: the request took longer than the limit of {self.timeout:g} s")
        except Exception as err:  # already answered 500 by the app; log where, never the message (patient data)
            log.error("rid=%s unhandled %s", rid, type(err).__name__)
            await refuse(500, "error: internal error; the request id is in the server's log")
        finally:
            ms = (time.perf_counter() - t0) * 1000
            log.info("rid=%s %s %s %s %.1fms", rid, scope.get("method"), scope.get("path"), state["status"], ms)


DRAIN_FACTOR = 8  # an over-long body up to this many times the limit is read and dropped before the 413


async def _drain(receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _content_length(scope) -> int | None:
    for k, v in scope.get("headers", []):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


class Runner:
    """Runs screening (CPU-bound, synchronous) on at most ``workers`` threads, with at most ``queue`` waiting.

    A request that times out stops waiting; work already running finishes on its thread and
    keeps its slot until then, so the bound on concurrent screenings always holds.
    """

    def __init__(self, workers: int, queue: int):
        self.workers = workers
        self.queue = queue
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="screen")
        self._lock = threading.Lock()
        self._outstanding = 0  # running or waiting

    @property
    def outstanding(self) -> int:
        return self._outstanding

    def saturated(self) -> bool:
        return self._outstanding >= self.workers + self.queue

    async def run(self, fn: Callable[..., Any], *args) -> Any:
        with self._lock:
            if self._outstanding >= self.workers + self.queue:
                raise Busy()
            self._outstanding += 1
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # dropped if it has not started; otherwise it finishes and frees its slot
            raise

    def _done(self, _future) -> None:
        with self._lock:
            self._outstanding -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
