"""The demo company's couriers: a few per station, named on pickup and delivery scans (the report groups by them)."""

from __future__ import annotations

import zlib

from crm.models import EventKind

# Scans a courier makes in person: collecting the parcel and delivering it (or trying to).
COURIER_SCANS = frozenset({EventKind.PICKED_UP, EventKind.OUT_FOR_DELIVERY, EventKind.DELIVERY_ATTEMPTED,
                           EventKind.DELIVERED})
PER_STATION = 3
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波")


def _stable(text: str) -> int:
    """A hash that is the same in every process (Python's hash() is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def roster(station: str) -> tuple[str, ...]:
    """The couriers of a station (by its Chinese name), always the same ones."""
    names: list[str] = []
    for index in range(PER_STATION):
        seed = _stable(f"{station}#{index}")
        names.append(_SURNAMES[seed % len(_SURNAMES)] + _GIVEN[(seed // len(_SURNAMES)) % len(_GIVEN)])
    return tuple(names)


def courier_for(kind: EventKind, station: str, tracking_number: str) -> str | None:
    """Who made a scan: one of the station's couriers for pickups and deliveries, nobody for hub scans."""
    if kind not in COURIER_SCANS:
        return None
    couriers = roster(station)
    return couriers[_stable(tracking_number) % len(couriers)]
