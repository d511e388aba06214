"""The ingestion API: idempotent batches written whole or not at all, per-item errors, the token, the limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.settings import Settings
from crm.models import Customer, Shipment, ShipmentStatus, TrackingEvent
from ingest.api import build_api
from tests.ingest.conftest import (
    TOKEN,
    IngestDatabase,
    customer_item,
    event_item,
    new_code,
    new_number,
    shipment_item,
)


def count_events(db: IngestDatabase, numbers: list[str]) -> int:
    """Tracking events stored for these parcels."""
    with db.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(TrackingEvent)
            .join(Shipment)
            .where(Shipment.tracking_number.in_(numbers))
        ) or 0


def make_parcels(client: TestClient, count: int) -> list[str]:
    """Create parcels through the API; their numbers."""
    numbers = [new_number() for _ in range(count)]
    response = client.post("/v1/shipments", json={"items": [shipment_item(n) for n in numbers]})
    assert response.status_code == 200, response.text
    return numbers


def test_a_batch_of_1000_events_posted_twice_is_stored_once(client: TestClient, ingest_db: IngestDatabase) -> None:
    """1,000 events (100 parcels × 10 scans), posted twice: 1,000 rows, the second answer says nothing changed."""
    numbers = make_parcels(client, 100)
    items = [event_item(n, f"E-{i}", hours=i) for n in numbers for i in range(10)]
    first = client.post("/v1/events", json={"items": items})
    assert first.status_code == 200, first.text
    assert first.json() == {"inserted": 1000, "updated": 0, "unchanged": 0, "notices": 0}
    second = client.post("/v1/events", json={"items": items})
    assert second.status_code == 200, second.text
    assert second.json() == {"inserted": 0, "updated": 0, "unchanged": 1000, "notices": 0}
    assert count_events(ingest_db, numbers) == 1000


def test_a_batch_with_one_invalid_row_writes_nothing_and_names_the_row_and_field(
    client: TestClient, ingest_db: IngestDatabase
) -> None:
    """Item 4 has an unknown status: 422 naming row 4 (index 3) and the field; not one of the valid items is stored."""
    numbers = make_parcels(client, 1)
    items = [event_item(numbers[0], f"E-{i}", hours=i) for i in range(6)]
    items[3]["status"] = "teleported"
    response = client.post("/v1/events", json={"items": items})
    assert response.status_code == 422
    body = response.json()
    assert "nothing was written" in body["detail"]
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert (error["row"], error["index"], error["field"]) == (4, 3, "status")
    assert "teleported" in error["reason"]
    # Unknown statuses are refused with the list of valid ones.
    assert all(status.value in error["reason"] for status in ShipmentStatus)
    assert count_events(ingest_db, numbers) == 0


def test_a_problem_found_in_the_database_also_refuses_the_whole_batch(
    client: TestClient, ingest_db: IngestDatabase
) -> None:
    """An event for a parcel nobody sent is refused (row and field named) and the valid items are not written."""
    numbers = make_parcels(client, 1)
    unknown = new_number()
    items = [event_item(numbers[0], "E-1"), event_item(unknown, "E-2"), event_item(numbers[0], "E-3", hours=1)]
    response = client.post("/v1/events", json={"items": items})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (2, "tracking_number")
    assert unknown in error["reason"]
    assert count_events(ingest_db, numbers) == 0


def test_every_problem_of_every_item_is_reported(client: TestClient) -> None:
    """Several bad items: each problem with its row and field (waybill check digit, missing field, bad reason)."""
    number = new_number()
    items = [
        shipment_item(number),
        shipment_item("EE123456784CN"),  # S10 with a wrong check digit
        {key: value for key, value in shipment_item(new_number()).items() if key != "recipient_city"},
        shipment_item(new_number(), status_reason="aliens", service_level="teleport"),
    ]
    response = client.post("/v1/shipments", json={"items": items})
    assert response.status_code == 422
    problems = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert problems == {(2, "tracking_number"), (3, "recipient_city"), (4, "status_reason"), (4, "service_level")}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer"}],
    ids=["missing", "wrong", "wrong-scheme", "empty"],
)
def test_a_wrong_or_missing_token_is_401(
    ingest_db: IngestDatabase, api_settings: Settings, headers: dict[str, str]
) -> None:
    """No token, a wrong one or another scheme: 401 with WWW-Authenticate, and nothing is read or written."""
    code = new_code()
    with TestClient(build_api(api_settings, ingest_db.sessions)) as anonymous:
        response = anonymous.post("/v1/customers", json={"items": [customer_item(code)]}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    with ingest_db.sessions() as session:
        assert session.scalar(select(Customer).where(Customer.code == code)) is None


def test_size_limits(ingest_db: IngestDatabase) -> None:
    """Too many items or too many bytes: 413 and nothing written."""
    settings = Settings(ingest_token=TOKEN, ingest_max_items=3, ingest_max_body_bytes=4000)  # type: ignore[call-arg]
    with TestClient(build_api(settings, ingest_db.sessions), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        codes = [new_code() for _ in range(4)]
        too_many = client.post("/v1/customers", json={"items": [customer_item(c) for c in codes]})
        assert too_many.status_code == 413
        assert "at most 3" in too_many.json()["detail"]
        too_big = client.post("/v1/customers", json={"items": [customer_item(codes[0], notes="x" * 5000)]})
        assert too_big.status_code == 413
    with ingest_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.code.in_(codes))) == 0


def test_customers_and_shipments_upsert_by_their_keys(client: TestClient, ingest_db: IngestDatabase) -> None:
    """Inserted, then unchanged, then updated (only the fields sent change); a shipment's customer must exist."""
    code, number = new_code(), new_number()
    assert client.post("/v1/customers", json={"items": [customer_item(code)]}).json()["inserted"] == 1
    assert client.post("/v1/customers", json={"items": [customer_item(code)]}).json()["unchanged"] == 1
    moved = customer_item(code, city="杭州", preferred_language="en")
    assert client.post("/v1/customers", json={"items": [moved]}).json()["updated"] == 1
    linked = shipment_item(number, customer_code=code)
    assert client.post("/v1/shipments", json={"items": [linked]}).json()["inserted"] == 1
    assert client.post("/v1/shipments", json={"items": [{**linked, "fee": "18.0"}]}).json()["unchanged"] == 1
    stranger = client.post("/v1/shipments", json={"items": [shipment_item(new_number(), customer_code="NOPE")]})
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "customer_code"
    with ingest_db.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.code == code)).one()
        assert (customer.city, customer.preferred_language, customer.name) == ("杭州", "en", "测试客户")
        shipment = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()
        assert shipment.customer_id == customer.id
        assert shipment.status is ShipmentStatus.CREATED


