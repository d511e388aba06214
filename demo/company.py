"""The demo company: a deterministic, believable year of XunJie Express customers, shipments and scans.

Everything derives from `seed` and `today`: the same pair gives byte-identical rows on SQLite and
PostgreSQL. Times are planned as Asia/Shanghai wall-clock times (naive datetimes) and stored as UTC.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from itertools import pairwise
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.clock import COMPANY_TZ, as_utc
from crm.models import (
    Complaint,
    Customer,
    CustomerKind,
    EventKind,
    ServiceLevel,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from crm.waybills import make_s10
from demo.complaints import add_demo_complaints
from demo.couriers import courier_for
from demo.geography import CITIES, CITIES_BY_KEY, GATEWAYS, City, Place

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261118

# The README and the tests walk through these parcels; they exist whatever the seed.
SHOWCASE_NUMBERS: dict[str, ShipmentStatus] = {
    "XJ202611180042": ShipmentStatus.IN_TRANSIT,
    "XJ202611170007": ShipmentStatus.DELIVERED,
    "XJ202611150013": ShipmentStatus.DELAYED,
    "XJ202611160021": ShipmentStatus.EXCEPTION,
    "XJ202611200005": ShipmentStatus.OUT_FOR_DELIVERY,
    "XJ202611220031": ShipmentStatus.CREATED,
    "XJ202611010019": ShipmentStatus.RETURNED,
    "XJ202610250008": ShipmentStatus.LOST,
    "EE123456785CN": ShipmentStatus.IN_TRANSIT,
}
SHOWCASE_PERSON_CODE = "C000001"
SHOWCASE_COMPANY_CODE = "C000002"
SHOWCASE_PERSON_PHONE = "+8613800138000"
SHOWCASE_COMPANY_PHONE = "+8657188886666"

# The showcase uses its own random stream so its times and fees do not change with the seed.
_SHOWCASE_SEED = 1118
_BATCH = 2000
_DAY = timedelta(days=1)

# The demo's "now": noon in China on `today`, so a demo during the day rarely shows scans from later today.
DEMO_CLOCK = time(12, 0)

# Share of all shipments per non-delivered status; chosen so the default 1200 gives ≥ 20 of each.
_STATUS_SHARE: dict[ShipmentStatus, float] = {
    ShipmentStatus.CREATED: 0.025,
    ShipmentStatus.IN_TRANSIT: 0.05,
    ShipmentStatus.OUT_FOR_DELIVERY: 0.025,
    ShipmentStatus.DELAYED: 0.03,
    ShipmentStatus.EXCEPTION: 0.025,
    ShipmentStatus.RETURNED: 0.025,
    ShipmentStatus.LOST: 0.02,
}
# In-progress statuses end within this many days before the demo clock.
_RECENT_WINDOW_DAYS: dict[ShipmentStatus, int] = {
    ShipmentStatus.CREATED: 1,
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 1,
    ShipmentStatus.DELAYED: 2,
    ShipmentStatus.EXCEPTION: 3,
}
# Terminal problem statuses are spread over older ship dates (days before today).
_OLDER_RANGE: dict[ShipmentStatus, tuple[int, int]] = {
    ShipmentStatus.RETURNED: (5, 150),
    ShipmentStatus.LOST: (14, 200),
}

# Distance bands: first kg and each further kg in CNY for the standard service.
_RATES: dict[str, tuple[int, int]] = {
    "local": (8, 2),
    "province": (10, 3),
    "region": (12, 5),
    "national": (15, 8),
    "remote": (22, 15),
    "hk": (45, 20),
    "overseas": (95, 55),
}
_SERVICE_FACTOR: dict[ServiceLevel, Decimal] = {
    ServiceLevel.SAME_DAY: Decimal("2.2"),
    ServiceLevel.EXPRESS: Decimal("1.6"),
    ServiceLevel.STANDARD: Decimal("1.0"),
    ServiceLevel.ECONOMY: Decimal("0.8"),
}
# Promised transit days (after pickup) per band and service; same-day exists only within a city.
_TRANSIT_DAYS: dict[str, dict[ServiceLevel, int]] = {
    "local": {
        ServiceLevel.SAME_DAY: 0,
        ServiceLevel.EXPRESS: 1,
        ServiceLevel.STANDARD: 1,
        ServiceLevel.ECONOMY: 2,
    },
    "province": {ServiceLevel.EXPRESS: 1, ServiceLevel.STANDARD: 2, ServiceLevel.ECONOMY: 3},
    "region": {ServiceLevel.EXPRESS: 1, ServiceLevel.STANDARD: 2, ServiceLevel.ECONOMY: 3},
    "national": {ServiceLevel.EXPRESS: 2, ServiceLevel.STANDARD: 3, ServiceLevel.ECONOMY: 4},
    "remote": {ServiceLevel.EXPRESS: 3, ServiceLevel.STANDARD: 5, ServiceLevel.ECONOMY: 7},
    "hk": {ServiceLevel.EXPRESS: 2, ServiceLevel.STANDARD: 4, ServiceLevel.ECONOMY: 6},
    "overseas": {ServiceLevel.EXPRESS: 4, ServiceLevel.STANDARD: 8, ServiceLevel.ECONOMY: 12},
}
_SERVICE_MIX: dict[str, dict[ServiceLevel, float]] = {
    "local": {
        ServiceLevel.SAME_DAY: 0.2,
        ServiceLevel.EXPRESS: 0.35,
        ServiceLevel.STANDARD: 0.35,
        ServiceLevel.ECONOMY: 0.1,
    },
    "domestic": {ServiceLevel.EXPRESS: 0.3, ServiceLevel.STANDARD: 0.5, ServiceLevel.ECONOMY: 0.2},
    "abroad": {ServiceLevel.EXPRESS: 0.55, ServiceLevel.STANDARD: 0.45},
}

# Parcel volume per city: big cities send and receive more.
_CITY_VOLUME: dict[str, float] = {
    "shanghai": 10,
    "beijing": 9,
    "guangzhou": 8,
    "shenzhen": 8,
    "hangzhou": 7,
    "chengdu": 6,
    "wuhan": 5,
    "nanjing": 5,
    "suzhou": 5,
    "chongqing": 5,
    "xian": 4,
    "tianjin": 4,
    "dongguan": 4,
    "changsha": 4,
    "zhengzhou": 4,
    "ningbo": 3,
    "yiwu": 3,
    "hefei": 3,
    "xiamen": 3,
    "fuzhou": 3,
    "jinan": 3,
    "qingdao": 3,
    "shenyang": 3,
    "harbin": 2,
    "kunming": 2,
    "shijiazhuang": 2,
    "urumqi": 1,
    "lhasa": 0.5,
}
_OVERSEAS_VOLUME: dict[str, float] = {
    "singapore": 3,
    "tokyo": 2,
    "seoul": 2,
    "los_angeles": 2,
    "london": 1,
    "frankfurt": 1,
    "sydney": 1,
}
# Relative length of a line haul between two hubs per band (sorting inside a hub counts 1).
_LINE_HAUL: dict[str, float] = {
    "local": 1.5,
    "province": 3.0,
    "region": 4.0,
    "national": 6.0,
    "remote": 9.0,
    "hk": 3.0,
    "overseas": 3.0,
}
# Long-distance parcels pass through the hub of each region they cross.
_REGION_HUB_CITY: dict[str, str] = {
    "east": "shanghai",
    "north": "beijing",
    "northeast": "shenyang",
    "south": "guangzhou",
    "central": "wuhan",
    "southwest": "chengdu",
    "northwest": "xian",
}
_MAINLAND = tuple(city for city in CITIES if city.country == "CN")
_OVERSEAS = tuple(city for city in CITIES if city.region == "overseas")

_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
_FOREIGN_PHONE_DIGITS: dict[str, int] = {
    "+852": 8,
    "+65": 8,
    "+81": 10,
    "+82": 10,
    "+1": 10,
    "+44": 10,
    "+49": 11,
    "+61": 9,
}

# Road and compound names for made-up addresses (common names, no real building).
_ROADS: tuple[tuple[str, str], ...] = (
    ("中山路", "Zhongshan Road"),
    ("人民路", "Renmin Road"),
    ("解放路", "Jiefang Road"),
    ("建设路", "Jianshe Road"),
    ("和平路", "Heping Road"),
    ("新华路", "Xinhua Road"),
    ("延安路", "Yan'an Road"),
    ("长江路", "Changjiang Road"),
    ("文化路", "Wenhua Road"),
    ("东风路", "Dongfeng Road"),
    ("朝阳路", "Chaoyang Road"),
    ("滨河路", "Binhe Road"),
    ("科技路", "Keji Road"),
    ("工业大道", "Gongye Avenue"),
    ("世纪大道", "Shiji Avenue"),
    ("学院路", "Xueyuan Road"),
    ("青年路", "Qingnian Road"),
    ("花园路", "Huayuan Road"),
    ("光明街", "Guangming Street"),
    ("幸福路", "Xingfu Road"),
)
_HK_ROADS: tuple[str, ...] = ("弥敦道", "皇后大道中", "轩尼诗道", "青山公路", "英皇道")
_COMPOUNDS: tuple[tuple[str, str], ...] = (
    ("阳光花园", "Sunshine Garden"),
    ("锦绣家园", "Jinxiu Homes"),
    ("翠苑小区", "Cuiyuan Estate"),
    ("金色家园", "Golden Homes"),
    ("幸福里", "Xingfuli"),
    ("东方名苑", "Dongfang Mingyuan"),
    ("春晓苑", "Chunxiao Garden"),
    ("滨江花园", "Riverside Garden"),
    ("书香门第", "Shuxiang Court"),
    ("绿荫小区", "Lüyin Estate"),
)
_PARKS: tuple[tuple[str, str], ...] = (
    ("物流园", "Logistics Park"),
    ("电商产业园", "E-commerce Park"),
    ("科技园", "Science Park"),
    ("工业园", "Industrial Park"),
    ("仓储中心", "Warehouse Centre"),
)
# Company name parts: a trade name (with its pinyin) and a line-of-business suffix.
_TRADE_NAMES: tuple[tuple[str, str], ...] = (
    ("恒达", "Hengda"),
    ("华盛", "Huasheng"),
    ("鑫源", "Xinyuan"),
    ("瑞丰", "Ruifeng"),
    ("博远", "Boyuan"),
    ("启航", "Qihang"),
    ("优品", "Youpin"),
    ("嘉禾", "Jiahe"),
    ("诚信", "Chengxin"),
    ("金桥", "Jinqiao"),
    ("新锐", "Xinrui"),
    ("天成", "Tiancheng"),
    ("宏图", "Hongtu"),
    ("凯越", "Kaiyue"),
    ("锦程", "Jincheng"),
    ("众联", "Zhonglian"),
    ("润通", "Runtong"),
    ("远景", "Yuanjing"),
    ("云帆", "Yunfan"),
    ("明达", "Mingda"),
    ("佳禾", "Jiahe Agri"),
    ("星辰", "Xingchen"),
    ("沃德", "Wode"),
    ("泰和", "Taihe"),
)
_INDUSTRIES: dict[str, tuple[str, str, float, float]] = {
    # key: (zh suffix, en suffix, median parcel kg, share of companies)
    "e_commerce": ("电子商务有限公司", "E-commerce Co., Ltd.", 1.0, 0.30),
    "electronics": ("电子科技有限公司", "Electronics Technology Co., Ltd.", 2.5, 0.14),
    "apparel": ("服饰有限公司", "Apparel Co., Ltd.", 0.8, 0.12),
    "pharmaceuticals": ("医药有限公司", "Pharmaceutical Co., Ltd.", 1.5, 0.07),
    "auto_parts": ("汽车配件有限公司", "Auto Parts Co., Ltd.", 6.0, 0.07),
    "food": ("食品有限公司", "Food Co., Ltd.", 3.0, 0.09),
    "cosmetics": ("化妆品有限公司", "Cosmetics Co., Ltd.", 0.6, 0.08),
    "furniture": ("家居用品有限公司", "Home Furnishing Co., Ltd.", 12.0, 0.05),
    "books": ("文化传媒有限公司", "Culture & Media Co., Ltd.", 2.0, 0.04),
    "machinery": ("机械设备有限公司", "Machinery Co., Ltd.", 15.0, 0.04),
}
_SHOP_KINDS: tuple[str, ...] = (
    "数码旗舰店",
    "服饰专营店",
    "母婴用品店",
    "茶叶商行",
    "家居生活馆",
    "图书专营店",
    "美妆旗舰店",
)
_COMPANY_NOTES: tuple[str, ...] = (
    "需开具增值税专用发票 / VAT special invoice required",
    "仓库工作日 9:00-18:00 收发货 / Warehouse open weekdays 9:00-18:00",
    "易碎品较多，请提醒轻拿轻放 / Often ships fragile goods",
    "合同价，运费每月对账 / Contract rates, monthly statement",
    "大促期间需提前预约揽收 / Book pickups in advance during sales peaks",
)
_PERSONAL_NOTES: tuple[str, ...] = (
    "偏好下午派送 / Prefers afternoon delivery",
    "放小区快递柜即可 / Parcel locker is fine",
    "曾投诉派送延误，请优先处理 / Complained about a delay before, handle with priority",
    "工作日白天不在家 / Not at home on weekday daytime",
    "请勿放门口 / Do not leave at the door",
)
_VIP_NOTE = "VIP — 月结客户 monthly billing"
_DELIVERED_NOTES: tuple[str, ...] = (
    "本人签收 / Signed for by the recipient",
    "快递柜代收 / Left in a parcel locker",
    "门卫代收 / Received by the building guard",
    "家人代收 / Received by a family member",
)
_DELAY_REASONS: dict[str, float] = {
    "weather": 3,
    "hub_backlog": 3,
    "traffic_control": 2,
    "holiday_peak": 2,
    "vehicle_breakdown": 1.5,
    "wrong_sort": 1,
}
_RETURN_REASONS: dict[str, float] = {
    "recipient_refused": 45,
    "recipient_unreachable": 30,
    "address_incomplete": 25,
}

_NOTE_LEFT_STATION = "已从揽收网点发出 / Left the pickup station"
_NOTE_AT_STATION = "到达派送网点 / Arrived at the delivery station"
_NOTE_EXPORT = "出口清关完成 / Export customs cleared"
_NOTE_IMPORT = "进口清关完成 / Import customs cleared"
_NOTE_AIRLINE = "已交航空公司运输 / Handed over to the airline"
_NOTE_PICKED_UP = "快递员已揽收 / Collected by the courier"


class DemoDataError(RuntimeError):
    """The demo cannot be generated here (the database is not empty, or the sizes are impossible)."""


@dataclass(frozen=True)
class DemoSummary:
    """What generate_demo inserted: rows per table and shipments per status (no personal data)."""

    seed: int
    today: date
    tables: dict[str, int]
    statuses: dict[ShipmentStatus, int]
    international: int

    def __str__(self) -> str:
        """One line for the CLI: table counts and the status mix."""
        tables = ", ".join(f"{count} {name}" for name, count in self.tables.items())
        statuses = ", ".join(f"{status.value} {count}" for status, count in self.statuses.items())
        return f"{tables} (as of {self.today.isoformat()}, seed {self.seed}; {statuses})"


def demo_now(today: date) -> datetime:
    """The demo's reference moment: noon in China on `today`, as UTC (no event is later than this)."""
    return datetime.combine(today, DEMO_CLOCK, COMPANY_TZ).astimezone(UTC)


