"""Trackers built the way Rasa sends them to the action server, and what the actions answer.

Rasa posts the tracker state (``DialogueStateTracker.current_state``) to the action server; rasa_sdk turns it
into a ``Tracker`` with ``Tracker.from_dict``. The states built here follow what Rasa 3.6 sends:

* every user turn is a ``user`` event whose ``parse_data`` is the NLU result (text, intent, intent_ranking,
  entities with start/end, and the bot's metadata: chat_id and telegram_user_id), followed by the ``SlotSet``
  events of ``action_extract_slots`` (the domain's from_entity / from_intent mappings);
* a form's validation action gets Rasa's temporary tracker: the conversation, ``SlotSet(requested_slot)``,
  ``ActionExecuted(<form>)`` and the slot candidates of this turn (the extracted slots the form requires),
  with ``active_loop`` empty while the form is being activated.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms_common import FORM_SLOTS
from core.settings import PROJECT_ROOT

# The domain as the action server receives it (Rasa sends Domain.as_dict(): slots, forms, responses, ...).
DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
INITIAL_SLOTS: dict[str, Any] = {
    name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()
} | {"requested_slot": None}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$")

# Telegram ids handed out to the people of the tests: unique in the whole test run.
_ids = itertools.count(880_000_001)
_message_ids = itertools.count(1)

Entities = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Person:
    """A Telegram user writing to the bot in their private chat (where Telegram makes chat id == user id)."""

    user_id: int
    chat_id: int

    @classmethod
    def new(cls) -> Person:
        """Someone who never wrote before (fresh ids, so nothing in the database is theirs yet)."""
        user_id = next(_ids)
        return cls(user_id, user_id)

    @property
    def sender_id(self) -> str:
        """The Rasa conversation id the bot uses."""
        return f"tg-{self.chat_id}"


def payload(intent: str, **entities: str) -> str:
    """A button payload as the bot forwards it: '/give_feedback{"rating": "4"}'."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def parse_payload(text: str) -> tuple[str, dict[str, Any]]:
    """The intent and entities of a button payload (what Rasa's payload parser reads back)."""
    match = PAYLOAD.match(text)
    assert match is not None, f"not a payload: {text!r}"
    return match[1], json.loads(match[2]) if match[2] else {}


def _pairs(entities: Entities | None) -> list[tuple[str, str]]:
    """Entities as (name, value) pairs, in message order."""
    if not entities:
        return []
    return list(entities.items()) if isinstance(entities, Mapping) else list(entities)


def parse_data(
    person: Person | None,
    text: str,
    intent: str,
    *,
    entities: Entities | None = None,
    ranking: Sequence[tuple[str, float]] | None = None,
    confidence: float = 0.93,
    language: str = "zh",
) -> dict[str, Any]:
    """The NLU result of one message, with the metadata the bot attaches (bot/handlers.py, bot/rasa.py)."""
    found = []
    for name, value in _pairs(entities):
        start = text.find(value)
        start, end = (start, start + len(value)) if start >= 0 else (0, len(text))
        found.append({"entity": name, "value": value, "start": start, "end": end})
    ranked = ranking if ranking is not None else [(intent, confidence)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": ranked[0][1] if ranked else confidence},
        "intent_ranking": [{"name": name, "confidence": score} for name, score in ranked],
        "entities": found,
        "message_id": f"m{next(_message_ids)}",
        "metadata": (
            {"chat_id": person.chat_id, "telegram_user_id": person.user_id, "language": language} if person else {}
        ),
    }


def _applies(mapping: Mapping[str, Any], active_loop: str | None) -> bool:
    """Whether a mapping's conditions allow it with this active loop (Rasa's `active_loop: null` = no form)."""
    conditions = mapping.get("conditions")
    return not conditions or any(condition.get("active_loop") == active_loop for condition in conditions)


def extracted_slots(intent: str, entities: Entities | None, active_loop: str | None = None) -> dict[str, Any]:
    """What action_extract_slots sets after a message: the domain's from_entity and from_intent mappings."""
    pairs = _pairs(entities)
    values: dict[str, Any] = {}
    for slot, spec in DOMAIN["slots"].items():
        for mapping in spec.get("mappings") or []:
            if not _applies(mapping, active_loop):
                continue
            if mapping["type"] == "from_entity":
                found = [value for name, value in pairs if name == mapping["entity"]]
                if found:
                    values[slot] = found[-1]
                    break
            elif mapping["type"] == "from_intent" and mapping.get("intent") == intent:
                values[slot] = mapping["value"]
                break
    return values


def _slot(name: str, value: Any) -> dict[str, Any]:
    """A SlotSet event as it appears in the tracker state."""
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def _action(name: str) -> dict[str, Any]:
    """An ActionExecuted event."""
    return {"event": "action", "timestamp": None, "name": name, "policy": None, "confidence": 1.0}


def _user(data: dict[str, Any]) -> dict[str, Any]:
    """A UserUttered event."""
    return {
        "event": "user",
        "timestamp": None,
        "text": data["text"],
        "parse_data": data,
        "input_channel": "telegram",
        "message_id": data["message_id"],
        "metadata": data["metadata"],
    }


