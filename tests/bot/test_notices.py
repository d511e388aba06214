"""Proactive care through the sandbox: the real bot and ingestion API processes, a delay posted over HTTP.

No Rasa here (the notices, /notify and the bot's own buttons never go to it); "Notify me" under a tracking reply,
which Rasa's action adds, is pressed in tests/e2e/test_notices.py. Time is the shared test clock file: the tests
put every process at 14:00 or 23:30 China time instead of waiting for the evening.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.texts import text
from core.clock import COMPANY_TZ, set_clock_offset
from core.db import make_sessionmaker, transaction
from core.settings import Settings
from crm import notices
from crm.models import (
    Customer,
    CustomerKind,
    EventKind,
    Notice,
    NoticeState,
    ServiceLevel,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from parceldesk.processes import Supervisor, bot_service, ingest_service, sandbox_service
from sandbox.client import SandboxClient
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import free_port

TOKEN = "care-test-token-0123456789"
# Job passes every half second: "nothing arrives" is checked over several of them.
INTERVAL = 0.5
QUIET_WAIT = 2.5
_ids = itertools.count(random.randint(30_000_000, 39_000_000))


@dataclass
class CareStack:
    """Sandbox, bot and ingestion API against one database, sharing one clock file."""

    settings: Settings
    database: TestDatabase
    clock: Path

    def at_local(self, hour: int, minute: int = 0, *, day: date | None = None) -> datetime:
        """Put every process's clock at this China time (today unless told); the moment, in UTC."""
        day = day or datetime.now(COMPANY_TZ).date()
        target = datetime(day.year, day.month, day.day, hour, minute, tzinfo=COMPANY_TZ).astimezone(UTC)
        set_clock_offset(self.clock, (target - datetime.now(UTC)).total_seconds())
        return target

    def post_events(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """POST /v1/events to the running API process."""
        response = httpx.post(
            f"http://127.0.0.1:{self.settings.ingest_port}/v1/events",
            json={"items": items},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def notices_of(self, chat_id: int) -> list[Notice]:
        """Every notice row for a chat."""
        with Session(self.database.engine) as session:
            return list(session.scalars(select(Notice).where(Notice.chat_id == chat_id).order_by(Notice.id)))


@pytest.fixture(scope="module", params=BACKENDS)
def care(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CareStack]:
    """The processes a notice passes through, per backend."""
    workdir = tmp_path_factory.mktemp(f"care-{request.param}")
    clock = workdir / "clock"
    set_clock_offset(clock, 0)
    for database in create_database(request.param, workdir):
        settings = Settings(  # type: ignore[call-arg]
            database_url=database.url, database_schema=database.schema, data_dir=workdir,
            sandbox=True, telegram_bot_token=None, sandbox_port=free_port(), rasa_url="http://127.0.0.1:9",
            ingest_port=free_port(), ingest_token=TOKEN, clock_file=clock, notice_job_interval_seconds=INTERVAL,
            quiet_hours="22:00-08:00", telegram_group_messages_per_minute=6000.0,
        )
        supervisor = Supervisor()
        try:
            for service in (sandbox_service(settings, workdir), bot_service(settings, workdir),
                            ingest_service(settings, workdir)):
                supervisor.start(service)
            yield CareStack(settings, database, clock)
        finally:
            supervisor.stop_all()


@pytest.fixture()
async def sandbox(care: CareStack) -> AsyncIterator[SandboxClient]:
    """The stack's sandbox control API."""
    async with SandboxClient(care.settings.sandbox_url, token=care.settings.sandbox_control_token.get_secret_value()) \
            as client:
        yield client


def seed_parcel(care: CareStack, owner_user: int) -> str:
    """A parcel in transit sent by a customer linked to owner_user (as sharing the contact does)."""
    return seed_parcel_in(care.database.engine, owner_user)[0]


def seed_parcel_in(engine: Engine, owner_user: int | None) -> tuple[str, str]:
    """A new customer (linked to owner_user, if given) and a parcel of theirs in transit: its number, their phone."""
    serial = next(_ids)
    number = f"XJ2097{serial:08d}"
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(engine)) as session:
        customer = Customer(code=f"N{serial}", kind=CustomerKind.PERSONAL, name="王测试", phone=f"+86139{serial:08d}",
                            address="上海市浦东新区测试路1号", city="上海", telegram_user_id=owner_user)
        session.add(customer)
        session.flush()
        shipment = Shipment(
            tracking_number=number, customer_id=customer.id, sender_name="王测试", sender_phone=customer.phone,
            sender_address="上海", sender_city="上海", recipient_name="李收件", recipient_phone="+8613900000002",
            recipient_address="北京市朝阳区测试街2号", recipient_city="北京", weight_kg=Decimal("1.00"),
            fee=Decimal("12.00"), service_level=ServiceLevel.STANDARD, status=ShipmentStatus.IN_TRANSIT,
            promised_date=date.today() + timedelta(days=2), shipped_at=now - timedelta(days=1),
        )
        session.add(shipment)
        session.flush()
        session.add(TrackingEvent(
            shipment_id=shipment.id, occurred_at=now - timedelta(days=1), kind=EventKind.PICKED_UP,
            status=ShipmentStatus.IN_TRANSIT, place_zh="上海浦东营业部", place_en="Shanghai Pudong Station",
        ))
    return number, f"+86139{serial:08d}"


def follow(care: CareStack, chat_id: int, number: str) -> None:
    """The chat follows the parcel (what pressing "Notify me" stores; pressed for real in the e2e test)."""
    with transaction(make_sessionmaker(care.database.engine)) as session:
        assert notices.subscribe(session, chat_id, number, now=datetime.now(UTC)) is notices.SubscribeResult.SUBSCRIBED


def event(number: str, event_id: str, at: datetime, status: str = "delayed") -> dict[str, Any]:
    """A tracking event of the given status at a moment."""
    return {
        "tracking_number": number, "event_id": event_id, "occurred_at": at.isoformat(), "kind": status,
        "status": status, "place_zh": "上海浦东转运中心", "place_en": "Shanghai Pudong Hub",
        "reason": "weather" if status == "delayed" else None,
    }


async def open_chat(sandbox: SandboxClient, user: int, language: str) -> int:
    """The user starts the bot (Telegram lets a bot write only to people who did) and picks a language."""
    await sandbox.send_text(user, "/start")
    await sandbox.wait_for_bot_messages(user, count=1)
    await sandbox.send_text(user, "/language")
    [_, prompt] = await sandbox.wait_for_bot_messages(user, count=2)
    await sandbox.press_button(user, user, prompt["message_id"], f"lang:{language}")
    messages = await sandbox.wait_for_bot_messages(user, count=3)
    return int(messages[-1]["message_id"])


async def bot_messages_after(sandbox: SandboxClient, user: int, after: int) -> list[dict[str, Any]]:
    """What the bot sent a user after a message id."""
    return await sandbox.bot_messages(user, after_message_id=after)


def callback_data(message: dict[str, Any]) -> list[str]:
    """The callback data of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button["callback_data"] for row in rows for button in row]


async def test_a_delay_reaches_the_owner_and_a_follower_once_each_in_their_language(
    care: CareStack, sandbox: SandboxClient
) -> None:
    """Owner (Chinese) and follower (English): one notice each, with complain / person / stop buttons; resent: none."""
    now = care.at_local(14)
    owner, follower = next(_ids), next(_ids)
    number = seed_parcel(care, owner)
    follow(care, follower, number)
    after_owner = await open_chat(sandbox, owner, "zh")
    after_follower = await open_chat(sandbox, follower, "en")

    assert care.post_events([event(number, "D-1", now - timedelta(minutes=5))])["notices"] == 2
    [owner_notice] = await sandbox.wait_for_bot_messages(owner, count=1, after_message_id=after_owner)
    [follower_notice] = await sandbox.wait_for_bot_messages(follower, count=1, after_message_id=after_follower)
    assert owner_notice["text"].startswith(f"⏰ 延误提醒：包裹 {number}")
    assert "李收件" in owner_notice["text"]  # the owner sees whom it is for
    assert follower_notice["text"].startswith(f"⏰ Delay: we're sorry, parcel {number} is delayed.")
    assert "李收件" not in follower_notice["text"] and "Line-haul delayed by bad weather" in follower_notice["text"]
    assert callback_data(follower_notice) == [
        f'/complain_delay{{"tracking_number":"{number}"}}', "/request_human", f"unnotify:{number}"
    ]

    assert care.post_events([event(number, "D-1", now - timedelta(minutes=5))])["notices"] == 0
    await asyncio.sleep(QUIET_WAIT)
    assert len(await bot_messages_after(sandbox, owner, after_owner)) == 1
    assert len(await bot_messages_after(sandbox, follower, after_follower)) == 1
    assert [n.state for n in care.notices_of(owner) + care.notices_of(follower)] == [NoticeState.SENT] * 2


async def test_during_quiet_hours_a_delay_waits_until_morning(care: CareStack, sandbox: SandboxClient) -> None:
    """At 23:30 the delay is held (logged as deferred to 08:00); when the clock reaches 08:00 it goes out, once."""
    owner = next(_ids)
    number = seed_parcel(care, owner)
    care.at_local(14)
    after = await open_chat(sandbox, owner, "zh")
    night = care.at_local(23, 30)
    care.post_events([event(number, "Q-1", night - timedelta(minutes=1))])
    await asyncio.sleep(QUIET_WAIT)
    assert await bot_messages_after(sandbox, owner, after) == []
    [waiting] = care.notices_of(owner)
    morning = (night.astimezone(COMPANY_TZ) + timedelta(days=1)).replace(hour=8, minute=0)
    assert waiting.state is NoticeState.PENDING and waiting.deferred_at is not None
    assert notices.as_utc(waiting.due_at) == morning.astimezone(UTC)

    care.at_local(7, 59, day=morning.date())
    await asyncio.sleep(QUIET_WAIT)
    assert await bot_messages_after(sandbox, owner, after) == []
    care.at_local(8, 0, day=morning.date())
    [notice] = await sandbox.wait_for_bot_messages(owner, count=1, after_message_id=after)
    assert number in notice["text"]
    await asyncio.sleep(QUIET_WAIT)
    assert len(await bot_messages_after(sandbox, owner, after)) == 1
    [sent] = care.notices_of(owner)
    assert sent.state is NoticeState.SENT and sent.deferred_at is not None


async def test_an_unsubscribed_customer_gets_nothing(care: CareStack, sandbox: SandboxClient) -> None:
    """/notify off: no notice at all; the stop button on a notice: nothing more about that parcel."""
    now = care.at_local(14)
    quiet_owner, follower = next(_ids), next(_ids)
    number = seed_parcel(care, quiet_owner)
    follow(care, follower, number)
    after_owner = await open_chat(sandbox, quiet_owner, "en")
    after_follower = await open_chat(sandbox, follower, "en")
    await sandbox.send_text(quiet_owner, "/notify off")
    [confirmation] = await sandbox.wait_for_bot_messages(quiet_owner, count=1, after_message_id=after_owner)
    assert confirmation["text"] == text("notify_off", "en")
    after_owner = confirmation["message_id"]

    care.post_events([event(number, "U-1", now - timedelta(minutes=3))])
    [notice] = await sandbox.wait_for_bot_messages(follower, count=1, after_message_id=after_follower)
    await sandbox.press_button(follower, follower, notice["message_id"], f"unnotify:{number}")
    [_, stopped] = await sandbox.wait_for_bot_messages(follower, count=2, after_message_id=after_follower)
    assert stopped["text"] == text("notify_unsubscribed", "en", tracking_number=number)

    care.post_events([event(number, "U-2", now - timedelta(minutes=1), status="out_for_delivery")])
    await asyncio.sleep(QUIET_WAIT)
    assert await bot_messages_after(sandbox, quiet_owner, after_owner) == []
    assert len(await bot_messages_after(sandbox, follower, after_follower)) == 2
    assert care.notices_of(quiet_owner) == []
    assert [n.status for n in care.notices_of(follower)] == [ShipmentStatus.DELAYED]