def demo_is_loaded(session: Session) -> bool:
    """True when the showcase shipments of the demo company are in the database."""
    first = next(iter(SHOWCASE_NUMBERS))
    return session.scalar(select(Shipment.id).where(Shipment.tracking_number == first).limit(1)) is not None


def generate_demo(
    session: Session,
    *,
    today: date,
    seed: int = DEFAULT_SEED,
    customers: int = 240,
    shipments: int = 1200,
) -> DemoSummary:
    """Insert the demo company into an empty database and return what was inserted (caller commits)."""
    if customers < 2:
        raise DemoDataError("the demo needs at least 2 customers (the two showcase customers)")
    if shipments < len(SHOWCASE_NUMBERS):
        raise DemoDataError(f"the demo needs at least {len(SHOWCASE_NUMBERS)} shipments (the showcase ones)")
    existing_shipments = session.scalar(select(func.count()).select_from(Shipment)) or 0
    existing_customers = session.scalar(select(func.count()).select_from(Customer)) or 0
    if existing_shipments or existing_customers:
        raise DemoDataError(
            f"generate_demo needs an empty database, found {existing_shipments} shipments and "
            f"{existing_customers} customers; use a fresh database"
        )
    generator = _Generator(today=today, seed=seed)
    customer_plans, shipment_plans = generator.build(customers, shipments)
    _insert(session, customer_plans, shipment_plans)
    complaints = add_demo_complaints(
        session, seed=seed, now=demo_now(today), exclude_numbers=SHOWCASE_NUMBERS,
        exclude_customers=(SHOWCASE_PERSON_CODE, SHOWCASE_COMPANY_CODE),
    )
    events = sum(len(plan.steps) for plan in shipment_plans)
    statuses = Counter(plan.status for plan in shipment_plans)
    summary = DemoSummary(
        seed=seed,
        today=today,
        tables={
            "customers": len(customer_plans),
            "shipments": len(shipment_plans),
            "tracking_events": events,
            "complaints": complaints,
        },
        statuses={status: statuses.get(status, 0) for status in ShipmentStatus},
        international=sum(1 for plan in shipment_plans if plan.recipient.city.region == "overseas"),
    )
    # Counts only: the rows are fake people, but logs never carry names, phones or addresses.
    log.info("demo data generated: %s", summary)
    return summary


