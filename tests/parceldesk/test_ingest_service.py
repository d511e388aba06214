"""The ingestion API as a supervised service: only with a token, the token by environment, its own bind address.

clean_env: no PARCELDESK_* from the caller's environment or .env.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from parceldesk.processes import ingest_service
from parceldesk.system import exposed_services

TOKEN = "service-test-token-0123456789"


def test_no_token_no_service(clean_env: Path, tmp_path: Path) -> None:
    """Without PARCELDESK_INGEST_TOKEN there is nothing to start (and `parceldesk run` does not try)."""
    with pytest.raises(ValueError, match="PARCELDESK_INGEST_TOKEN"):
        ingest_service(Settings(ingest_token=None), tmp_path)  # type: ignore[call-arg]


def test_the_token_travels_by_environment_and_the_api_stays_on_loopback(clean_env: Path, tmp_path: Path) -> None:
    """The token is in the child's environment, never on its command line; loopback unless told otherwise."""
    service = ingest_service(Settings(ingest_token=TOKEN, ingest_port=18090), tmp_path)  # type: ignore[call-arg]
    assert service.command[-2:] == ["-m", "ingest"]
    assert TOKEN not in " ".join(service.command)
    assert service.env["PARCELDESK_INGEST_TOKEN"] == TOKEN
    assert service.env["PARCELDESK_INGEST_HOST"] == "127.0.0.1"
    assert service.env["PARCELDESK_QUIET_HOURS"] == "22:00-08:00"
    assert service.health_url == "http://127.0.0.1:18090/healthz"


def test_its_own_bind_address_is_announced_when_exposed(clean_env: Path, tmp_path: Path) -> None:
    """PARCELDESK_INGEST_HOST=0.0.0.0 moves the API alone; the health check still uses loopback; run warns."""
    settings = Settings(ingest_token=TOKEN, ingest_host="0.0.0.0", ingest_port=18091)  # type: ignore[call-arg]
    service = ingest_service(settings, tmp_path)
    assert service.env["PARCELDESK_INGEST_HOST"] == "0.0.0.0"
    assert service.health_url == "http://127.0.0.1:18091/healthz"
    assert any(line.startswith("ingest on 0.0.0.0") for line in exposed_services(settings))