def test_the_newest_event_sets_the_status_and_a_late_old_scan_does_not(
    client: TestClient, ingest_db: IngestDatabase
) -> None:
    """Events may arrive out of order: the parcel takes the status of its newest event."""
    [number] = make_parcels(client, 1)
    delayed = event_item(number, "E-2", hours=5, kind="delayed", status="delayed", reason="weather")
    assert client.post("/v1/events", json={"items": [delayed]}).status_code == 200
    older = event_item(number, "E-1", hours=1)
    assert client.post("/v1/events", json={"items": [older]}).status_code == 200
    with ingest_db.sessions() as session:
        shipment = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()
        assert (shipment.status, shipment.status_reason) == (ShipmentStatus.DELAYED, "weather")
    # A corrected event (same id, new content) is an update, and moves the status when it is the newest.
    corrected = {**delayed, "kind": "out_for_delivery", "status": "out_for_delivery", "reason": None}
    assert client.post("/v1/events", json={"items": [corrected]}).json()["updated"] == 1
    with ingest_db.sessions() as session:
        shipment = session.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()
        assert (shipment.status, shipment.status_reason) == (ShipmentStatus.OUT_FOR_DELIVERY, None)


def test_not_a_batch(client: TestClient) -> None:
    """Broken JSON or a body without items: 422 saying so."""
    broken = client.post("/v1/events", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["row"] is None
    assert client.post("/v1/events", json={"events": []}).status_code == 422


def test_the_openapi_document_describes_the_batches_and_the_token(client: TestClient) -> None:
    """/openapi.json: the three endpoints, the bearer scheme, the item fields with their descriptions."""
    document = client.get("/openapi.json").json()
    assert {"/v1/customers", "/v1/shipments", "/v1/events"} <= set(document["paths"])
    schemes = document["components"]["securitySchemes"]
    assert any(scheme.get("scheme") == "bearer" for scheme in schemes.values())
    event = document["components"]["schemas"]["EventRecord"]
    assert {"tracking_number", "event_id", "occurred_at", "kind", "status", "place_zh"} <= set(event["required"])
    assert client.get("/healthz", headers={"Authorization": ""}).json() == {"status": "ok"}
