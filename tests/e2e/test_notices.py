"""End to end: "Notify me" under a real tracking reply, a delay posted to the real ingestion API, the notices.

The whole path: the customer tracks a number (sandbox → bot → Rasa → action server adds the button), presses
"Notify me" (handled by the bot), the parcel's owner links their phone, a courier system POSTs a delay, and each of
them gets exactly one notice in their own language. Quiet hours and opting out are in tests/bot/test_notices.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.texts import text
from core.clock import utcnow
from crm.labels import NOTIFY_ME_LABELS
from parceldesk.processes import Supervisor, ingest_service
from sandbox.client import SandboxClient
from tests.bot.test_notices import callback_data, event, seed_parcel_in
from tests.e2e.harness import Stack, free_port, new_user_id
from tests.e2e.test_conversations import link, say

TOKEN = "e2e-ingest-token-0123456789"


@pytest.fixture(scope="module")
def ingest_url(stack: Stack, logs_dir: Path) -> Iterator[str]:
    """The ingestion API process against the stack's database; yields its URL."""
    settings = stack.settings.model_copy(update={"ingest_token": SecretStr(TOKEN), "ingest_port": free_port()})
    supervisor = Supervisor()
    supervisor.start(ingest_service(settings, logs_dir / stack.database.backend))
    yield f"http://127.0.0.1:{settings.ingest_port}"
    supervisor.stop_all()


async def test_a_delay_reaches_the_owner_and_a_notify_me_subscriber_once_each(
    stack: Stack, sandbox: SandboxClient, ingest_url: str
) -> None:
    """Follower (English) presses "Notify me"; owner (Chinese) links; one delay → one notice each, resent → none."""
    number, phone = seed_parcel_in(stack.database.engine, None)
    follower, owner = new_user_id(), new_user_id()

    [reply] = await say(sandbox, follower, f"where is my parcel {number}")
    assert (NOTIFY_ME_LABELS["en"], f"notify:{number}") in [
        (b["text"], b["callback_data"]) for row in (reply.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ], reply
    await sandbox.press_button(follower, follower, reply["message_id"], f"notify:{number}")
    [_, subscribed] = await sandbox.wait_for_bot_messages(follower, count=2, after_message_id=reply["message_id"] - 1)
    assert subscribed["text"] == text("notify_subscribed", "en", tracking_number=number)

    await say(sandbox, owner, "你好")
    linked = await link(sandbox, owner, phone)
    after_owner, after_follower = linked["message_id"], subscribed["message_id"]

    delay = event(number, "E2E-1", utcnow() - timedelta(minutes=2))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=ingest_url, headers=headers, timeout=10) as api:
        posted = await api.post("/v1/events", json={"items": [delay]})
        assert posted.status_code == 200 and posted.json()["notices"] == 2, posted.text
        [to_owner] = await sandbox.wait_for_bot_messages(owner, count=1, after_message_id=after_owner, timeout=20)
        [to_follower] = await sandbox.wait_for_bot_messages(follower, count=1, after_message_id=after_follower,
                                                            timeout=20)
        assert to_owner["text"].startswith(f"⏰ 延误提醒：包裹 {number}")
        assert to_follower["text"].startswith(f"⏰ Delay: we're sorry, parcel {number} is delayed.")
        assert f"unnotify:{number}" in callback_data(to_owner) and "/request_human" in callback_data(to_follower)
        again = await api.post("/v1/events", json={"items": [delay]})
        assert again.json() == {"inserted": 0, "updated": 0, "unchanged": 1, "notices": 0}
    await asyncio.sleep(3)
    assert len(await sandbox.bot_messages(owner, after_message_id=after_owner)) == 1
    assert len(await sandbox.bot_messages(follower, after_message_id=after_follower)) == 1
