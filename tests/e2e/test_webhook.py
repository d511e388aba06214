"""End to end in production mode: Telegram pushes updates to the bot's webhook, guarded by a secret token."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, select

from core.db import make_sessionmaker, transaction
from core.settings import PROJECT_ROOT
from crm.models import ChatMessage, Staff, StaffRole
from crm.staff import register_staff, staff_member
from sandbox.client import SandboxClient
from tests.databases import TestDatabase
from tests.e2e.harness import Stack, eventually, free_port, new_user_id, stack_settings, start_stack

SECRET = "webhook-secret-for-tests"


@pytest.fixture()
def webhook_stack(e2e_database: TestDatabase, rasa_url: str, action_port: int, logs_dir: Path) -> Iterator[Stack]:
    """A bot in webhook mode (the sandbox posts updates to it) with the shared Rasa and a running action server."""
    port = free_port()
    settings = stack_settings(
        e2e_database,
        rasa_url=rasa_url,
        action_port=action_port,
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        webhook_secret=SECRET,
        sandbox=True,  # explicitly: a webhook URL without a bot token is an error, never a sandbox by default
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    running = start_stack(settings, e2e_database, logs_dir / f"webhook-{e2e_database.backend}", with_actions=False)
    yield running
    running.supervisor.stop_all()


async def test_webhook_mode_answers_and_rejects_a_wrong_secret(webhook_stack: Stack, stack: Stack) -> None:
    """Updates arrive by webhook and are answered; forged calls without or with a wrong secret get 403 and change
    nothing: not logged, not answered, and an admin's `/staff add` inside them makes nobody staff."""
    settings = webhook_stack.settings
    info_url = f"{settings.bot_api_base_url}{settings.bot_token}/getWebhookInfo"

    def webhook_registered() -> None:
        info = httpx.get(info_url).json()["result"]
        assert info["url"] == settings.webhook_url

    eventually(webhook_registered, timeout=15)
    async with SandboxClient(webhook_stack.sandbox_url) as sandbox:
        user = new_user_id()
        await sandbox.send_text(user, "where is my parcel XJ202611180042")
        (reply,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=30)
        assert "XJ202611180042" in reply["text"]
    # The attack: an update claiming to come from an admin, making the attacker an admin.
    admin, attacker = new_user_id(), new_user_id()
    with transaction(make_sessionmaker(webhook_stack.database.engine)) as session:
        register_staff(session, admin, "Root", StaffRole.ADMIN)
    text = f"/staff add {attacker} admin Mallory"
    forged = {"update_id": 987_654_321, "message": {
        "message_id": 1, "date": 0, "chat": {"id": admin, "type": "private"},
        "from": {"id": admin, "is_bot": False, "first_name": "Root"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}  # fmt: skip
    async with httpx.AsyncClient() as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "x"}, {"X-Telegram-Bot-Api-Secret-Token": ""}):
            response = await client.post(settings.webhook_url, json=forged, headers=headers)
            assert response.status_code == 403, headers
    await asyncio.sleep(1.0)  # time enough for a wrongly accepted update to be logged
    with transaction(make_sessionmaker(webhook_stack.database.engine)) as session:
        assert session.scalars(select(ChatMessage).where(ChatMessage.chat_id == admin)).all() == []
        assert staff_member(session, attacker) is None
        session.execute(delete(Staff).where(Staff.telegram_user_id == admin))  # leave the shared database as found


def test_webhook_mode_refuses_to_start_without_a_secret(e2e_database: TestDatabase, logs_dir: Path) -> None:
    """No PARCELDESK_WEBHOOK_SECRET: settings validation stops the bot with the reason, before it listens."""
    port = free_port()
    env = {**os.environ, "PARCELDESK_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
           "PARCELDESK_WEBHOOK_PORT": str(port), "PARCELDESK_DATABASE_URL": e2e_database.url}  # fmt: skip
    env.pop("PARCELDESK_WEBHOOK_SECRET", None)
    result = subprocess.run([sys.executable, "-m", "bot"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "needs PARCELDESK_WEBHOOK_SECRET" in result.stderr
