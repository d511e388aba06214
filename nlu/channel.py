"""The bot's Rasa input channel: one request per customer message carries everything the bot needs.

Runs inside the Rasa server (engine environment, Python 3.10), registered in credentials.yml as
`nlu.channel.ParcelDeskInput` and served at POST /webhooks/parceldesk/webhook.

Request:  {"sender": "tg-<chat id>", "message": "...", "metadata": {"language": "zh"|"en", "brand": "...", ...}}
Answer:   {"messages": [...as the REST channel...],
           "understanding": {"intent", "confidence", "entities", "fell_back", "model_version"},
           "paused": bool, "requested_slot": str | null}

Why not the stock REST channel: with it the bot needed four HTTP calls per message (set the language slot,
send the text, fetch the tracker for the intent, poll /status for the model version) and a database poll to
learn whether an action had queued the chat. Here the language slot is set in the same locked turn, and the
answer reports how the message was understood and whether an action paused the conversation.

Authentication: the webhook answers 401 unless `?token=` carries PARCELDESK_RASA_TOKEN, the token of Rasa's own
HTTP API (`--auth-token`, see engine/serve.py). Rasa leaves channel routes open, and this one takes a `sender`: an
open channel would let any local process write as any customer. Without the variable every message is refused.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_ENV = "PARCELDESK_RASA_TOKEN"
LANGUAGE_SLOT = "language"
LANGUAGES = ("zh", "en")
# The company's name in the message's language, from the bot's settings: the responses' {brand}.
BRAND_SLOT = "brand"


def understanding(tracker: DialogueStateTracker, model_file: str | None) -> dict[str, Any]:
    """How the latest customer message was understood, as the chat log records it."""
    latest = tracker.latest_message
    parse: dict[str, Any] = latest.parse_data if isinstance(latest, UserUttered) else {}
    intent = parse.get("intent") or {}
    ranking = parse.get("intent_ranking") or []
    name, confidence = intent.get("name"), intent.get("confidence")
    fell_back = name == "nlu_fallback"
    if fell_back and len(ranking) > 1:
        # The model's own best guess is what the learning loop reviews, not the fallback's name.
        name, confidence = ranking[1].get("name"), ranking[1].get("confidence")
    # A retrieval intent is logged with the sub-intent the ResponseSelector picked ("faq/shipping_fee").
    selector = (parse.get("response_selector") or {}).get(name or "", {})
    key = (selector.get("response") or {}).get("intent_response_key") if isinstance(selector, dict) else None
    entities = [
        {"entity": e.get("entity"), "value": e.get("value"), "extractor": e.get("extractor")}
        for e in (latest.entities if isinstance(latest, UserUttered) else [])
    ]
    # Registry versions are model file names without .tar.gz (parceldesk-<content hash>).
    version = (model_file or "").replace("\\", "/").rsplit("/", 1)[-1]
    version = version[: -len(".tar.gz")] if version.endswith(".tar.gz") else version
    return {
        "intent": str(key) if key else name,
        "confidence": confidence,
        "entities": entities,
        "fell_back": fell_back,
        "model_version": version or None,
    }


class ParcelDeskInput(InputChannel):
    """REST-like channel for the ParcelDesk bot: language in, replies and understanding out, one call."""

    @classmethod
    def name(cls) -> str:
        """The channel's name and URL prefix (/webhooks/parceldesk/)."""
        return "parceldesk"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health and webhook routes."""
        webhook = Blueprint("parceldesk_webhook", __name__)
        # Read when Rasa mounts the channel (server start), not at import.
        expected = os.environ.get(TOKEN_ENV, "")
        if not expected:
            logger.error("parceldesk channel: %s is not set; every message will be refused", TOKEN_ENV)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            """The channel is mounted."""
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            """Handle one customer message and report what happened."""
            given = request.args.get("token") or ""
            if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
                return response.json({"error": "not authenticated"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message are required strings"}, status=400)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
            try:
                tracker = await handle(agent, message, metadata.get("language"), metadata.get("brand"))
            except Exception:  # noqa: BLE001 - like the REST channel: log, answer with what was collected
                logger.exception("parceldesk channel: handling a message failed")
                return response.json({"messages": collector.messages, "understanding": None, "paused": False,
                                      "requested_slot": None})
            requested = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
            return response.json(
                {
                    "messages": collector.messages,
                    "understanding": understanding(tracker, agent.processor.model_filename),
                    "paused": tracker.is_paused(),
                    "requested_slot": requested,
                }
            )

        return webhook


async def handle(
    agent: Any, message: UserMessage, language: str | None, brand: str | None = None
) -> DialogueStateTracker:
    """One turn under the conversation's lock: set the reply language and brand, then what Agent.handle_message does.

    These are the steps of rasa 3.6's MessageProcessor.handle_message (the engine environment is pinned),
    with the language and brand slots set after the session starts, so Rasa's SQL tracker store keeps them.
    """
    processor = agent.processor
    async with agent.lock_store.lock(message.sender_id):
        tracker = await processor.fetch_tracker_and_update_session(
            message.sender_id, message.output_channel, message.metadata
        )
        if language in LANGUAGES and tracker.get_slot(LANGUAGE_SLOT) != language:
            tracker.update(SlotSet(LANGUAGE_SLOT, language))
        if isinstance(brand, str) and brand and tracker.get_slot(BRAND_SLOT) != brand:
            tracker.update(SlotSet(BRAND_SLOT, brand))
        await processor._handle_message_with_tracker(message, tracker)
        tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
        await processor._run_prediction_loop(message.output_channel, tracker)
        await processor.run_anonymization_pipeline(tracker)
        await processor.save_tracker(tracker)
    return tracker