def tracker(
    person: Person | None,
    text: str,
    intent: str,
    *,
    language: str = "zh",
    entities: Entities | None = None,
    slots: Mapping[str, Any] | None = None,
    ranking: Sequence[tuple[str, float]] | None = None,
    confidence: float = 0.93,
    history: Iterable[dict[str, Any]] = (),
    form: str | None = None,
    requested_slot: str | None = None,
    active_loop: str | None = None,
    sender_id: str | None = None,
) -> Tracker:
    """The tracker Rasa sends for the latest message `text`.

    `history` holds the parse data of earlier user turns (see parse_data). With `form`, the tracker is the one
    Rasa's FormAction hands to validate_<form>: `requested_slot` is the slot the form asked for (None while the
    form is being activated) and the slot candidates of this turn are appended.
    """
    latest = parse_data(person, text, intent, entities=entities, ranking=ranking, confidence=confidence,
                        language=language)
    extracted = extracted_slots(intent, entities, active_loop or (form if requested_slot else None))
    events: list[dict[str, Any]] = [
        _action("action_session_start"),
        {"event": "session_started", "timestamp": None},
        _slot("language", language),
        _action("action_listen"),
    ]
    for earlier in history:
        # The earlier message, then the bot's answer to it (which action does not matter to the actions here).
        events += [_user(earlier), _action("action_clarify"), _action("action_listen")]
    # action_extract_slots runs right after the message; Rasa logs its SlotSet events, not the action itself.
    events += [_user(latest), *(_slot(name, value) for name, value in extracted.items())]
    values = {**INITIAL_SLOTS, "language": language, **(slots or {}), **extracted}
    loop = active_loop
    if form is not None:
        required = set(DOMAIN["forms"][form]["required_slots"]) | ({requested_slot} if requested_slot else set())
        candidates = {name: value for name, value in extracted.items() if name in required}
        events += [
            _slot("requested_slot", requested_slot),
            _action(form),
            *(_slot(name, value) for name, value in candidates.items()),
        ]
        values["requested_slot"] = requested_slot
        loop = loop or (form if requested_slot else None)
    state = {
        "sender_id": sender_id or (person.sender_id if person else "default"),
        "slots": values,
        "latest_message": latest,
        "latest_event_time": None,
        "followup_action": None,
        "paused": False,
        "events": events,
        "latest_input_channel": "telegram",
        "active_loop": {"name": loop} if loop else {},
        "latest_action": {"action_name": form or "action_listen"},
        "latest_action_name": form or "action_listen",
    }
    return Tracker.from_dict(state)


@dataclass(frozen=True)
class Outcome:
    """What an action returned (events) and said (the dispatcher's messages)."""

    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]

    @property
    def responses(self) -> list[str | None]:
        """The response names uttered, in order."""
        return [message.get("response") for message in self.messages]

    @property
    def slot_events(self) -> list[dict[str, Any]]:
        """The SlotSet events, in order."""
        return [event for event in self.events if event.get("event") == "slot"]

    @property
    def slots(self) -> dict[str, Any]:
        """The slots the events set (the last event per slot wins)."""
        return {event["name"]: event["value"] for event in self.slot_events}

    @property
    def filled(self) -> dict[str, Any]:
        """The slots set, without the form's bookkeeping slot requested_slot."""
        return {name: value for name, value in self.slots.items() if name != "requested_slot"}

    @property
    def paused(self) -> bool:
        """Whether the action paused the conversation (ConversationPaused)."""
        return any(event.get("event") == "pause" for event in self.events)

    def message(self, response: str) -> dict[str, Any]:
        """The one message with this response name."""
        found = [message for message in self.messages if message.get("response") == response]
        assert len(found) == 1, f"{response}: {self.responses}"
        return found[0]

    def buttons(self, response: str) -> list[dict[str, Any]]:
        """The buttons of the message with this response name."""
        return list(self.message(response)["buttons"])


# Slots the bot's channel (nlu/channel.py) sets before every message: Rasa fills {language} and {brand} from them.
CHANNEL_SLOTS = frozenset({"language", "brand"})


def check_renderable(messages: Sequence[dict[str, Any]]) -> None:
    """Every uttered response exists in domain.yml and gets every {placeholder} its texts use."""
    for message in messages:
        name = message.get("response")
        assert name in DOMAIN["responses"], f"unknown response {name!r}"
        needed: set[str] = set()
        for variation in DOMAIN["responses"][name]:
            needed |= set(PLACEHOLDER.findall(variation.get("text", "")))
        given = {key for key, value in message.items() if value is not None} | CHANNEL_SLOTS
        assert needed <= given, f"{name} lacks {sorted(needed - given)}"


async def run(action: Action, state: Tracker) -> Outcome:
    """Run an action as the action server does and collect its events and messages."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, state, DOMAIN)
    check_renderable(dispatcher.messages)
    return Outcome(list(events), list(dispatcher.messages))


def cleared_form_slots() -> dict[str, None]:
    """The slots clear_form_slots resets, as Outcome.slots shows them."""
    return dict.fromkeys(FORM_SLOTS)


def without(message: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A message without some keys (to compare two answers that differ only there)."""
    return {key: value for key, value in message.items() if key not in keys}
