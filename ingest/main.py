"""Run the ingestion API process (uvicorn) on PARCELDESK_INGEST_HOST (else PARCELDESK_HOST) : PARCELDESK_INGEST_PORT."""

from __future__ import annotations

import logging

import uvicorn

from core.db import open_database
from core.settings import Settings
from ingest.api import build_api

logger = logging.getLogger(__name__)


def run_ingest(settings: Settings) -> None:
    """Serve the API until SIGINT/SIGTERM; without a token there is nothing to serve."""
    if settings.ingest_token is None:
        raise SystemExit("PARCELDESK_INGEST_TOKEN is not set: the ingestion API does not start without a token")
    database = open_database(settings)
    try:
        app = build_api(settings, database.sessions)
        host = settings.bind_host("ingest")
        logger.info("ingestion API on http://%s:%s (OpenAPI: /openapi.json)", host, settings.ingest_port)
        # log_config=None: our logging set-up (with redaction) stays in charge of uvicorn's loggers too; the
        # access log is off because every batch logs its own line (counts, never data).
        uvicorn.run(app, host=host, port=settings.ingest_port, log_config=None, access_log=False,
                    server_header=False)
    finally:
        database.dispose()
