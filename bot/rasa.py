"""Client for the Rasa server: the bot's own channel (one call per message) and the HTTP API (hand-back)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from nlu.photos import PHOTO_UNASKED

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) failed, timed out or answered nothing."""


# The bot's own input channel (nlu/channel.py): one call per customer message.
CHANNEL_WEBHOOK = "/webhooks/parceldesk/webhook"


@dataclass(frozen=True)
class RasaButton:
    """A quick-reply button Rasa asked for."""

    title: str
    payload: str


@dataclass(frozen=True)
class RasaReply:
    """One message Rasa wants sent."""

    text: str | None
    buttons: list[RasaButton] = field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None


@dataclass(frozen=True)
class ParseResult:
    """How Rasa understood the latest message of a conversation, and by which model."""

    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]]
    fell_back: bool
    model_version: str | None = None


@dataclass(frozen=True)
class Turn:
    """Everything one customer message brought back from Rasa in its single call."""

    replies: list[RasaReply]
    understanding: ParseResult | None
    # An action (a request for a person, a serious complaint) put the conversation in the human queue.
    paused: bool = False
    requested_slot: str | None = None
    # A photo without a caption that no form asked for: Rasa handled nothing, the bot says what to do with it.
    photo_unasked: bool = False
    # A queued customer's message the bot could answer without a person (FAQ, tracking by number).
    answered: bool = False


class RasaClient:
    """Talks to one Rasa server; one instance per bot process, opened in post_init."""

    def __init__(
        self, base_url: str, *, timeout: float, token: str | None = None, client: httpx.AsyncClient | None = None
    ) -> None:
        """Create a client; the whole exchange for one message must finish within `timeout` seconds.

        `token` is Rasa's API token (`rasa run --auth-token`); Rasa and our channel take it as `?token=`, so it
        goes on every request as a query parameter (httpx's logger, which would print URLs, is kept quiet).
        """
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        params = {"token": token} if token else None
        self._client = client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout, params=params)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def converse(
        self, sender: str, message: str, *, language: str, metadata: dict[str, Any], queued: bool = False,
        photo: str | None = None,
    ) -> Turn:
        """Send a customer's message with its reply language; one HTTP call brings back the whole turn.

        `queued`: the customer waits for a person; the channel answers only what needs nobody (FAQ, tracking by
        number) and otherwise just says how it understood the message (no replies then, which is no failure).
        `photo`: the Telegram file id of a photo the message came with (its caption is `message`, maybe empty):
        the channel gives it to the damage form when the form asks for it, also right after the caption started
        the form, all in this one call.
        """
        extra: dict[str, Any] = {"queued": True} if queued else {}
        if photo is not None:
            extra["photo"] = photo
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._post(
                    CHANNEL_WEBHOOK,
                    {"sender": sender, "message": message, "metadata": {**metadata, **extra, "language": language}},
                )
        except TimeoutError as exc:
            raise RasaUnavailable(f"no answer within {self.timeout:.1f}s") from exc
        messages = body.get("messages") if isinstance(body, dict) else None
        photo_unasked = photo is not None and isinstance(body, dict) and body.get("photo") == PHOTO_UNASKED
        if not isinstance(messages, list) or (not messages and not queued and not photo_unasked):
            # No messages means a custom action failed or timed out (Rasa logs why).
            raise RasaUnavailable("Rasa returned no messages")
        return Turn(
            replies=[self._reply(item) for item in messages if isinstance(item, dict)],
            understanding=self._understanding(body.get("understanding")),
            paused=bool(body.get("paused")),
            requested_slot=body.get("requested_slot") or None,
            answered=queued and bool(body.get("answered")) and bool(messages),
            photo_unasked=photo_unasked,
        )

    async def resume(self, sender: str) -> None:
        """Give a paused conversation back to the bot (after a human handoff); raises RasaUnavailable on failure.

        Posting only {"event": "resume"} was measured not to be enough: Rasa also needs an action_listen
        event after it, or the next message of the conversation is still ignored.
        """
        try:
            async with asyncio.timeout(self.timeout):
                await self._post_events(
                    f"/conversations/{sender}/tracker/events",
                    [{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                )
        except TimeoutError as exc:
            raise RasaUnavailable(f"no answer within {self.timeout:.1f}s") from exc

    async def available(self) -> bool:
        """True when Rasa answers its status with a model loaded (asked by the queue job, never per message)."""
        try:
            body = await self._get("/status")
        except RasaUnavailable:
            return False
        return isinstance(body, dict) and bool(body.get("model_file"))

    async def _post(self, path: str, payload: dict[str, Any], params: dict[str, str] | None = None) -> Any:
        """POST JSON and decode the answer, mapping every failure to RasaUnavailable."""
        try:
            response = await self._client.post(path, json=payload, params=params)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc

    async def _post_events(self, path: str, events: list[dict[str, Any]]) -> Any:
        """POST a list of tracker events, mapping every failure to RasaUnavailable."""
        try:
            response = await self._client.post(path, json=events, params={"include_events": "NONE"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET and decode the answer, mapping every failure to RasaUnavailable."""
        try:
            response = await self._client.get(path, params=params)
            response.raise_for_status()
            return response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _understanding(data: Any) -> ParseResult | None:
        """The channel's report of how the message was understood (None when it could not say)."""
        if not isinstance(data, dict):
            return None
        entities = [e for e in data.get("entities") or [] if isinstance(e, dict)]
        return ParseResult(
            data.get("intent"), data.get("confidence"), entities, bool(data.get("fell_back")), data.get("model_version")
        )

    @staticmethod
    def _reply(item: dict[str, Any]) -> RasaReply:
        """Turn one REST channel message into a RasaReply."""
        buttons = [
            RasaButton(str(button.get("title", "")), str(button.get("payload", "")))
            for button in item.get("buttons") or []
        ]
        return RasaReply(text=item.get("text"), buttons=buttons, image=item.get("image"), custom=item.get("custom"))
