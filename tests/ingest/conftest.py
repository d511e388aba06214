"""Ingestion tests: the API and the importer commit their own transactions, so each module gets its own databases."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_sessionmaker
from core.settings import Settings
from ingest.api import build_api
from tests.databases import BACKENDS, TestDatabase, create_database

TOKEN = "test-ingest-token-0123456789"
_serials = itertools.count(1)


@dataclass(frozen=True)
class IngestDatabase:
    """A migrated database of its own for one test module, with its sessionmaker."""

    database: TestDatabase
    sessions: sessionmaker[Session]

    @property
    def backend(self) -> str:
        """sqlite or postgresql."""
        return self.database.backend


@pytest.fixture(scope="module", params=BACKENDS)
def ingest_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestDatabase]:
    """A fresh database per backend for the tests of one module."""
    for database in create_database(request.param, tmp_path_factory.mktemp(f"ingest-{request.param}")):
        yield IngestDatabase(database, make_sessionmaker(database.engine))


@pytest.fixture()
def api_settings() -> Settings:
    """Settings of an ingestion API with a known token and small limits."""
    return Settings(ingest_token=TOKEN, ingest_max_items=2000, ingest_max_body_bytes=2_000_000)  # type: ignore[call-arg]


@pytest.fixture()
def client(ingest_db: IngestDatabase, api_settings: Settings) -> Iterator[TestClient]:
    """The API in-process, authenticated."""
    app = build_api(api_settings, ingest_db.sessions)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as test_client:
        yield test_client


def new_number() -> str:
    """An XJ tracking number no other test uses."""
    return f"XJ2098{next(_serials):08d}"


def new_code() -> str:
    """A customer code no other test uses."""
    return f"T{next(_serials):07d}"


def customer_item(code: str, **overrides: Any) -> dict[str, Any]:
    """A valid customer item."""
    return {
        "code": code, "name": "测试客户", "phone": "+86 139 0000 0001", "address": "上海市浦东新区测试路1号",
        "city": "上海", **overrides,
    }


def shipment_item(number: str, **overrides: Any) -> dict[str, Any]:
    """A valid shipment item."""
    return {
        "tracking_number": number, "sender_name": "寄件人", "sender_phone": "13800000000",
        "sender_address": "上海市浦东新区测试路1号", "sender_city": "上海", "recipient_name": "收件人",
        "recipient_phone": "+86 139 0000 0002", "recipient_address": "北京市朝阳区测试街2号", "recipient_city": "北京",
        "weight_kg": "1.20", "fee": "18.00", "service_level": "standard", "promised_date": "2026-12-05",
        "shipped_at": "2026-12-01T09:00:00+08:00", **overrides,
    }


def event_item(number: str, event_id: str, *, hours: float = 0, **overrides: Any) -> dict[str, Any]:
    """A valid in-transit scan `hours` after 2026-12-01 10:00 China time."""
    moment = datetime(2026, 12, 1, 2, 0, tzinfo=UTC) + timedelta(hours=hours)
    return {
        "tracking_number": number, "event_id": event_id, "occurred_at": moment.isoformat(), "kind": "arrived_hub",
        "status": "in_transit", "place_zh": "上海浦东转运中心", "place_en": "Shanghai Pudong Hub", **overrides,
    }
