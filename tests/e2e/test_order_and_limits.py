"""End to end: many chats at once keep each chat's order, and Telegram's 429 answers are waited out, not lost."""

from __future__ import annotations

import asyncio
import time

from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, new_user_id

NUMBERS = ("XJ202611180042", "XJ202611170007", "XJ202611150013", "XJ202611160021", "XJ202611200005")


async def test_twenty_chats_each_get_their_replies_in_order(sandbox: SandboxClient, stack: Stack) -> None:
    """20 customers each send 5 tracking questions without waiting: every chat's answers come in its order."""
    users = [new_user_id() for _ in range(20)]

    async def write(user: int) -> None:
        for number in NUMBERS:
            await sandbox.send_text(user, f"where is {number}")

    await asyncio.gather(*(write(user) for user in users))
    for user in users:
        replies = await sandbox.wait_for_bot_messages(user, count=len(NUMBERS), timeout=90)
        mentioned = [next(n for n in NUMBERS if n in (r.get("text") or "")) for r in replies[: len(NUMBERS)]]
        assert mentioned == list(NUMBERS), (user, [r.get("text", "")[:60] for r in replies])


async def test_a_429_is_waited_out_and_the_reply_arrives_once(sandbox: SandboxClient, stack: Stack) -> None:
    """Telegram answers the reply with 429 retry_after=2: the bot waits, retries, and the customer gets it once."""
    user = new_user_id()
    await sandbox.inject_fault("sendMessage", status=429, retry_after=2, count=1)
    started = time.monotonic()
    await sandbox.send_text(user, "where is my parcel XJ202611180042")
    (reply,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=30)
    waited = time.monotonic() - started
    assert "XJ202611180042" in reply["text"]
    assert waited >= 2.0
    faults = await sandbox.faults()
    assert [f["served"] for f in faults if f["method"] == "sendmessage"] == [1]
    await asyncio.sleep(1.0)  # nothing else turns up later: delivered exactly once
    assert len(await sandbox.bot_messages(user)) == 1
