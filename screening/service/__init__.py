"""The HTTP service behind `screening serve`: JSON API, CDS Hooks 2.0 and the coordinator's page.

    from screening.service import ServiceConfig, create_app
    app = create_app(ServiceConfig(trials=Path("criteria")))   # a FastAPI application

A thin shell over the library: requests are read with the same functions as the command
line (``patient_from_text``) and screened with ``screening.screen``. Modules: ``config``
(settings and limits), ``core`` (trials, reading requests), ``limits`` (size, time,
concurrency, request log), ``cdshooks`` (discovery, patient-view, cards), ``page`` and
``templates/`` (the HTML page), ``svg`` (funnel chart), ``app`` (routes), ``server`` (uvicorn).

Belongs here: HTTP, CDS Hooks, HTML, request limits and logging: the shell around the
library for clinic software and coordinators. Not here: anything that decides a criterion
or reads a patient differently from the command line (that is ``engine`` and ``sources``);
nothing below this layer imports it.
"""

from .app import create_app
from .config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
