"""End to end in production mode: Telegram pushes updates to the bot's webhook, guarded by a secret token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    running = start_stack(settings, e2e_database, logs_dir / f"webhook-{e2e_database.backend}", with_actions=False)
    yield running
    running.supervisor.stop_all()


async def test_webhook_mode_answers_and_rejects_a_wrong_secret(webhook_stack: Stack, stack: Stack) -> None:
    """Updates arrive by webhook and are answered; a forged call without the secret is refused."""
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
    forged = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                          "text": "hi"}}  # fmt: skip
    async with httpx.AsyncClient() as client:
        response = await client.post(
            settings.webhook_url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
        )
    assert response.status_code == 403
