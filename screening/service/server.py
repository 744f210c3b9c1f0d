"""Running the service: load and compile the trials, then serve them with uvicorn.

With ``workers`` > 1, uvicorn starts that many processes, each building the application
from the settings passed in an environment variable (screening holds the GIL: processes
are how one server uses several cores).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from .config import ServiceConfig

CONFIG_ENV = "SCREENING_SERVE_CONFIG"


def configure_logging() -> None:
    """One line per event on stderr: time, level, message (request ids and timings, never patient data)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore"):  # they log request URLs, which name the patient
        logging.getLogger(noisy).setLevel(logging.WARNING)


def config_to_env(config: ServiceConfig) -> str:
    return json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()})


def config_from_env(text: str) -> ServiceConfig:
    data = json.loads(text)
    for key in ("trials", "batch_root"):
        if data.get(key) is not None:
            data[key] = Path(data[key])
    data["cds_complete"] = tuple(data.get("cds_complete") or ())
    return ServiceConfig(**data)


def worker_app():
    """The ASGI application of one worker process (uvicorn's factory when --workers > 1)."""
    from .app import build

    configure_logging()
    asgi, _ = build(config_from_env(os.environ[CONFIG_ENV]))
    return asgi


def serve(config: ServiceConfig, trials=None, workers: int = 1) -> None:
    """Serve until interrupted; the trials must already be loaded (errors in them are the caller's to report)."""
    import uvicorn

    configure_logging()
    log = logging.getLogger("screening.service")
    common = dict(host=config.host, port=config.port, log_config=None, access_log=False, server_header=False,
                  timeout_graceful_shutdown=5)
    n = len(trials.by_id) if trials is not None else "the"
    log.info("serving %s trial(s) on http://%s:%d/ with %d worker process(es) (page at /, API at /openapi.json, "
             "CDS Hooks at /cds-services)", n, config.host, config.port, workers)
    if workers > 1:
        os.environ[CONFIG_ENV] = config_to_env(config)
        uvicorn.run("screening.service.server:worker_app", factory=True, workers=workers, **common)
        return
    from .app import build

    asgi, _ = build(config, trials)
    uvicorn.run(asgi, **common)
