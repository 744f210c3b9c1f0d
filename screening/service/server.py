"""Running the service: load and compile the trials, then serve them with uvicorn."""

from __future__ import annotations

import logging
import sys

from .config import ServiceConfig


def configure_logging() -> None:
    """One line per event on stderr: time, level, message (request ids and timings, never patient data)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore"):  # they log request URLs, which name the patient
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve(config: ServiceConfig, trials=None) -> None:
    """Serve until interrupted; the trials must already be loaded (errors in them are the caller's to report)."""
    import uvicorn

    from .app import build

    configure_logging()
    asgi, _ = build(config, trials)
    logging.getLogger("screening.service").info(
        "serving %d trial(s) on http://%s:%d/ (page at /, API at /openapi.json, CDS Hooks at /cds-services)",
        len(_.state.trials.by_id), config.host, config.port)
    uvicorn.run(asgi, host=config.host, port=config.port, log_config=None, access_log=False,
                server_header=False, timeout_graceful_shutdown=5)
