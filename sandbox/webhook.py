"""Webhook delivery: POST each update to the bot's webhook URL, in order, retrying with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from sandbox.world import World

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookSender:
    """Background task that delivers queued updates while a webhook URL is set.

    Updates go one at a time, oldest first (redeliveries before new ones). A delivery counts when
    the bot answers 2xx; on any other status or a connection error it is retried after each delay
    in ``world.webhook_retry_delays`` and then given up (dropped, with the error kept for
    getWebhookInfo's last_error_message), so one broken update cannot block the queue for ever.
    """

    def __init__(self, world: World) -> None:
        """Prepare (but do not start) a sender for this world."""
        self.world = world
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the delivery loop in the running event loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sandbox-webhook-sender")

    async def stop(self) -> None:
        """Cancel the delivery loop and wait for it to end."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        """Deliver updates for as long as the app runs."""
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as client:
            while True:
                update, config = await self.world.next_webhook_update()
                headers = {"Content-Type": "application/json"}
                if config.secret_token:
                    headers[SECRET_HEADER] = config.secret_token
                error: str | None = None
                for delay in (*self.world.webhook_retry_delays, None):
                    if self.world.webhook is not config:
                        break
                    error = await self._post(client, config.url, update.payload, headers)
                    if error is None or delay is None:
                        break
                    await self.world.note_webhook_error(error)
                    await asyncio.sleep(delay)
                if self.world.webhook is not config:
                    continue
                if error:
                    logger.warning("webhook delivery of update %d given up: %s", update.update_id, error)
                await self.world.finish_webhook_update(update, error)

    @staticmethod
    async def _post(
        client: httpx.AsyncClient, url: str, payload: dict[str, object], headers: dict[str, str]
    ) -> str | None:
        """POST one update; None on success, else a Telegram-style error message."""
        try:
            response = await client.post(url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            return f"Connection error: {type(exc).__name__}"
        if 200 <= response.status_code < 300:
            return None
        return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
