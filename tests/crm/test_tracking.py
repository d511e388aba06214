"""Tracking service: look-up by number and the public view (no personal data)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from crm.models import EventKind, ShipmentStatus
from crm.tracking import full_address, template_values, track
from tests.crm.factories import make_customer, make_shipment

TIMELINE = [
    (EventKind.CREATED, ShipmentStatus.CREATED, "上海浦东营业部", "Shanghai Pudong Station"),
    (EventKind.PICKED_UP, ShipmentStatus.IN_TRANSIT, "上海浦东营业部", "Shanghai Pudong Station"),
    (EventKind.ARRIVED_HUB, ShipmentStatus.IN_TRANSIT, "上海浦东转运中心", "Shanghai Pudong Hub"),
    (EventKind.DELAYED, ShipmentStatus.DELAYED, "上海浦东转运中心", "Shanghai Pudong Hub"),
]


def test_track_returns_latest_scan_and_reason(session: Session) -> None:
    """The view carries status, reason, promise and the newest event."""
    customer = make_customer(session)
    make_shipment(session, "XJ202611180001", ShipmentStatus.DELAYED, customer=customer, reason="weather",
                  events=TIMELINE)
    view = track(session, "xj 2026 1118 0001")
    assert view is not None
    assert view.status is ShipmentStatus.DELAYED
    assert view.reason == "weather"
    assert view.last_scan is not None
    assert view.last_scan.kind is EventKind.DELAYED
    assert view.last_scan.place_en == "Shanghai Pudong Hub"
    assert view.last_scan.occurred_at == datetime(2026, 11, 18, 5, 0, tzinfo=UTC)
    assert view.customer_id == customer.id


def test_unknown_number_is_none(session: Session) -> None:
    """An unknown number has no view."""
    assert track(session, "XJ209912319999") is None


def test_view_and_reply_values_hold_no_personal_data(session: Session) -> None:
    """Neither the view nor the reply variables contain names, phones or addresses."""
    make_shipment(session, "XJ202611180002", ShipmentStatus.IN_TRANSIT, events=TIMELINE[:3])
    view = track(session, "XJ202611180002")
    assert view is not None
    fields = {f.name for f in dataclasses.fields(view)}
    assert not fields & {"sender_name", "recipient_name", "sender_phone", "recipient_phone", "recipient_address"}
    for language in ("zh", "en"):
        values = template_values(view, language)
        joined = " ".join(values.values())
        for secret in ("寄件人", "收件人", "+8613900000001", "+8613900000002", "测试路", "测试街"):
            assert secret not in joined


def test_reply_values_are_localised(session: Session) -> None:
    """Status and place are given in the customer's language; times in China time."""
    make_shipment(session, "XJ202611180003", ShipmentStatus.IN_TRANSIT, events=TIMELINE[:3])
    view = track(session, "XJ202611180003")
    assert view is not None
    zh, en = template_values(view, "zh"), template_values(view, "en")
    assert zh["last_scan_place"] == "上海浦东转运中心"
    assert en["last_scan_place"] == "Shanghai Pudong Hub"
    assert zh["status_label"] != en["status_label"]
    assert en["last_scan_time"] == "2026-11-18 12:00"  # 04:00 UTC is noon in Shanghai
    assert en["eta"] == "2026-11-21"


@pytest.mark.parametrize(
    ("city", "address", "language", "expected"),
    [
        ("南京", "江苏省南京市江宁区中山路230号", "zh", "江苏省南京市江宁区中山路230号"),
        ("南京", "江宁区中山路230号", "zh", "南京江宁区中山路230号"),
        ("Nanjing", "230 Zhongshan Rd", "en", "230 Zhongshan Rd, Nanjing"),
        ("南京", "江苏省南京市江宁区中山路230号", "en", "江苏省南京市江宁区中山路230号"),
        (None, "江宁区中山路230号", "zh", "江宁区中山路230号"),
        ("南京", "", "zh", "南京"),
    ],
)
def test_full_address_names_the_city_once(city: str | None, address: str, language: str, expected: str) -> None:
    """The owner's delivery address does not repeat the city ("南京 江苏省南京市…")."""
    assert full_address(city, address, language) == expected