def fingerprint(session: Session) -> str:
    """A SHA-256 over every demo row in a stable order, ids excluded (equal on SQLite and PostgreSQL)."""
    digest = hashlib.sha256()
    codes: dict[int, str] = {}
    for customer in session.scalars(select(Customer).order_by(Customer.code)):
        codes[customer.id] = customer.code
        _feed(
            digest,
            (
                customer.code,
                customer.kind,
                customer.name,
                customer.contact_person,
                customer.phone,
                customer.phone_alt,
                customer.email,
                customer.address,
                customer.city,
                customer.industry,
                customer.notes,
                customer.preferred_language,
                customer.telegram_user_id,
                customer.created_at,
                customer.updated_at,
            ),
        )
    numbers: dict[int, str] = {}
    for shipment in session.scalars(select(Shipment).order_by(Shipment.tracking_number)):
        numbers[shipment.id] = shipment.tracking_number
        _feed(
            digest,
            (
                shipment.tracking_number,
                codes.get(shipment.customer_id) if shipment.customer_id else None,
                shipment.sender_name,
                shipment.sender_phone,
                shipment.sender_address,
                shipment.sender_city,
                shipment.recipient_name,
                shipment.recipient_phone,
                shipment.recipient_address,
                shipment.recipient_city,
                shipment.weight_kg,
                shipment.fee,
                shipment.declared_value,
                shipment.service_level,
                shipment.status,
                shipment.status_reason,
                shipment.promised_date,
                shipment.delivered_at,
                shipment.shipped_at,
                shipment.created_at,
                shipment.updated_at,
            ),
        )
    rows = session.execute(
        select(
            TrackingEvent.shipment_id,
            TrackingEvent.occurred_at,
            TrackingEvent.kind,
            TrackingEvent.status,
            TrackingEvent.place_zh,
            TrackingEvent.place_en,
            TrackingEvent.reason,
            TrackingEvent.note,
            TrackingEvent.courier,
        )
    ).all()
    events = sorted(((numbers[row[0]], as_utc(row[1]), *row[2:]) for row in rows), key=lambda r: (r[0], r[1]))
    for event in events:
        _feed(digest, event)
    # Complaint codes derive from row ids, which a PostgreSQL sequence does not reuse: leave them out.
    complaints = session.execute(
        select(
            Complaint.shipment_id, Complaint.created_at, Complaint.category, Complaint.status, Complaint.serious,
            Complaint.description, Complaint.language, Complaint.due_at, Complaint.resolved_at, Complaint.resolution,
            Complaint.compensation_yuan, Complaint.rejected, Complaint.satisfied, Complaint.reopened_count,
        )
    ).all()
    for row in sorted(((numbers.get(row[0]), as_utc(row[1]), *row[2:]) for row in complaints),
                      key=lambda r: (r[0] or "", r[1])):
        _feed(digest, row)
    return digest.hexdigest()


def _feed(digest: Any, values: Iterable[object]) -> None:
    """Add one row to a digest in a backend-neutral text form (UTC times, 2-decimal money, enum values)."""
    parts: list[str] = []
    for value in values:
        if isinstance(value, datetime):
            parts.append(as_utc(value).isoformat())
        elif isinstance(value, Decimal):
            parts.append(f"{value:.2f}")
        elif isinstance(value, Enum):
            parts.append(str(value.value))
        else:
            parts.append("" if value is None else str(value))
    digest.update(("\x1f".join(parts) + "\x1e").encode())


# ---------------------------------------------------------------------------------------------------
# Planning: plain Python objects first, so the whole company is built before one row is inserted.


@dataclass(frozen=True)
class _Party:
    """A sender or recipient as printed on the waybill."""

    name: str
    phone: str
    address: str
    city: City


@dataclass
class _Step:
    """One planned tracking event, in Asia/Shanghai wall-clock time."""

    when: datetime
    kind: EventKind
    status: ShipmentStatus
    place: Place
    reason: str | None = None
    note: str | None = None


@dataclass
class _CustomerPlan:
    """A customer row plus what drives its activity (weight, active window in days before today)."""

    code: str
    kind: CustomerKind
    name: str
    contact_person: str | None
    phone: str
    phone_alt: str | None
    email: str | None
    address: str
    city: City
    industry: str | None
    notes: str | None
    language: str
    joined: datetime  # random customers get theirs from _activity, which knows their first parcel
    weight: float = 0.0
    first_day_ago: int = 0
    last_day_ago: int = 0
    discount: Decimal = Decimal(1)
    ships: bool = True

    @property
    def party(self) -> _Party:
        """The customer as sender or recipient on a waybill."""
        return _Party(self.name, self.phone, self.address, self.city)

    def active_on(self, day_ago: int) -> bool:
        """True when the customer ships on a day this many days before today."""
        return self.ships and self.weight > 0 and self.last_day_ago <= day_ago <= self.first_day_ago


@dataclass
class _Journey:
    """A parcel's planned on-time trip: created, picked up, route scans, out for delivery, delivered."""

    created: _Step
    picked_up: _Step
    transit: list[_Step]
    out: _Step
    delivered: _Step
    hubs: list[Place]
    origin_station: Place
    dest_station: Place
    promise_offset: int


@dataclass
class _ShipmentPlan:
    """A shipment row with its events, before its number is known."""

    status: ShipmentStatus
    reason: str | None
    customer: _CustomerPlan | None
    sender: _Party
    recipient: _Party
    service: ServiceLevel
    weight: Decimal
    fee: Decimal
    declared_value: Decimal | None
    steps: list[_Step]
    promise_offset: int
    number: str = ""
    order: int = 0

    @property
    def shipped(self) -> datetime:
        """When the waybill was created (local time): the first event."""
        return self.steps[0].when


def _utc(local_time: datetime) -> datetime:
    """A naive Asia/Shanghai wall-clock time as an aware UTC datetime."""
    return local_time.replace(tzinfo=COMPANY_TZ).astimezone(UTC)


