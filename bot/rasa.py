"""Client for the Rasa server's REST channel and HTTP API."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) failed, timed out or answered nothing."""


# How far ahead of now the language slot event is stamped (see RasaClient.converse).
SLOT_STAMP_LEAD_SECONDS = 5.0


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
    """How Rasa understood the latest message of a conversation."""

    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]]
    fell_back: bool


class RasaClient:
    """Talks to one Rasa server; one instance per bot process, opened in post_init."""

    def __init__(self, base_url: str, *, timeout: float, client: httpx.AsyncClient | None = None) -> None:
        """Create a client; the whole exchange for one message must finish within `timeout` seconds."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._model_version: str | None = None

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def converse(self, sender: str, message: str, *, language: str, metadata: dict[str, Any]) -> list[RasaReply]:
        """Send a customer's message (after setting the reply language) and return Rasa's replies."""
        try:
            async with asyncio.timeout(self.timeout):
                await self._post(
                    f"/conversations/{sender}/tracker/events",
                    {
                        "event": "slot",
                        "name": "language",
                        "value": language,
                        # Rasa stamps an event when it parses the request, then starts the session of a new
                        # conversation; its SQL tracker store later keeps only events stamped at or after the
                        # session start, so the first message's language would be lost. A stamp a little
                        # ahead keeps it in the session (events are ordered by id, not by stamp).
                        "timestamp": time.time() + SLOT_STAMP_LEAD_SECONDS,
                    },
                    params={"include_events": "NONE"},
                )
                body = await self._post(
                    "/webhooks/rest/webhook",
                    {"sender": sender, "message": message, "metadata": {**metadata, "language": language}},
                )
        except TimeoutError as exc:
            raise RasaUnavailable(f"no answer within {self.timeout:.1f}s") from exc
        if not isinstance(body, list) or not body:
            # Rasa answers 200 [] when a custom action failed or timed out.
            raise RasaUnavailable("Rasa returned no messages")
        return [self._reply(item) for item in body if isinstance(item, dict)]

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

    async def latest_parse(self, sender: str) -> ParseResult | None:
        """How the latest message was understood (best effort; None when Rasa can't say)."""
        try:
            body = await self._get(f"/conversations/{sender}/tracker", params={"include_events": "NONE"})
        except RasaUnavailable:
            return None
        latest = (body.get("latest_message") or {}) if isinstance(body, dict) else {}
        intent = latest.get("intent") or {}
        ranking = latest.get("intent_ranking") or []
        name = intent.get("name")
        confidence = intent.get("confidence")
        fell_back = name == "nlu_fallback"
        if fell_back and len(ranking) > 1:
            name, confidence = ranking[1].get("name"), ranking[1].get("confidence")
        # A retrieval intent is logged with the sub-intent the ResponseSelector picked ("faq/shipping_fee"),
        # as `parceldesk nlu parse` reports it: that is the label the learning loop works with.
        selector = (latest.get("response_selector") or {}).get(name or "", {})
        key = (selector.get("response") or {}).get("intent_response_key") if isinstance(selector, dict) else None
        if key:
            name = str(key)
        entities = [
            {"entity": e.get("entity"), "value": e.get("value"), "extractor": e.get("extractor")}
            for e in latest.get("entities") or []
        ]
        return ParseResult(name, confidence, entities, fell_back)

    async def requested_slot(self, sender: str) -> str | None:
        """The slot an active form of the conversation is asking for (None when no form waits for an answer)."""
        try:
            body = await self._get(f"/conversations/{sender}/tracker", params={"include_events": "NONE"})
        except RasaUnavailable:
            return None
        if not isinstance(body, dict) or not (body.get("active_loop") or {}).get("name"):
            return None
        slot = (body.get("slots") or {}).get("requested_slot")
        return str(slot) if slot else None

    async def model_version(self) -> str | None:
        """The loaded model's version: its file name without .tar.gz, as in the model registry."""
        try:
            body = await self._get("/status")
        except RasaUnavailable:
            return None
        model_file = str(body.get("model_file") or "")
        # Registry versions are model file names (parceldesk-<content hash>), so logged messages can be traced
        # to the model that answered them; model_id is Rasa's fingerprint, kept only as a fallback.
        name = model_file.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".tar.gz")
        self._model_version = name or str(body.get("model_id") or "") or None
        return self._model_version

    async def healthy(self) -> bool:
        """True when the Rasa server answers."""
        try:
            await self._get("/")
        except RasaUnavailable:
            return False
        return True

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
    def _reply(item: dict[str, Any]) -> RasaReply:
        """Turn one REST channel message into a RasaReply."""
        buttons = [
            RasaButton(str(button.get("title", "")), str(button.get("payload", "")))
            for button in item.get("buttons") or []
        ]
        return RasaReply(text=item.get("text"), buttons=buttons, image=item.get("image"), custom=item.get("custom"))
