"""The bot's Rasa input channel: one request per customer message carries everything the bot needs.

Runs inside the Rasa server (engine environment, Python 3.10), registered in credentials.yml as
`nlu.channel.ParcelDeskInput` and served at POST /webhooks/parceldesk/webhook.

Request:  {"sender": "tg-<chat id>", "message": "...", "metadata": {"language": "zh"|"en", "brand": "...", ...}}
Answer:   {"messages": [...as the REST channel...],
           "understanding": {"intent", "confidence", "entities", "fell_back", "model_version"},
           "paused": bool, "requested_slot": str | null}
With "queued": true in the metadata (the customer waits for a person) only FAQ and tracking by number are answered
(the pause lifted for that turn); anything else is parsed, not answered: "answered": false, no messages.
With "photo": "<Telegram file id>" (the message is the photo's caption, maybe empty) the photo answers the damage
form when it asks for one — also right after the caption started the complaint, in the same request; a photo
nothing asked for and without a caption is not a turn at all: "photo": "unasked", no messages.

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
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from core.repair import Repair, declines, repair_of
from nlu.photos import PHOTO_SLOT, PHOTO_UNASKED, photo_payload

logger = logging.getLogger(__name__)

TOKEN_ENV = "PARCELDESK_RASA_TOKEN"
LANGUAGE_SLOT = "language"
LANGUAGES = ("zh", "en")
# Form questions where "no" is an answer: there "不用了" / "no thanks" declines the question (model: deny).
NO_IS_AN_ANSWER = frozenset({"complaint_photo", "feedback_comment"})
# Out of a form the model keeps these readings of a cancel word ("不用了" after "anything else?" is a polite no).
POLITE_CLOSERS = frozenset({"deny", "affirm", "thank", "goodbye", "request_human"})
# The intent of each repair ("back" is Rasa's default intent that undoes the last message: go_back here).
REPAIR_INTENTS = {Repair.CANCEL: "cancel", Repair.CORRECT: "correct", Repair.BACK: "go_back"}
# The company's name in the message's language, from the bot's settings: the responses' {brand}.
BRAND_SLOT = "brand"


def understanding(tracker: DialogueStateTracker, model_file: str | None) -> dict[str, Any]:
    """How the latest customer message was understood, as the chat log records it."""
    latest = tracker.latest_message
    parse: dict[str, Any] = latest.parse_data if isinstance(latest, UserUttered) else {}
    return understanding_of(parse, latest.entities if isinstance(latest, UserUttered) else [], model_file)


def understanding_of(parse: dict[str, Any], found: list[dict[str, Any]], model_file: str | None) -> dict[str, Any]:
    """How a parsed message was understood (parse data and entities), as the chat log records it."""
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
    entities = [{"entity": e.get("entity"), "value": e.get("value"), "extractor": e.get("extractor")} for e in found]
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


def answerable_while_queued(parse: dict[str, Any]) -> bool:
    """Questions the bot answers without a person while the customer waits for one: FAQ, tracking by number.

    Anything else a queued customer writes is for the agent: it is parsed (for the log) but not answered.
    """
    intent = (parse.get("intent") or {}).get("name")
    if intent == "faq":
        return True
    # Tracking without a number would start asking for one, a dialogue that belongs after the handoff.
    return intent == "track_shipment" and any(e.get("entity") == "tracking_number" for e in parse.get("entities") or [])


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
            if metadata.get("queued"):
                # The customer waits for a person (the bot decided so from its database): answer only what needs
                # nobody, on the paused conversation, and say how everything was understood.
                try:
                    answered, parse = await handle_queued(
                        agent, message, metadata.get("language"), metadata.get("brand")
                    )
                except Exception:  # noqa: BLE001 - the bot acknowledges the message anyway
                    logger.exception("parceldesk channel: handling a queued message failed")
                    return response.json({"messages": collector.messages, "understanding": None, "answered": False,
                                          "paused": True, "requested_slot": None})
                return response.json(
                    {
                        "messages": collector.messages if answered else [],
                        "understanding": understanding_of(parse, parse.get("entities") or [],
                                                          agent.processor.model_filename),
                        "answered": answered,
                        "paused": True,
                        "requested_slot": None,
                    }
                )
            photo = metadata.get("photo") if isinstance(metadata.get("photo"), str) else None
            language, brand = metadata.get("language"), metadata.get("brand")
            try:
                if photo and await asks_for_photo(agent, sender):
                    # The form waits for the photo: it is the answer, whatever the caption says.
                    message.text = photo_payload(photo)
                elif photo and not text.strip():
                    return response.json({"messages": [], "understanding": None, "paused": False,
                                          "requested_slot": None, "photo": PHOTO_UNASKED})
                tracker = await handle(agent, message, language, brand)
                first = understanding(tracker, agent.processor.model_filename)
                messages = collector.messages
                if photo and not message.text.startswith("/") and not tracker.is_paused() and (
                    requested_slot(tracker) == PHOTO_SLOT
                ):
                    # The caption started a damage complaint and the form now asks for a photo: the photo it came
                    # with answers at once; the form's question (always the turn's last message) is dropped.
                    follow = CollectingOutputChannel()
                    tracker = await handle(
                        agent,
                        UserMessage(photo_payload(photo), follow, sender, input_channel=self.name(), metadata=metadata),
                        language,
                        brand,
                    )
                    messages = messages[:-1] + follow.messages
            except Exception:  # noqa: BLE001 - like the REST channel: log, answer with what was collected
                logger.exception("parceldesk channel: handling a message failed")
                return response.json({"messages": collector.messages, "understanding": None, "paused": False,
                                      "requested_slot": None})
            return response.json(
                {
                    "messages": messages,
                    # The caption's reading is the one the chat log keeps: how the customer's own words were read.
                    "understanding": first,
                    "paused": tracker.is_paused(),
                    "requested_slot": requested_slot(tracker),
                }
            )

        return webhook


def requested_slot(tracker: DialogueStateTracker) -> str | None:
    """The slot an active form asks for (None when no form waits for an answer)."""
    slot = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
    return str(slot) if slot else None


async def asks_for_photo(agent: Any, sender: str) -> bool:
    """Whether the conversation's form is waiting for the damage photo (read from the tracker store, no turn)."""
    tracker = await agent.tracker_store.retrieve(sender)
    return tracker is not None and requested_slot(tracker) == PHOTO_SLOT