def _money(value: Decimal) -> Decimal:
    """Round to fen the way invoices do (half up)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _band(origin: City, dest: City) -> str:
    """The distance band that sets fee and transit time."""
    if "overseas" in (origin.region, dest.region):
        return "overseas"
    if "hk" in (origin.region, dest.region):
        return "hk"
    if origin.key == dest.key:
        return "local"
    if origin.remote or dest.remote:
        return "remote"
    if origin.province_zh == dest.province_zh:
        return "province"
    if origin.region == dest.region:
        return "region"
    return "national"


def _fee(
    weight: Decimal, service: ServiceLevel, band: str, discount: Decimal, declared: Decimal | None
) -> Decimal:
    """Freight by chargeable kg, service and band, less the contract discount, plus 0.5 % insurance."""
    first, further = _RATES[band]
    chargeable = max(1, math.ceil(weight))
    freight = Decimal(first + further * (chargeable - 1)) * _SERVICE_FACTOR[service] * discount
    insurance = max(Decimal(1), declared * Decimal("0.005")) if declared else Decimal(0)
    return _money(freight + insurance)


class _Generator:
    """Plans the demo company: customers, shipments and their timelines, from one seed and one date."""

    def __init__(self, *, today: date, seed: int) -> None:
        """Prepare the random streams; the showcase uses its own fixed stream first."""
        self.today = today
        self.seed = seed
        self.cutoff = datetime.combine(today, DEMO_CLOCK)
        self.rng = random.Random(_SHOWCASE_SEED)
        self.fake = Faker(["zh_CN", "en_US"])
        self.fake.seed_instance(_SHOWCASE_SEED)
        self.used_phones: set[str] = set()
        self.used_numbers: set[str] = set(SHOWCASE_NUMBERS)
        self.used_company_names: set[str] = set()

    # -- small random helpers ---------------------------------------------------------------------

    def _chance(self, probability: float) -> bool:
        """True with the given probability."""
        return self.rng.random() < probability

    def _weighted(self, options: dict[Any, float]) -> Any:
        """One key of options, chosen by its weight."""
        return self.rng.choices(list(options), weights=list(options.values()))[0]

    def _minutes(self, low: float, high: float) -> timedelta:
        """A random whole-second duration between low and high minutes."""
        return timedelta(seconds=int(self.rng.uniform(low, high) * 60))

    def _hours(self, low: float, high: float) -> timedelta:
        """A random whole-second duration between low and high hours."""
        return self._minutes(low * 60, high * 60)

    def _at(self, day: date, start: time, end: time) -> datetime:
        """A random moment on day between two wall-clock times."""
        opening = datetime.combine(day, start)
        span = (datetime.combine(day, end) - opening).total_seconds()
        return opening + timedelta(seconds=int(self.rng.uniform(0, span)))

    def _office_after(
        self, moment: datetime, gap: timedelta, start: time = time(9), end: time = time(18)
    ) -> datetime:
        """The first plausible office-hours moment at least `gap` after moment."""
        candidate = moment + gap
        if candidate.time() > end:
            return self._at(candidate.date() + _DAY, start, time(start.hour + 2))
        if candidate.time() < start:
            return self._at(candidate.date(), start, time(start.hour + 2))
        return candidate

    def _timeline(self, start: datetime, end: datetime, legs: Sequence[float]) -> list[datetime]:
        """Scan times between start and end: one per leg but the last, each leg taking its share of the time.

        Legs are relative durations (a line haul takes longer than sorting inside a hub), jittered so
        no two parcels look alike; the last leg ends at `end`, which the caller scans itself.
        """
        jittered = [leg * self.rng.uniform(0.6, 1.4) for leg in legs]
        total, span = sum(jittered), (end - start).total_seconds()
        moments: list[datetime] = []
        elapsed = 0.0
        for leg in jittered[:-1]:
            elapsed += leg
            moments.append(start + timedelta(seconds=int(span * elapsed / total)))
        return moments

    # -- people, phones, addresses -----------------------------------------------------------------

    def _mobile(self) -> str:
        """A unique made-up Chinese mobile number, stored as +86 and 11 digits."""
        while True:
            number = f"+86{self.rng.choice(_MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _landline(self, city: City) -> str:
        """A unique made-up office number in the city's area code."""
        while True:
            number = f"+86{city.area_code}{self.rng.randrange(2 * 10**7, 9 * 10**7):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _foreign_phone(self, city: City) -> str:
        """A made-up phone number in the city's country format."""
        digits = _FOREIGN_PHONE_DIGITS.get(city.dial_code, 9)
        while True:
            first, rest = self.rng.randrange(2, 10), self.rng.randrange(10 ** (digits - 1))
            number = f"{city.dial_code}{first}{rest:0{digits - 1}d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def _address(self, city: City, *, english: bool = False, business: bool = False) -> str:
        """A made-up street address in the city, Chinese or English format."""
        district = self.rng.choice(city.districts)
        number = self.rng.randint(1, 999)
        if city.region == "overseas":
            street = self.fake["en_US"].street_name()
            return f"{number} {street}, {district.en}, {city.en}, {city.province_en}"
        if city.region == "hk":
            floor, flat = self.rng.randint(2, 38), self.rng.choice("ABCDEFGH")
            return f"{city.province_zh}{district.zh}{self.rng.choice(_HK_ROADS)}{number}号{floor}楼{flat}室"
        road = self.rng.choice(_ROADS)
        if business:
            park = self.rng.choice(_PARKS)
            unit = self.rng.randint(1, 12)
            if english:
                return (
                    f"Unit {unit}, {park[1]}, No. {number} {road[1]}, {district.en}, {city.en}, "
                    f"{city.province_en}"
                )
            return f"{self._prefix(city)}{district.zh}{road[0]}{number}号{park[0]}{unit}号库"
        compound = self.rng.choice(_COMPOUNDS)
        building, room = self.rng.randint(1, 30), self.rng.randint(1, 32) * 100 + self.rng.randint(1, 6)
        if english:
            return (
                f"Room {room}, Building {building}, {compound[1]}, No. {number} {road[1]}, {district.en}, "
                f"{city.en}"
            )
        return f"{self._prefix(city)}{district.zh}{road[0]}{number}号{compound[0]}{building}栋{room}室"

    @staticmethod
    def _prefix(city: City) -> str:
        """Province and city as they start a Chinese address (municipalities are not repeated)."""
        if city.province_zh == f"{city.zh}市":
            return city.province_zh
        return f"{city.province_zh}{city.zh}市"

    def _person(self, city: City, *, english: bool = False) -> _Party:
        """A made-up private person living in city."""
        if city.region == "overseas":
            return _Party(self.fake["en_US"].name(), self._foreign_phone(city), self._address(city), city)
        name = self.fake["en_US"].name() if english else self.fake["zh_CN"].name()
        phone = self._foreign_phone(city) if city.region == "hk" else self._mobile()
        return _Party(name, phone, self._address(city, english=english), city)

    def _shop(self, city: City) -> _Party:
        """A made-up online shop that sends parcels to a customer (it is not a customer itself)."""
        trade = self.rng.choice(_TRADE_NAMES)
        return _Party(
            f"{trade[0]}{self.rng.choice(_SHOP_KINDS)}",
            self._landline(city),
            self._address(city, business=True),
            city,
        )

    def _company_name(self, city: City, industry: str, english: bool) -> tuple[str, str]:
        """A unique made-up company name (city, trade name, line of business) and its trade name in pinyin."""
        zh_suffix, en_suffix, _, _ = _INDUSTRIES[industry]
        for trade_zh, trade_en in self.rng.sample(_TRADE_NAMES, len(_TRADE_NAMES)):
            name = f"{city.en} {trade_en} {en_suffix}" if english else f"{city.zh}{trade_zh}{zh_suffix}"
            if name not in self.used_company_names:
                self.used_company_names.add(name)
                return name, trade_en
        serial = len(self.used_company_names)
        name = f"{city.en} Trading No. {serial} {en_suffix}" if english else f"{city.zh}第{serial}{zh_suffix}"
        self.used_company_names.add(name)
        return name, f"trading{serial}"

    def _mainland_city(self, *, exclude: str | None = None) -> City:
        """A mainland city chosen by parcel volume."""
        options = {city: _CITY_VOLUME[city.key] for city in _MAINLAND if city.key != exclude}
        return self._weighted(options)

    # -- customers -------------------------------------------------------------------------------

    def _showcase_customers(self) -> list[_CustomerPlan]:
        """王小明 (C000001) and 杭州云仓电子商务有限公司 (C000002), identical for every seed."""
        shanghai, hangzhou = CITIES_BY_KEY["shanghai"], CITIES_BY_KEY["hangzhou"]
        self.used_phones.update({SHOWCASE_PERSON_PHONE, SHOWCASE_COMPANY_PHONE, "+8613957112345"})
        wang = _CustomerPlan(
            code=SHOWCASE_PERSON_CODE,
            kind=CustomerKind.PERSONAL,
            name="王小明",
            contact_person=None,
            phone=SHOWCASE_PERSON_PHONE,
            phone_alt=None,
            email="wang.xiaoming@example.com",
            address="上海市徐汇区幸福路88弄3号1202室",
            city=shanghai,
            industry=None,
            notes="英文名 Wang Xiaoming；偏好下午派送 / prefers afternoon delivery",
            language="zh",
            joined=self._at(self.today - timedelta(days=420), time(19), time(21)),
            weight=0.0,
            first_day_ago=364,
            last_day_ago=0,  # his parcels are exactly the showcase ones
        )
        cloud = _CustomerPlan(
            code=SHOWCASE_COMPANY_CODE,
            kind=CustomerKind.COMPANY,
            name="杭州云仓电子商务有限公司",
            contact_person="陈静",
            phone=SHOWCASE_COMPANY_PHONE,
            phone_alt="+8613957112345",
            email="service@yuncang.example.com",
            address="浙江省杭州市余杭区仓前街道云仓物流园3号库",
            city=hangzhou,
            industry="e_commerce",
            notes=f"{_VIP_NOTE}；英文名 Hangzhou Cloud Warehouse E-commerce Co., Ltd.；{_COMPANY_NOTES[1]}",
            language="zh",
            joined=self._at(self.today - timedelta(days=930), time(10), time(16)),
            weight=45.0,
            first_day_ago=364,
            last_day_ago=0,
            discount=Decimal("0.78"),
        )
        return [wang, cloud]

    def _random_customers(self, count: int, *, first_index: int) -> list[_CustomerPlan]:
        """count random customers after the showcase ones: ~75 % private, ~25 % companies, varied activity."""
        total = count + first_index - 1
        companies = min(count, max(0, round(total * 0.25) - 1))  # the showcase company counts too
        kinds = [CustomerKind.COMPANY] * companies + [CustomerKind.PERSONAL] * (count - companies)
        self.rng.shuffle(kinds)
        return [
            self._company(f"C{index:06d}") if kind is CustomerKind.COMPANY else self._private(f"C{index:06d}")
            for index, kind in enumerate(kinds, start=first_index)
        ]

    def _activity(self, plan: _CustomerPlan, profile: str) -> None:
        """Set weight and active window so customers differ in recency, frequency and spend (RFM)."""
        rng = self.rng
        weights = {
            "heavy": (14.0, 28.0),
            "company": (2.0, 6.0),
            "regular": (0.8, 2.0),
            "occasional": (0.2, 0.6),
            "new": (0.5, 3.0),
            "dormant": (0.3, 2.0),
        }
        if profile == "never":
            plan.ships, plan.weight = False, 0.0
        else:
            plan.weight = rng.uniform(*weights[profile])
        if profile == "new":
            plan.first_day_ago, plan.last_day_ago = rng.randint(3, 60), 0
        elif profile == "dormant":
            plan.last_day_ago = rng.randint(185, 330)
            plan.first_day_ago = min(364, plan.last_day_ago + rng.randint(20, 200))
        else:
            plan.first_day_ago = 364 if profile == "heavy" or self._chance(0.6) else rng.randint(45, 364)
            plan.last_day_ago = 0
        # Customers signed up some time before their first parcel of the year.
        joined_day = self.today - timedelta(days=plan.first_day_ago + rng.randint(1, 700))
        plan.joined = self._at(joined_day, time(8, 30), time(21))

    def _company(self, code: str) -> _CustomerPlan:
        """A random company customer with a contact person and a line of business."""
        industry = self._weighted({key: spec[3] for key, spec in _INDUSTRIES.items()})
        city = self._weighted({city: _CITY_VOLUME[city.key] for city in _MAINLAND if not city.remote})
        english = self._chance(0.1)  # foreign-invested firms that prefer English
        contact = self.fake["en_US"].name() if english and self._chance(0.5) else self.fake["zh_CN"].name()
        name, trade = self._company_name(city, industry, english)
        profile = self._weighted(
            {"heavy": 0.15, "company": 0.63, "new": 0.08, "dormant": 0.12, "never": 0.02}
        )
        domain = f"{city.key.replace('_', '')}-{trade.lower().replace(' ', '')}"
        plan = _CustomerPlan(
            code=code,
            kind=CustomerKind.COMPANY,
            name=name,
            contact_person=contact,
            phone=self._landline(city),
            phone_alt=self._mobile() if self._chance(0.7) else None,
            email=f"{self.rng.choice(('shipping', 'logistics', 'service', 'ops'))}@{domain}.example.com",
            address=self._address(city, english=english, business=True),
            city=city,
            industry=industry,
            notes=None,
            language="en" if english else "zh",
            joined=datetime.combine(self.today, time(9)),
        )
        self._activity(plan, profile)
        if profile == "heavy":
            plan.notes = _VIP_NOTE
            plan.discount = _money(Decimal(str(self.rng.uniform(0.75, 0.88))))
        else:
            if self._chance(0.3):
                plan.notes = self.rng.choice(_COMPANY_NOTES)
            if self._chance(0.5):
                plan.discount = _money(Decimal(str(self.rng.uniform(0.9, 1.0))))
        return plan

    def _private(self, code: str) -> _CustomerPlan:
        """A random private customer: mostly Chinese names, a few English-speaking residents."""
        english_name = self._chance(0.06)
        language = "en" if english_name or self._chance(0.05) else "zh"
        city = self._mainland_city()
        person = self._person(city, english=english_name)
        profile = self._weighted(
            {"regular": 0.30, "occasional": 0.44, "new": 0.08, "dormant": 0.14, "never": 0.04}
        )
        notes = None
        if self._chance(0.2):
            notes = (
                "只接受英文沟通 / English only, please"
                if language == "en"
                else self.rng.choice(_PERSONAL_NOTES)
            )
        plan = _CustomerPlan(
            code=code,
            kind=CustomerKind.PERSONAL,
            name=person.name,
            contact_person=None,
            phone=person.phone,
            phone_alt=self._mobile() if self._chance(0.15) else None,
            email=self.fake["zh_CN"].safe_email() if self._chance(0.65) else None,
            address=person.address,
            city=city,
            industry=None,
            notes=notes,
            language=language,
            joined=datetime.combine(self.today, time(9)),
        )
        self._activity(plan, profile)
        return plan

    # -- routes and timelines ----------------------------------------------------------------------

    def _hubs(self, origin: City, dest: City) -> list[tuple[Place, str | None]]:
        """The hubs a parcel passes, each with a customs note where it clears customs."""
        band = _band(origin, dest)
        if band == "local":
            return [(origin.hub, None)]
        if band == "hk":
            return [
                (origin.hub, None),
                (GATEWAYS["shenzhen_cross_border"], _NOTE_EXPORT),
                (dest.hub, _NOTE_IMPORT),
            ]
        if band == "overseas":
            key = (
                "guangzhou_international"
                if origin.region in ("south", "southwest")
                else "shanghai_international"
            )
            return [(origin.hub, None), (GATEWAYS[key], _NOTE_EXPORT), (dest.hub, _NOTE_IMPORT)]
        hubs = [origin.hub]
        if band in ("national", "remote"):
            for region in (origin.region, dest.region):
                hubs.append(CITIES_BY_KEY[_REGION_HUB_CITY[region]].hub)
        hubs.append(dest.hub)
        unique: list[Place] = []
        for hub in hubs:
            if hub not in unique:
                unique.append(hub)
        return [(hub, None) for hub in unique]

    def _journey(
        self, sender: _Party, recipient: _Party, service: ServiceLevel, created: datetime
    ) -> _Journey:
        """Plan the on-time trip of a parcel created at `created` (local time)."""
        origin, dest = sender.city, recipient.city
        origin_station = self.rng.choice(origin.stations)
        dest_station = self.rng.choice(dest.stations)
        days = _TRANSIT_DAYS[_band(origin, dest)][service]
        # Couriers collect within hours during the day; evening orders are collected next morning.
        if service is ServiceLevel.SAME_DAY:
            pickup = created + self._minutes(20, 60)
        else:
            pickup = created + self._hours(0.5, 3)
            if pickup.time() > time(20) or pickup.date() != created.date():
                pickup = self._at(created.date() + _DAY, time(8, 30), time(10, 30))
        promised = pickup.date() + timedelta(days=days)
        if days == 0:
            arrival = pickup + self._hours(1.5, 3)
            out = arrival + self._minutes(15, 45)
            delivered = out + self._hours(0.5, 3)
        else:
            arrival = self._at(promised, time(5), time(7, 30))
            out = self._at(promised, time(8), time(9, 45))
            latest = datetime.combine(promised, time(20, 30))
            delivered = out + self._hours(0.5, min(8.0, (latest - out).total_seconds() / 3600))
        hubs = self._hubs(origin, dest)
        band = _band(origin, dest)
        # (kind, place, note, relative duration of the leg that ends with this scan)
        plan: list[tuple[EventKind, Place, str | None, float]] = [
            (EventKind.DEPARTED_HUB, origin_station, _NOTE_LEFT_STATION, 1.0)
        ]
        previous_by_air = False
        for position, (hub, customs_note) in enumerate(hubs):
            haul = 1.5 if position == 0 else 6.0 if previous_by_air else _LINE_HAUL[band]
            plan.append((EventKind.ARRIVED_HUB, hub, None, haul))
            if customs_note:
                plan.append((EventKind.CUSTOMS, hub, customs_note, 2.0))
            previous_by_air = customs_note == _NOTE_EXPORT and band == "overseas"
            plan.append((EventKind.DEPARTED_HUB, hub, _NOTE_AIRLINE if previous_by_air else None, 1.0))
        times = self._timeline(pickup, arrival, [leg for *_, leg in plan] + [1.5])
        transit = [
            _Step(moment, kind, ShipmentStatus.IN_TRANSIT, place, note=note)
            for moment, (kind, place, note, _) in zip(times, plan, strict=True)
        ]
        transit.append(
            _Step(
                arrival, EventKind.ARRIVED_HUB, ShipmentStatus.IN_TRANSIT, dest_station, note=_NOTE_AT_STATION
            )
        )
        return _Journey(
            created=_Step(created, EventKind.CREATED, ShipmentStatus.CREATED, origin_station),
            picked_up=_Step(
                pickup, EventKind.PICKED_UP, ShipmentStatus.IN_TRANSIT, origin_station, note=_NOTE_PICKED_UP
            ),
            transit=transit,
            out=_Step(out, EventKind.OUT_FOR_DELIVERY, ShipmentStatus.OUT_FOR_DELIVERY, dest_station),
            delivered=_Step(
                delivered,
                EventKind.DELIVERED,
                ShipmentStatus.DELIVERED,
                dest_station,
                note=self.rng.choice(_DELIVERED_NOTES),
            ),
            hubs=[hub for hub, _ in hubs],
            origin_station=origin_station,
            dest_station=dest_station,
            promise_offset=(promised - created.date()).days,
        )

    def _delay_reason(self, step: _Step) -> str:
        """A plausible delay reason for a parcel held at this scan."""
        if step.kind is EventKind.CUSTOMS:
            return "customs_inspection"
        return self._weighted(_DELAY_REASONS)

    def _with_delay(self, journey: _Journey, index: int, reason: str, days: int) -> list[_Step]:
        """Transit scans with a delay after transit[index]; later scans slip by `days` and stay delayed."""
        transit = journey.transit
        here = transit[index]
        following = transit[index + 1].when if index + 1 < len(transit) else journey.out.when
        delayed_at = here.when + (following - here.when) * self.rng.uniform(0.2, 0.8)
        delayed_at = delayed_at.replace(microsecond=0)
        steps = transit[: index + 1]
        steps.append(_Step(delayed_at, EventKind.DELAYED, ShipmentStatus.DELAYED, here.place, reason=reason))
        shift = timedelta(days=days)
        for step in transit[index + 1 :]:
            steps.append(
                _Step(step.when + shift, step.kind, ShipmentStatus.DELAYED, step.place, note=step.note)
            )
        journey.out.when += shift
        journey.delivered.when += shift
        return steps

    def _attempt(self, journey: _Journey, after: datetime, reason: str) -> _Step:
        """A failed delivery attempt at the destination station some hours after `after`."""
        return _Step(
            after + self._hours(1, 4),
            EventKind.DELIVERY_ATTEMPTED,
            ShipmentStatus.EXCEPTION,
            journey.dest_station,
            reason=reason,
        )

    def _redelivery(self, journey: _Journey, attempt: _Step) -> tuple[_Step, _Step]:
        """Out for delivery again the next morning, then delivered."""
        out = _Step(
            self._at(attempt.when.date() + _DAY, time(8), time(9, 45)),
            EventKind.OUT_FOR_DELIVERY,
            ShipmentStatus.OUT_FOR_DELIVERY,
            journey.dest_station,
        )
        done = _Step(
            out.when + self._hours(0.5, 5),
            EventKind.DELIVERED,
            ShipmentStatus.DELIVERED,
            journey.dest_station,
            note=self.rng.choice(_DELIVERED_NOTES),
        )
        return out, done

    def _shape(
        self, status: ShipmentStatus, journey: _Journey, **choice: Any
    ) -> tuple[list[_Step], str | None]:
        """Turn a planned trip into the scans a parcel with this status has (and its status reason)."""
        head = [journey.created, journey.picked_up]
        transit = journey.transit
        rng = self.rng
        if status is ShipmentStatus.CREATED:
            return [journey.created], None
        if status is ShipmentStatus.IN_TRANSIT:
            keep = choice.get("keep", rng.randint(0, len(transit)))
            return head + transit[:keep], None
        if status is ShipmentStatus.DELIVERED:
            if choice.get("delay", self._chance(0.08)):
                index = rng.randrange(len(transit))
                transit = self._with_delay(
                    journey, index, self._delay_reason(transit[index]), rng.randint(1, 2)
                )
            if choice.get("attempt", self._chance(0.05)):
                attempt = self._attempt(
                    journey, journey.out.when, rng.choice(("recipient_absent", "recipient_unreachable"))
                )
                return head + transit + [journey.out, attempt, *self._redelivery(journey, attempt)], None
            return head + transit + [journey.out, journey.delivered], None
        if status is ShipmentStatus.OUT_FOR_DELIVERY:
            if choice.get("delay", self._chance(0.1)):
                index = rng.randrange(len(transit))
                transit = self._with_delay(journey, index, self._delay_reason(transit[index]), 1)
            if choice.get("attempt", self._chance(0.1)):
                attempt = self._attempt(journey, journey.out.when, "recipient_absent")
                return head + transit + [journey.out, attempt, self._redelivery(journey, attempt)[0]], None
            return head + transit + [journey.out], None
        if status is ShipmentStatus.DELAYED:
            index = choice.get("index", rng.randrange(len(transit)))
            reason = choice.get("reason") or self._delay_reason(transit[index])
            steps = self._with_delay(journey, index, reason, rng.randint(1, 3))
            # Sometimes the parcel has moved on since the delay notice but is still behind its promise.
            keep = (
                index
                + 2
                + (1 if choice.get("moved_on", self._chance(0.35)) and index + 1 < len(transit) else 0)
            )
            return head + steps[:keep], reason
        if status is ShipmentStatus.EXCEPTION:
            return self._exception(journey, head, choice.get("variant"), choice.get("reason"))
        if status is ShipmentStatus.RETURNED:
            return self._returned(journey, head, choice.get("reason") or self._weighted(_RETURN_REASONS))
        if status is ShipmentStatus.LOST:
            departures = [
                i for i, step in enumerate(transit) if step.kind is EventKind.DEPARTED_HUB and i > 0
            ]
            index = choice.get("index", rng.choice(departures or [0]))
            steps = head + transit[: index + 1]
            last = steps[-1]
            if self._chance(0.3):
                steps.append(
                    _Step(
                        last.when + self._hours(30, 60),
                        EventKind.DELAYED,
                        ShipmentStatus.DELAYED,
                        last.place,
                        reason="hub_backlog",
                    )
                )
            lost_at = self._office_after(last.when, timedelta(days=rng.randint(5, 12)), time(10), time(17))
            steps.append(
                _Step(
                    lost_at,
                    EventKind.LOST,
                    ShipmentStatus.LOST,
                    last.place,
                    reason="lost_in_transit",
                    note="多方查找未果，确认遗失，已启动理赔 / Not found after a search; claim opened",
                )
            )
            return steps, "lost_in_transit"
        raise ValueError(f"no timeline for status {status}")

    def _exception(
        self, journey: _Journey, head: list[_Step], variant: str | None, reason: str | None
    ) -> tuple[list[_Step], str]:
        """An exception: held at customs, damaged at a hub, or a failed delivery awaiting the recipient."""
        transit = journey.transit
        customs = [i for i, step in enumerate(transit) if step.kind is EventKind.CUSTOMS]
        if variant is None:
            roll = self.rng.random()
            variant = "customs" if customs and roll < 0.5 else "damaged" if roll < 0.25 else "delivery"
        if variant == "customs":
            index = customs[-1] if customs else len(transit) - 1
            reason = reason or "customs_inspection"
            here = transit[index]
            event = _Step(
                here.when + self._hours(2, 10),
                EventKind.EXCEPTION,
                ShipmentStatus.EXCEPTION,
                here.place,
                reason=reason,
                note="海关要求补充申报资料 / Customs asked for more documents",
            )
            return head + transit[:index] + [event], reason
        if variant == "damaged":
            arrivals = [i for i, step in enumerate(transit) if step.kind is EventKind.ARRIVED_HUB]
            index = self.rng.choice(arrivals)
            reason = reason or "damaged_packaging"
            here = transit[index]
            event = _Step(
                here.when + self._hours(0.5, 3),
                EventKind.EXCEPTION,
                ShipmentStatus.EXCEPTION,
                here.place,
                reason=reason,
                note="已拍照留证并联系寄件人 / Photographed; sender contacted",
            )
            return head + transit[: index + 1] + [event], reason
        reason = reason or self.rng.choice(("address_incomplete", "recipient_unreachable"))
        attempt = self._attempt(journey, journey.out.when, reason)
        hold = _Step(
            attempt.when + self._hours(0.5, 3),
            EventKind.EXCEPTION,
            ShipmentStatus.EXCEPTION,
            journey.dest_station,
            reason=reason,
            note="包裹在网点暂存，等待联系收件人 / Held at the station, waiting for the recipient",
        )
        return head + transit + [journey.out, attempt, hold], reason

    def _returned(self, journey: _Journey, head: list[_Step], reason: str) -> tuple[list[_Step], str]:
        """Delivery fails, the parcel travels back along its route and is signed for by the sender."""
        steps = head + journey.transit + [journey.out]
        attempt = self._attempt(journey, journey.out.when, reason)
        steps.append(attempt)
        if reason == "recipient_unreachable":
            # Unreachable recipients get a second try before the parcel goes back.
            out_again = self._redelivery(journey, attempt)[0]
            attempt = self._attempt(journey, out_again.when, reason)
            steps += [out_again, attempt]
        start = self._office_after(attempt.when, timedelta(hours=16), time(9), time(17))
        steps.append(
            _Step(
                start,
                EventKind.RETURNED,
                ShipmentStatus.RETURNED,
                journey.dest_station,
                reason=reason,
                note="开始退回寄件人 / Return to sender started",
            )
        )
        back: list[tuple[EventKind, Place, float]] = [(EventKind.DEPARTED_HUB, journey.dest_station, 1.0)]
        for hub in reversed(journey.hubs):
            back += [(EventKind.ARRIVED_HUB, hub, 4.0), (EventKind.DEPARTED_HUB, hub, 1.0)]
        trip = journey.transit[-1].when - journey.picked_up.when
        home = start + trip + self._hours(6, 30)
        times = self._timeline(start, home, [leg for *_, leg in back] + [1.5])
        for moment, (kind, place, _) in zip(times, back, strict=True):
            steps.append(_Step(moment, kind, ShipmentStatus.RETURNED, place))
        steps.append(
            _Step(
                home,
                EventKind.ARRIVED_HUB,
                ShipmentStatus.RETURNED,
                journey.origin_station,
                note="退件到达寄件网点 / Return arrived at the sender's station",
            )
        )
        signed = self._office_after(home, self._hours(1, 6), time(9, 30), time(18))
        steps.append(
            _Step(
                signed,
                EventKind.RETURNED,
                ShipmentStatus.RETURNED,
                journey.origin_station,
                reason=reason,
                note="已退回寄件人签收 / Returned and signed for by the sender",
            )
        )
        return steps, reason

    def _align(self, steps: list[_Step], status: ShipmentStatus) -> None:
        """Shift a timeline by whole days so it ends by the demo clock (in-progress ones: just before it)."""
        overshoot = (steps[-1].when - self.cutoff) / _DAY
        window = _RECENT_WINDOW_DAYS.get(status)
        if window is None:
            days = max(0, math.ceil(overshoot))
        else:
            days = math.ceil(overshoot) + self.rng.randrange(window)
        if days:
            shift = timedelta(days=days)
            for step in steps:
                step.when -= shift

    # -- shipments -------------------------------------------------------------------------------

    def _service(self, band: str, customer: _CustomerPlan | None) -> ServiceLevel:
        """A service level that exists for the band, pharma and same-city senders favour faster ones."""
        mix = dict(
            _SERVICE_MIX[
                "local" if band == "local" else "abroad" if band in ("hk", "overseas") else "domestic"
            ]
        )
        if customer is not None and customer.industry == "pharmaceuticals":
            mix[ServiceLevel.EXPRESS] = mix[ServiceLevel.EXPRESS] * 3
        return self._weighted(mix)

    def _weight(self, customer: _CustomerPlan | None) -> Decimal:
        """A parcel weight in kg: documents, small parcels, or what the company's trade ships."""
        if customer is None or customer.industry is None:
            if self._chance(0.12):
                return _money(Decimal(str(self.rng.uniform(0.1, 0.5))))
            median, sigma = 1.0, 0.9
        else:
            median, sigma = _INDUSTRIES[customer.industry][2], 0.7
        kilos = min(80.0, max(0.1, self.rng.lognormvariate(math.log(median), sigma)))
        return _money(Decimal(str(kilos)))

    def _declared(self, customer: _CustomerPlan | None) -> Decimal | None:
        """A declared (insured) value for some parcels, more often for valuable trades."""
        valuable = customer is not None and customer.industry in (
            "electronics",
            "pharmaceuticals",
            "cosmetics",
        )
        probability = 0.45 if valuable else 0.15 if customer is not None and customer.industry else 0.12
        if not self._chance(probability):
            return None
        value = min(50000.0, max(50.0, self.rng.lognormvariate(math.log(800 if valuable else 300), 1.0)))
        return Decimal(int(value / 10) * 10).quantize(Decimal("0.01"))

    def _destination(self, origin: City) -> City:
        """Where a parcel from origin goes: same city or province, elsewhere in China, Hong Kong or abroad."""
        roll = self.rng.random()
        if roll < 0.03:
            return self._weighted({city: _OVERSEAS_VOLUME[city.key] for city in _OVERSEAS})
        if roll < 0.045:
            return CITIES_BY_KEY["hongkong"]
        if roll < 0.17:
            return origin
        neighbours = [
            city for city in _MAINLAND if city.province_zh == origin.province_zh and city.key != origin.key
        ]
        if roll < 0.27 and neighbours:
            return self.rng.choice(neighbours)
        return self._mainland_city(exclude=origin.key)

    def _ship_time(self, day: date, customer: _CustomerPlan | None, service: ServiceLevel) -> datetime:
        """When a waybill is created on a day: office hours for companies, into the evening for people."""
        if service is ServiceLevel.SAME_DAY:
            return self._at(day, time(8, 30), time(12, 30))  # same-day orders close at lunchtime
        if customer is not None and customer.kind is CustomerKind.COMPANY:
            return self._at(day, time(9), time(17, 30))
        return self._at(day, time(8, 30), time(20, 30))

    def _shipment(self, status: ShipmentStatus, customer: _CustomerPlan | None, day: date) -> _ShipmentPlan:
        """Plan one random shipment of a customer (or a walk-in sender) with the given final status."""
        customer_sends = False
        if customer is None:
            origin = self._mainland_city()
            sender = self._person(origin)
            recipient = self._person(self._destination(origin))
        elif self._chance(0.15 if customer.kind is CustomerKind.PERSONAL else 0.04):
            # The customer receives: an online shop or a friend elsewhere sends to them.
            origin = self._mainland_city(exclude=customer.city.key)
            sender = self._shop(origin) if self._chance(0.5) else self._person(origin)
            recipient = customer.party
        else:
            sender, customer_sends = customer.party, True
            recipient = self._person(self._destination(customer.city))
        band = _band(sender.city, recipient.city)
        service = self._service(band, customer)
        weight = self._weight(customer)
        declared = self._declared(customer)
        discount = customer.discount if customer is not None and customer_sends else Decimal(1)
        fee = _fee(weight, service, band, discount, declared)
        journey = self._journey(sender, recipient, service, self._ship_time(day, customer, service))
        steps, reason = self._shape(status, journey)
        self._align(steps, status)
        return _ShipmentPlan(
            status,
            reason,
            customer,
            sender,
            recipient,
            service,
            weight,
            fee,
            declared,
            steps,
            journey.promise_offset,
        )

    def _showcase_shipments(self, wang: _CustomerPlan) -> list[_ShipmentPlan]:
        """王小明's nine parcels, one or more per status, dated relative to today."""
        people = {
            "chengdu": ("张伟", "+8613980012345", "四川省成都市武侯区人民路66号阳光花园2栋501室"),
            "beijing": ("李娜", "+8613910023456", "北京市朝阳区建设路18号锦绣家园5栋1203室"),
            "harbin": ("刘洋", "+8613945034567", "黑龙江省哈尔滨市南岗区学院路102号翠苑小区7栋302室"),
            "guangzhou": (
                "陈晨",
                "+8613826045678",
                "广东省广州市天河区中山路",
            ),  # no house number: address_incomplete
            "hangzhou": ("赵敏", "+8613757056789", "浙江省杭州市西湖区文化路35号春晓苑3栋601室"),
            "nanjing": ("孙丽", "+8613851067890", "江苏省南京市鼓楼区青年路9号幸福里12栋1101室"),
            "shenzhen": ("周杰", "+8613728078901", "广东省深圳市南山区科技路200号滨江花园9栋2303室"),
            "xian": ("吴芳", "+8613991089012", "陕西省西安市雁塔区长江路77号东方名苑4栋802室"),
            "singapore": ("Tan Wei Ming", "+6591234567", "88 Orchard Link #05-12, Orchard, Singapore"),
        }
        self.used_phones.update(phone for _, phone, _ in people.values())
        # number, destination, service, days before today, created at, timeline choices
        specs: list[tuple[str, str, ServiceLevel, int, time, dict[str, Any]]] = [
            ("XJ202611180042", "chengdu", ServiceLevel.STANDARD, 1, time(10, 20), {}),
            (
                "XJ202611170007",
                "beijing",
                ServiceLevel.EXPRESS,
                3,
                time(14, 5),
                {"delay": False, "attempt": False},
            ),
            ("XJ202611150013", "harbin", ServiceLevel.STANDARD, 4, time(11, 40), {"reason": "weather"}),
            (
                "XJ202611160021",
                "guangzhou",
                ServiceLevel.EXPRESS,
                3,
                time(9, 50),
                {"variant": "delivery", "reason": "address_incomplete"},
            ),
            (
                "XJ202611200005",
                "hangzhou",
                ServiceLevel.EXPRESS,
                1,
                time(15, 30),
                {"delay": False, "attempt": False},
            ),
            ("XJ202611220031", "nanjing", ServiceLevel.STANDARD, 0, time(9, 15), {}),
            (
                "XJ202611010019",
                "shenzhen",
                ServiceLevel.STANDARD,
                17,
                time(16, 10),
                {"reason": "recipient_refused"},
            ),
            ("XJ202610250008", "xian", ServiceLevel.STANDARD, 24, time(13, 25), {}),
            ("EE123456785CN", "singapore", ServiceLevel.EXPRESS, 2, time(10, 45), {}),
        ]
        plans: list[_ShipmentPlan] = []
        for number, city_key, service, days_ago, created_at, choice in specs:
            status = SHOWCASE_NUMBERS[number]
            name, phone, address = people[city_key]
            recipient = _Party(name, phone, address, CITIES_BY_KEY[city_key])
            sender = wang.party
            created = datetime.combine(self.today - timedelta(days=days_ago), created_at)
            journey = self._journey(sender, recipient, service, created)
            if status is ShipmentStatus.IN_TRANSIT:
                # Everything that has happened by the demo clock, and nothing after it.
                choice = {"keep": sum(1 for step in journey.transit if step.when <= self.cutoff)}
            elif status is ShipmentStatus.DELAYED:
                # Held by snow at the north-east regional hub on the way to Harbin.
                hub = CITIES_BY_KEY["shenyang"].hub
                choice["index"] = next(
                    i
                    for i, s in enumerate(journey.transit)
                    if s.place == hub and s.kind is EventKind.ARRIVED_HUB
                )
                choice["moved_on"] = False
            elif status is ShipmentStatus.LOST:
                choice = {
                    "index": next(
                        i
                        for i, s in enumerate(journey.transit)
                        if s.kind is EventKind.DEPARTED_HUB and s.place == journey.hubs[0]
                    )
                }
            steps, reason = self._shape(status, journey, **choice)
            weight = self._weight(None)
            declared = Decimal("2000.00") if number.startswith("EE") else None
            fee = _fee(weight, service, _band(sender.city, recipient.city), Decimal(1), declared)
            plan = _ShipmentPlan(
                status,
                reason,
                wang,
                sender,
                recipient,
                service,
                weight,
                fee,
                declared,
                steps,
                journey.promise_offset,
                number=number,
            )
            plans.append(plan)
        return plans

    def _day_weights(self) -> list[float]:
        """Relative parcel volume for each of the 365 days before today: growth, recent rush, sales peaks."""
        weights: list[float] = []
        for days_ago in range(365):
            day = self.today - timedelta(days=days_ago)
            weight = 0.6 + 0.4 * (1 - days_ago / 364)  # the business grew over the year
            if days_ago < 30:
                weight *= 2.0
            elif days_ago < 90:
                weight *= 1.3
            if (day.month == 11 and 11 <= day.day <= 20) or (day.month == 6 and 15 <= day.day <= 20):
                weight *= 1.8  # Double 11 and 618 shopping festivals
            if day.weekday() == 6:
                weight *= 0.6
            weights.append(weight)
        return weights

    def _pick_customer(self, customers: Sequence[_CustomerPlan], days_ago: int) -> _CustomerPlan | None:
        """A customer active on that day, by weight; now and then a walk-in sender without an account."""
        if self._chance(0.04):
            return None
        active = [customer for customer in customers if customer.active_on(days_ago)]
        if not active:
            return None
        return self.rng.choices(active, weights=[customer.weight for customer in active])[0]

    def _random_shipments(self, customers: list[_CustomerPlan], total: int) -> list[_ShipmentPlan]:
        """Random shipments: problem statuses by quota, one per shipping customer, the rest by day volume."""
        showcase = Counter(SHOWCASE_NUMBERS.values())
        quotas = {
            status: max(0, round(share * (total + sum(showcase.values()))) - showcase[status])
            for status, share in _STATUS_SHARE.items()
        }
        jobs: list[tuple[ShipmentStatus, _CustomerPlan | None, int]] = []
        for status, count in quotas.items():
            for _ in range(count):
                if status in _OLDER_RANGE:
                    days_ago = self.rng.randint(*_OLDER_RANGE[status])
                else:
                    days_ago = 10  # provisional; _align moves the timeline to the last days
                jobs.append(
                    (
                        status,
                        self._pick_customer(customers, 0 if status not in _OLDER_RANGE else days_ago),
                        days_ago,
                    )
                )
        # Every customer that ships gets a parcel inside its active window (dormant ones: an old one).
        for customer in customers:
            if len(jobs) >= total:
                break
            if customer.ships and customer.weight > 0:
                if customer.last_day_ago > 0:
                    span = min(40, customer.first_day_ago - customer.last_day_ago)
                    days_ago = customer.last_day_ago + self.rng.randint(0, span)
                else:
                    days_ago = self.rng.randint(customer.last_day_ago, customer.first_day_ago)
                jobs.append((ShipmentStatus.DELIVERED, customer, days_ago))
        day_weights = self._day_weights()
        while len(jobs) < total:
            days_ago = self.rng.choices(range(365), weights=day_weights)[0]
            jobs.append((ShipmentStatus.DELIVERED, self._pick_customer(customers, days_ago), days_ago))
        return [
            self._shipment(status, customer, self.today - timedelta(days=days_ago))
            for status, customer, days_ago in jobs
        ]

    def _number(self, plans: list[_ShipmentPlan]) -> None:
        """Number the shipments: XJ + ship date + daily serial, or an S10 number for parcels going abroad."""
        by_day: dict[date, list[_ShipmentPlan]] = {}
        for plan in plans:
            if plan.recipient.city.region == "overseas":
                letters = "EE" if plan.service is ServiceLevel.EXPRESS else "CP"
                while True:
                    serial = self.rng.randrange(10**7, 10**8)
                    number = make_s10(letters, serial, "CN")
                    if number not in self.used_numbers:
                        break
                self.used_numbers.add(number)
                plan.number = number
            else:
                by_day.setdefault(plan.shipped.date(), []).append(plan)
        for day in sorted(by_day):
            todays = sorted(by_day[day], key=lambda plan: (plan.shipped, plan.order))
            prefix = f"XJ{day:%Y%m%d}"
            candidates = sorted(self.rng.sample(range(1, 10000), len(todays) + 10))
            serials = [s for s in candidates if f"{prefix}{s:04d}" not in self.used_numbers][: len(todays)]
            for plan, serial in zip(todays, serials, strict=True):
                plan.number = f"{prefix}{serial:04d}"
                self.used_numbers.add(plan.number)

    def _check(self, plans: Iterable[_ShipmentPlan]) -> None:
        """Fail loudly if a planned timeline breaks the demo's promises (a generator bug, not user error)."""
        for plan in plans:
            times = [step.when for step in plan.steps]
            if any(later <= earlier for earlier, later in pairwise(times)):
                raise RuntimeError(f"demo timeline of {plan.number} is not strictly increasing")
            if times[-1] > self.cutoff:
                raise RuntimeError(f"demo timeline of {plan.number} ends after the demo clock")
            if plan.steps[-1].status is not plan.status or plan.steps[0].kind is not EventKind.CREATED:
                raise RuntimeError(f"demo timeline of {plan.number} does not match its status")

    def build(
        self, customer_count: int, shipment_count: int
    ) -> tuple[list[_CustomerPlan], list[_ShipmentPlan]]:
        """Plan the whole company: showcase first (fixed stream), then the seeded random part."""
        customers = self._showcase_customers()
        showcase = self._showcase_shipments(customers[0])
        # From here on everything depends on the seed.
        self.rng = random.Random(self.seed)
        self.fake.seed_instance(self.seed)
        customers += self._random_customers(customer_count - len(customers), first_index=len(customers) + 1)
        randoms = self._random_shipments(customers, shipment_count - len(showcase))
        for order, plan in enumerate(randoms):
            plan.order = order
        self._number(randoms)
        randoms.sort(key=lambda plan: (plan.shipped, plan.number))
        plans = showcase + randoms
        self._check(plans)
        return customers, plans


