"""Commands, media and small courtesies through the real bot and a Telegram sandbox, with a real database.

The bot runs in this process against an in-process sandbox; Rasa is deliberately unreachable (what needs Rasa is
in tests/e2e). Covered here: /language with an argument, /start for customers and for staff, the unknown-command
menu, the message length limit, captions read like text, other media, a moved link told to the account that lost
it, and the staff card of a customer who is not linked.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.orm import Session
from telegram.ext import Application

from bot.app import build_application
from bot.texts import TEXTS, command_menu, text
from core.db import make_sessionmaker, transaction
from core.settings import Settings
from crm.models import Chat, Customer, StaffRole
from crm.staff import register_staff
from sandbox.client import SandboxClient
from tests.bot.test_review_desk import serving_sandbox
from tests.crm.factories import make_customer
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import free_port, silent_server

STAFF_GROUP = -100777
BRAND = {"zh": "测试快运", "en": "Test Express"}
PHONE = "+86 139 1234 5678"
T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """The running bot's world: sandbox client, database, settings, who is who."""

    sandbox: SandboxClient
    database: TestDatabase
    settings: Settings
    agent: int
    admin: int


@pytest.fixture(scope="module", params=BACKENDS)
def commands_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A database of its own for the bot (it commits), per backend."""
    yield from create_database(request.param, tmp_path_factory.mktemp(f"commands-{request.param}"))


@pytest.fixture(scope="module")
async def world(commands_db: TestDatabase, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """Sandbox + bot (polling) + an agent, an admin, a customer with PHONE and a staff group; Rasa never answers."""
    agent, admin = random.sample(range(10**7, 9 * 10**7), 2)
    with transaction(make_sessionmaker(commands_db.engine)) as session:
        register_staff(session, agent, "Alice", StaffRole.AGENT)
        register_staff(session, admin, "Ada", StaffRole.ADMIN)
        make_customer(session, "T000777", PHONE, name="王测试")
    port = free_port()
    with silent_server() as rasa_url:
        settings = Settings(
            database_url=commands_db.url, database_schema=commands_db.schema, sandbox_port=port,
            telegram_bot_token=None, rasa_url=rasa_url, rasa_timeout_seconds=1.0, staffed_hours="00:00-24:00",
            staffed_timezone="Europe/Berlin", handoff_job_interval_seconds=3600, staff_chat_id=STAFF_GROUP,
            brand_name_zh=BRAND["zh"], brand_name_en=BRAND["en"], data_dir=Path(tmp_path_factory.mktemp("data")),
        )
        async with serving_sandbox(port) as url, SandboxClient(url) as client:
            await client.create_group(STAFF_GROUP, "Staff")
            application: Application = build_application(settings, make_sessionmaker(commands_db.engine))
            await application.initialize()
            assert application.post_init is not None and application.post_shutdown is not None
            await application.post_init(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=5)
            try:
                yield World(client, commands_db, settings, agent, admin)
            finally:
                await application.updater.stop()
                await application.stop()
                await application.post_shutdown(application)
                await application.shutdown()


def new_user() -> int:
    """A fresh Telegram user id."""
    return random.randint(10**8, 9 * 10**8)


async def replies(world: World, user: int, count: int = 1, **send: Any) -> list[dict[str, Any]]:
    """A user sends a message (text= or kind=...); returns the bot's next `count` messages in that chat."""
    sent = await world.sandbox.send_message(user, **{"kind": "text", "first_name": "Test", **send})
    return await world.sandbox.wait_for_bot_messages(user, after_message_id=sent["message_id"], count=count,
                                                     timeout=20)


def fixed_language(world: World, chat_id: int) -> str | None:
    """The chat's pinned reply language in the database."""
    with Session(world.database.engine) as session:
        chat = session.get(Chat, chat_id)
        assert chat is not None
        return chat.language_fixed


def inline_data(message: dict[str, Any]) -> list[str]:
    """The callback data of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button["callback_data"] for row in rows for button in row]


async def test_language_with_an_argument_sets_it(world: World) -> None:
    """/language zh|en|auto takes effect at once; no argument offers buttons; a wrong one says the choices."""
    user = new_user()
    (zh,) = await replies(world, user, text="/language zh", language_code="en")
    assert zh["text"] == text("language_set_zh", "zh") and fixed_language(world, user) == "zh"
    # An English message is still answered in Chinese: the unknown-command menu comes in the pinned language.
    (menu,) = await replies(world, user, text="/whatever please")
    assert menu["text"] == text("unknown_command", "zh", commands=command_menu("zh"))
    (en,) = await replies(world, user, text="/language EN")
    assert en["text"] == text("language_set_en", "en") and fixed_language(world, user) == "en"
    (auto,) = await replies(world, user, text="/language 自动")
    assert auto["text"] == text("language_set_auto", "en") and fixed_language(world, user) is None
    (prompt,) = await replies(world, user, text="/language")
    assert prompt["text"] == text("language_prompt", "en")
    assert inline_data(prompt) == ["lang:zh", "lang:en", "lang:auto"]
    (wrong,) = await replies(world, user, text="/language klingon")
    assert wrong["text"] == text("language_usage", "en") and "/language zh" in wrong["text"]
    assert inline_data(wrong) == ["lang:zh", "lang:en", "lang:auto"] and fixed_language(world, user) is None


@pytest.mark.parametrize(("language_code", "language"), [("zh-hans", "zh"), ("en", "en")])
async def test_start_names_the_brand_from_the_settings(world: World, language_code: str, language: str) -> None:
    """The customer welcome says the configured brand, in the customer's language."""
    (welcome,) = await replies(world, new_user(), text="/start", language_code=language_code)
    assert welcome["text"] == text("start", language, brand=BRAND[language])
    assert BRAND[language] in welcome["text"]


