"""Settings of the HTTP service: where the trials are, and the limits every request runs under."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceConfig:
    """What `screening serve` was started with; every limit is configurable on the command line."""

    trials: Path = Path("criteria")
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 5_000_000  # a request body larger than this gets 413
    timeout_s: float = 10.0  # time per request, FHIR fetches included; then 503
    max_concurrency: int = 4  # screenings running at once (threads); more wait in the queue
    max_queue: int = 64  # screenings waiting for a slot; more get 503 at once
    fhir_timeout_s: float = 5.0  # one request to a CDS client's FHIR server
    fhir_max_pages: int = 20  # 'next' links followed per prefetch query
    fhir_max_bytes: int = 20_000_000  # bytes read from a FHIR server per hook call
    batch_root: Path | None = None  # batch output folders the page may read (None: none)
    cds_complete: tuple[str, ...] = ()  # record parts a CDS client's FHIR server is trusted to hold in full
    public_url: str | None = None  # base URL used in CDS card links (default: the request's own)
    result_ttl_s: float = 900.0  # how long a CDS card's detail link stays valid (kept in memory only)
    result_max: int = 1000  # results kept for card links at most
