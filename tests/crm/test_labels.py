"""Bilingual vocabulary: every status, event, service and reason has both languages; label() never raises."""

from __future__ import annotations

import re

import pytest

from crm.labels import (
    EVENT_LABELS,
    INDUSTRY_LABELS,
    REASON_LABELS,
    SERVICE_LABELS,
    STATUS_LABELS,
    label,
)
from crm.models import EventKind, ServiceLevel, ShipmentStatus
from demo.geography import CITIES, CITIES_BY_KEY, GATEWAYS, find_city

CJK = re.compile(r"[\u4e00-\u9fff]")
REQUIRED_REASONS = {
    "weather",
    "hub_backlog",
    "traffic_control",
    "customs_inspection",
    "address_incomplete",
    "recipient_unreachable",
    "recipient_refused",
    "damaged_packaging",
    "lost_in_transit",
    "holiday_peak",
    "vehicle_breakdown",
    "wrong_sort",
}


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        (STATUS_LABELS, set(ShipmentStatus)),
        (EVENT_LABELS, set(EventKind)),
        (SERVICE_LABELS, set(ServiceLevel)),
        (REASON_LABELS, REQUIRED_REASONS),
    ],
    ids=["status", "event", "service", "reason"],
)
def test_every_key_has_chinese_and_english(table: dict, keys: set) -> None:
    """Each key is covered; the zh text is Chinese, the en text is not, and they differ."""
    assert keys <= set(table)
    for key in keys:
        zh, en = table[key]["zh"], table[key]["en"]
        assert CJK.search(zh), f"{key}: zh label {zh!r} is not Chinese"
        assert en.strip() and not CJK.search(en), f"{key}: en label {en!r}"


def test_reason_explanations_are_short_customer_facing_sentences() -> None:
    """Reasons read as explanations (not codes) and fit a chat bubble."""
    for key, texts in REASON_LABELS.items():
        assert "_" not in texts["en"] and len(texts["en"]) <= 80, key
        assert len(texts["zh"]) <= 40, key
    assert REASON_LABELS["weather"]["zh"] == "受天气影响，干线运输延误"
    assert REASON_LABELS["weather"]["en"] == "Line-haul delayed by bad weather"


@pytest.mark.parametrize(
    ("table", "key", "language", "expected"),
    [
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "zh", "运输中"),
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "en", "In transit"),
        (STATUS_LABELS, "in_transit", "zh", "运输中"),  # plain string finds the enum key
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "zh-CN", "运输中"),
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "ZH_hans", "运输中"),
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "en-GB", "In transit"),
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "fr", "In transit"),  # unknown language: English
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, "", "In transit"),
        (STATUS_LABELS, ShipmentStatus.IN_TRANSIT, None, "In transit"),
        (EVENT_LABELS, EventKind.PICKED_UP, "zh", "已揽收"),
        (EVENT_LABELS, EventKind.ARRIVED_HUB, "zh", "到达转运中心"),
        (REASON_LABELS, "weather", "en", "Line-haul delayed by bad weather"),
        (REASON_LABELS, "no_such_reason", "zh", "no_such_reason"),  # unknown key: the key itself
        (REASON_LABELS, ShipmentStatus.DELAYED, "zh", "delayed"),  # an enum key not in the table: its value
        (STATUS_LABELS, 42, "en", "42"),
        (STATUS_LABELS, ["unhashable"], "en", "['unhashable']"),
        (STATUS_LABELS, None, "en", ""),
        ({}, "anything", "zh", "anything"),
        ({"partial": {"zh": "只有中文"}}, "partial", "en", "只有中文"),  # no English: the text we have
    ],
)
def test_label_falls_back_and_never_raises(
    table: dict, key: object, language: str | None, expected: str
) -> None:
    """Known keys are translated; unknown languages fall back to English, unknown keys to the key."""
    assert label(table, key, language) == expected


def test_industry_labels_cover_both_languages() -> None:
    """Company lines of business are shown to staff in both languages."""
    assert {"e_commerce", "electronics", "apparel", "pharmaceuticals", "auto_parts", "food"} <= set(
        INDUSTRY_LABELS
    )
    assert label(INDUSTRY_LABELS, "e_commerce", "zh") == "电子商务"


def test_cities_are_a_believable_network() -> None:
    """~25 mainland cities, Hong Kong and a handful abroad; each with a hub and a station in both languages."""
    mainland = [city for city in CITIES if city.country == "CN"]
    abroad = [city for city in CITIES if city.region == "overseas"]
    assert 22 <= len(mainland) <= 32
    assert CITIES_BY_KEY["hongkong"].country == "HK" and CITIES_BY_KEY["hongkong"].international
    assert len(abroad) >= 4 and all(city.international for city in abroad)
    assert len({city.key for city in CITIES}) == len(CITIES)
    assert len({city.zh for city in CITIES}) == len({city.en for city in CITIES}) == len(CITIES)
    for city in CITIES:
        assert CJK.search(city.zh) and CJK.search(city.province_zh) and not CJK.search(city.en)
        assert city.hub.kind == "hub" and city.stations and all(s.kind == "station" for s in city.stations)
        assert 2 <= len(city.places) <= 3
        for place in city.places:
            assert CJK.search(place.zh) and place.en and not CJK.search(place.en)
        assert city.districts
        if city.country == "CN":
            assert city.hub.zh.endswith("转运中心") and city.hub.en.endswith("Hub")
            assert all(s.zh.endswith("营业部") and s.en.endswith("Station") for s in city.stations)
            assert city.dial_code == "+86" and city.area_code.isdigit()
    shanghai = CITIES_BY_KEY["shanghai"]
    assert (shanghai.hub.zh, shanghai.hub.en) == ("上海浦东转运中心", "Shanghai Pudong Hub")
    hangzhou = CITIES_BY_KEY["hangzhou"]
    assert ("杭州西湖营业部", "Hangzhou Xihu Station") in [(s.zh, s.en) for s in hangzhou.stations]
    assert all(CJK.search(gateway.zh) and gateway.en for gateway in GATEWAYS.values())


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("上海", "shanghai"),
        ("上海市", "shanghai"),
        ("Shanghai", "shanghai"),
        (" shanghai ", "shanghai"),
        ("XI'AN", "xian"),
        ("hong kong", "hongkong"),
        ("新加坡", "singapore"),
        ("Atlantis", None),
        ("", None),
        (None, None),
    ],
)
def test_find_city_by_either_name(name: str | None, key: str | None) -> None:
    """Cities are found by their Chinese or English name, as stored in customers.city (zh)."""
    city = find_city(name)
    assert (city.key if city else None) == key


def test_city_and_place_names_follow_the_language() -> None:
    """Bilingual names pick Chinese for zh (any variant) and English otherwise."""
    beijing = CITIES_BY_KEY["beijing"]
    assert (
        beijing.name("zh-CN") == "北京"
        and beijing.name("en") == "Beijing"
        and beijing.name("ja") == "Beijing"
    )
    assert beijing.hub.text("zh") == "北京顺义转运中心" and beijing.hub.text(None) == "Beijing Shunyi Hub"
