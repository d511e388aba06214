"""Webhook mode: delivery with the secret-token header, retries, and PTB's own webhook server."""

from __future__ import annotations

import asyncio

import pytest
from sandbox_harness import Sandbox, free_port, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update
from telegram.error import Conflict
from telegram.ext import ContextTypes, MessageHandler, filters

from sandbox.webhook import SECRET_HEADER


def recording_receiver(
    failures_first: int,
) -> tuple[Starlette, list[tuple[dict[str, str], dict[str, object]]]]:
    """A webhook endpoint that answers 500 to its first N deliveries, then 200; it records every request."""
    received: list[tuple[dict[str, str], dict[str, object]]] = []

    async def hook(request: Request) -> Response:
        """Record the delivery, failing the first ones."""
        received.append((dict(request.headers), await request.json()))
        if len(received) <= failures_first:
            return JSONResponse({"error": "not ready"}, status_code=500)
        return JSONResponse({})

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), received


async def test_webhook_delivery_header_retry_and_conflict(sandbox: Sandbox, bot: Bot) -> None:
    """Updates are POSTed with the secret header, retried after a 500, and getUpdates is refused meanwhile."""
    receiver, received = recording_receiver(failures_first=1)
    async with serving(receiver) as hook_base:
        assert await bot.set_webhook(f"{hook_base}/hook", secret_token="s3cr3t-Token_1")
        with pytest.raises(Conflict, match=r"webhook is active"):
            await bot.get_updates()
        sent = await sandbox.client.send_text(701, "hello webhook")
        async with asyncio.timeout(5):
            while len(received) < 2:
                await asyncio.sleep(0.02)
        info = await bot.get_webhook_info()
        await sandbox.client.redeliver(sent["update_id"])
        async with asyncio.timeout(5):
            while len(received) < 3:
                await asyncio.sleep(0.02)
    first_headers, first_body = received[0]
    second_headers, second_body = received[1]
    assert first_headers[SECRET_HEADER.lower()] == "s3cr3t-Token_1"
    assert second_headers[SECRET_HEADER.lower()] == "s3cr3t-Token_1"
    assert first_body == second_body == received[2][1]
    assert first_body["update_id"] == sent["update_id"]
    assert first_body["message"]["text"] == "hello webhook"
    assert info.url.endswith("/hook") and info.pending_update_count == 0
    assert info.last_error_message is not None and "500" in info.last_error_message
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_undeliverable_update_is_given_up(sandbox: Sandbox, bot: Bot) -> None:
    """A webhook that never answers 2xx loses the update after the retries; getWebhookInfo says why."""
    port = free_port()  # nothing listens here
    assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    await sandbox.client.send_text(702, "lost")
    async with asyncio.timeout(5):
        while (await bot.get_webhook_info()).pending_update_count:
            await asyncio.sleep(0.05)
    info = await bot.get_webhook_info()
    assert info.last_error_message is not None and "Connection error" in info.last_error_message
    assert await bot.delete_webhook(drop_pending_updates=True)


async def test_ptb_start_webhook_with_secret_token(sandbox: Sandbox) -> None:
    """PTB's own webhook server (tornado) gets the update; it rejects requests without the right secret."""
    pytest.importorskip("tornado", reason="PTB webhooks need python-telegram-bot[webhooks]")
    seen: list[str] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Echo the text back."""
        seen.append(update.effective_message.text)
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    application = sandbox.application()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    port = free_port()
    await application.initialize()
    await application.start()
    assert application.updater is not None
    try:
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="tg-hook",
            webhook_url=f"http://127.0.0.1:{port}/tg-hook",
            secret_token="parceldesk-secret",
        )
        assert sandbox.world.webhook.secret_token == "parceldesk-secret"
        sent = await sandbox.client.send_text(703, "via webhook")
        [reply] = await sandbox.client.wait_for_bot_messages(
            703, after_message_id=sent["message_id"], timeout=5
        )
        assert reply["text"] == "echo: via webhook"
        assert seen == ["via webhook"]

        # With a wrong secret PTB answers 403: the sandbox retries, then gives the update up.
        sandbox.world.webhook.secret_token = "wrong-secret"
        await sandbox.client.send_text(703, "forged")
        async with asyncio.timeout(5):
            while sandbox.world.webhook.last_error_message is None or sandbox.world.pending:
                await asyncio.sleep(0.05)
        assert "403" in (sandbox.world.webhook.last_error_message or "")
        assert seen == ["via webhook"]
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