# ---------------------------------------------------------------------------------------------------
# Writing: ORM bulk INSERTs (one statement per batch) instead of one object per row.


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Rows in batches, so no single statement grows without bound."""
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


def _insert(session: Session, customers: list[_CustomerPlan], shipments: list[_ShipmentPlan]) -> None:
    """Insert customers, shipments and events with bulk statements, mapping planned rows to new ids."""
    # render_nulls: the ORM otherwise drops None columns, so rows with and without a reason or note
    # would differ in shape and the batch would fall apart into thousands of small statements.
    customer_rows = [
        {
            "code": c.code,
            "kind": c.kind,
            "name": c.name,
            "contact_person": c.contact_person,
            "phone": c.phone,
            "phone_alt": c.phone_alt,
            "email": c.email,
            "address": c.address,
            "city": c.city.zh,
            "industry": c.industry,
            "notes": c.notes,
            "preferred_language": c.language,
            "telegram_user_id": None,
            "created_at": _utc(c.joined),
            "updated_at": _utc(c.joined),
        }
        for c in customers
    ]
    customer_ids: dict[str, int] = {}
    for batch in _chunks(customer_rows):
        statement = insert(Customer).returning(Customer.id, sort_by_parameter_order=True)
        statement = statement.execution_options(render_nulls=True)
        for row, new_id in zip(batch, session.scalars(statement, batch), strict=True):
            customer_ids[row["code"]] = new_id
    shipment_rows = []
    for plan in shipments:
        shipped = _utc(plan.shipped)
        delivered = next((step.when for step in plan.steps if step.kind is EventKind.DELIVERED), None)
        shipment_rows.append(
            {
                "tracking_number": plan.number,
                "customer_id": customer_ids[plan.customer.code] if plan.customer else None,
                "sender_name": plan.sender.name,
                "sender_phone": plan.sender.phone,
                "sender_address": plan.sender.address,
                "sender_city": plan.sender.city.zh,
                "recipient_name": plan.recipient.name,
                "recipient_phone": plan.recipient.phone,
                "recipient_address": plan.recipient.address,
                "recipient_city": plan.recipient.city.zh,
                "weight_kg": plan.weight,
                "fee": plan.fee,
                "declared_value": plan.declared_value,
                "service_level": plan.service,
                "status": plan.status,
                "status_reason": plan.reason,
                "promised_date": plan.shipped.date() + timedelta(days=plan.promise_offset),
                "delivered_at": _utc(delivered)
                if delivered and plan.status is ShipmentStatus.DELIVERED
                else None,
                "shipped_at": shipped,
                "created_at": shipped,
                "updated_at": _utc(plan.steps[-1].when),
            }
        )
    event_rows: list[dict[str, Any]] = []
    for batch_start, batch in zip(range(0, len(shipment_rows), _BATCH), _chunks(shipment_rows), strict=True):
        statement = insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True)
        statement = statement.execution_options(render_nulls=True)
        for plan, new_id in zip(shipments[batch_start:], session.scalars(statement, batch), strict=False):
            event_rows.extend(
                {
                    "shipment_id": new_id,
                    "occurred_at": _utc(step.when),
                    "kind": step.kind,
                    "status": step.status,
                    "place_zh": step.place.zh,
                    "place_en": step.place.en,
                    "reason": step.reason,
                    "note": step.note,
                    "courier": courier_for(step.kind, step.place.zh, plan.number),
                }
                for step in plan.steps
            )
    for batch in _chunks(event_rows):
        session.execute(insert(TrackingEvent).execution_options(render_nulls=True), batch)
    session.flush()