def repaired(parse: dict[str, Any], tracker: DialogueStateTracker) -> dict[str, Any]:
    """The parse result with cancel / correct / back set deterministically where they matter.

    Inside a form a message made only of repair words (core.repair) is the intent `cancel`, `correct` or `go_back` at
    confidence 1.0, whatever the model guessed ("取消" was a billing complaint at 0.51 and then the description).
    Out of a form only a cancel word the model read as a request becomes `cancel` (nothing to cancel: the bot
    says what it can do); polite closers keep the model's reading. The model's guess stays in `repair_of`.
    """
    text = str(parse.get("text") or "")
    if text.startswith("/"):
        return parse
    repair = repair_of(text)
    if repair is None:
        return parse
    guess = parse.get("intent") or {}
    if tracker.active_loop_name:
        if repair is Repair.CANCEL and tracker.get_slot("requested_slot") in NO_IS_AN_ANSWER and declines(text):
            return parse
    elif repair is not Repair.CANCEL or guess.get("name") in POLITE_CLOSERS:
        return parse
    intent = {"name": REPAIR_INTENTS[repair], "confidence": 1.0}
    ranking = [intent] + [r for r in parse.get("intent_ranking") or [] if r.get("name") != intent["name"]]
    return {**parse, "intent": intent, "intent_ranking": ranking, "repair_of": guess}


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
        message.parse_data = repaired(await processor.parse_message(message, tracker), tracker)
        await processor._handle_message_with_tracker(message, tracker)
        tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
        await processor._run_prediction_loop(message.output_channel, tracker)
        await processor.run_anonymization_pipeline(tracker)
        await processor.save_tracker(tracker)
    return tracker


async def handle_queued(
    agent: Any, message: UserMessage, language: str | None, brand: str | None = None
) -> tuple[bool, dict[str, Any]]:
    """A message of a customer waiting for a person: answered (True) only when the bot can do it without one.

    Parsing alone leaves the conversation untouched. An answerable question is handled as a normal turn with the
    pause lifted for that turn only (Rasa predicts nothing on a paused conversation), then the pause is put back, so
    the handoff still owns the conversation; a conversation that was not paused (a bot failure) stays as it was.
    """
    processor = agent.processor
    async with agent.lock_store.lock(message.sender_id):
        tracker = await processor.fetch_tracker_and_update_session(
            message.sender_id, message.output_channel, message.metadata
        )
        parse = await processor.parse_message(message, tracker=tracker)
        if not answerable_while_queued(parse):
            return False, parse
        paused = tracker.is_paused()
        if language in LANGUAGES and tracker.get_slot(LANGUAGE_SLOT) != language:
            tracker.update(SlotSet(LANGUAGE_SLOT, language))
        if isinstance(brand, str) and brand and tracker.get_slot(BRAND_SLOT) != brand:
            tracker.update(SlotSet(BRAND_SLOT, brand))
        if paused:
            tracker.update(ConversationResumed())
        if tracker.latest_action_name != ACTION_LISTEN_NAME:
            # The pausing action was the last one (no listen after it): without this Rasa predicts only a listen.
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        message.parse_data = parse  # parsed once: the turn logs what was just decided on
        await processor._handle_message_with_tracker(message, tracker)
        tracker = await processor.run_action_extract_slots(message.output_channel, tracker)
        await processor._run_prediction_loop(message.output_channel, tracker)
        if paused:
            tracker.update(ConversationPaused())
        await processor.run_anonymization_pipeline(tracker)
        await processor.save_tracker(tracker)
    return True, parse