async def test_staff_start_gets_the_staff_welcome_with_their_commands(world: World) -> None:
    """An agent's /start lists the agent's commands (not /review); an admin's also /review and /staff."""
    (agent,) = await replies(world, world.agent, text="/start")
    assert agent["text"].startswith(text("staff_start", "zh", name="Alice", brand=BRAND["zh"], commands="")[:20])
    assert "/queue" in agent["text"] and "/resolve" in agent["text"] and "/review" not in agent["text"]
    assert TEXTS["start"]["zh"][:10] not in agent["text"]
    (admin,) = await replies(world, world.admin, text="/start")
    assert "/review" in admin["text"] and "/staff" in admin["text"] and "/report" in admin["text"]


async def test_unknown_command_lists_every_customer_command(world: World) -> None:
    """The reply names /link and the rest of the menu, in the customer's language."""
    (reply,) = await replies(world, new_user(), text="/frobnicate", language_code="en")
    assert reply["text"] == text("unknown_command", "en", commands=command_menu("en"))
    for command in ("/start", "/help", "/language", "/human", "/link", "/forget", "/notify"):
        assert command in reply["text"]


async def test_long_texts_up_to_telegrams_limit_are_read(world: World) -> None:
    """3,000 characters go to the assistant (here: it is down, so the holding reply); over 4,096 are refused."""
    assert world.settings.max_message_chars == 4096
    user = new_user()
    (long_reply,) = await replies(world, user, text="where is my parcel " + "x" * 3000)
    assert str(world.settings.max_message_chars) not in long_reply["text"]
    assert long_reply["text"].startswith(TEXTS["holding_queued"]["en"][:30])
    (too_long,) = await replies(world, new_user(), text="my parcel " + "y" * 4100, unchecked=True)
    assert too_long["text"] == text("too_long", "en", limit=4096)


async def test_captions_are_read_like_text(world: World) -> None:
    """A captioned photo goes to the assistant (down here: the holding reply), not "I can only read text"."""
    (answer,) = await replies(world, new_user(), kind="photo", caption="my parcel XJ202611170007 arrived broken")
    assert answer["text"].startswith(TEXTS["holding_queued"]["en"][:30])


@pytest.mark.parametrize(
    ("send", "key"),
    [
        ({"kind": "photo"}, "photo_without_caption"),
        ({"kind": "voice"}, "unsupported_media"),
        ({"kind": "sticker"}, "unsupported_media"),
        ({"kind": "document", "file_name": "receipt.txt"}, "unsupported_media"),
    ],
)
async def test_other_media_get_a_clear_answer_in_both_languages(world: World, send: dict[str, Any], key: str) -> None:
    """A photo without caption asks what it is about; voice, stickers and files say what works instead."""
    for language_code, language in (("zh-hans", "zh"), ("en", "en")):
        (answer,) = await replies(world, new_user(), language_code=language_code, **send)
        assert answer["text"] == text(key, language)


async def test_a_moved_link_is_told_to_the_account_that_lost_it(world: World) -> None:
    """The same phone shared from a second account links that one and tells the first, in its language."""
    first, second = new_user(), new_user()
    await replies(world, first, text="/language en")
    sent = await world.sandbox.send_contact(first, PHONE)
    (linked,) = await world.sandbox.wait_for_bot_messages(first, after_message_id=sent["message_id"], timeout=20)
    assert linked["text"] == text("link_done", "en", name="王测试")
    before = (await world.sandbox.bot_messages(first))[-1]["message_id"]

    sent = await world.sandbox.send_contact(second, PHONE)
    (relinked,) = await world.sandbox.wait_for_bot_messages(second, after_message_id=sent["message_id"], timeout=20)
    assert relinked["text"].startswith("王测试")
    (told,) = await world.sandbox.wait_for_bot_messages(first, after_message_id=before, timeout=20)
    assert told["text"] == text("link_moved", "en")
    with Session(world.database.engine) as session:
        customer = session.query(Customer).filter_by(code="T000777").one()
        assert customer.telegram_user_id == second

    # Sharing it again from the account that holds it tells nobody anything new.
    sent = await world.sandbox.send_contact(second, PHONE)
    await world.sandbox.wait_for_bot_messages(second, after_message_id=sent["message_id"], timeout=20)
    assert (await world.sandbox.bot_messages(first))[-1]["message_id"] == told["message_id"]


async def test_staff_card_names_an_unlinked_customer_and_dates_the_deadline(world: World) -> None:
    """"Customer: Telegram 7300000001 (tier -)" becomes the display name; "claim by" has a date and the zone."""
    user = new_user()
    await world.sandbox.send_text(user, "/human", first_name="Mei", language_code="en")

    async def announced() -> dict[str, Any]:
        cards = [m for m in await world.sandbox.bot_messages(STAFF_GROUP) if f"Telegram {user}" in m["text"]]
        assert cards, "no staff card yet"
        return cards[-1]

    card = await eventually_async(announced)
    assert text("staff_customer_unlinked", "zh", name="Mei", chat=user) in card["text"]
    assert re.search(r"请在 \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Europe/Berlin\) 前接单", card["text"]), card["text"]


async def eventually_async(check: Callable[[], Awaitable[T]], timeout: float = 15.0) -> T:
    """Retry an async check until it holds (the staff card is posted by a job, a moment after the command)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)
