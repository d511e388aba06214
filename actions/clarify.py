"""Not understood: offer the two most likely intents as buttons, and a person after a second miss in a row."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import button, language_of
from crm.labels import INTENT_LABELS, label

FALLBACK_INTENT = "nlu_fallback"
OPTIONS = 2
# Retrieval intents cannot be sent back as a "/faq" payload (the sub-intent would be lost), and
# these intents are not worth a button when the bot is unsure.
NOT_OFFERED = {FALLBACK_INTENT, "faq", "out_of_scope", "affirm", "deny", "greet", "goodbye", "thank", "bot_challenge"}


def likely_intents(tracker: Tracker, count: int = OPTIONS) -> list[str]:
    """The most likely intents of the latest message that can be offered as buttons, best first."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    names = [str(item.get("name")) for item in ranking if item.get("name") in INTENT_LABELS]
    return [name for name in names if name not in NOT_OFFERED][:count]


def missed_before(tracker: Tracker) -> bool:
    """Whether the customer's previous message was not understood either (two misses in a row)."""
    user_turns = [event for event in tracker.events if event.get("event") == "user"]
    if len(user_turns) < 2:
        return False
    previous = user_turns[-2].get("parse_data") or {}
    return (previous.get("intent") or {}).get("name") == FALLBACK_INTENT


class ActionClarify(Action):
    """Ask which of the two most likely intents the customer meant; after a second miss, offer a person."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Buttons with '/<intent>' payloads; the human button tells the queue why it was offered."""
        language = language_of(tracker)
        options = [button(label(INTENT_LABELS, intent, language), f"/{intent}") for intent in likely_intents(tracker)]
        if missed_before(tracker):
            human = button(
                label(INTENT_LABELS, "request_human", language),
                '/request_human{"handoff_reason": "repeated_misses"}',
            )
            dispatcher.utter_message(response="utter_clarify_again", buttons=[human, *options])
        elif options:
            dispatcher.utter_message(response="utter_clarify", buttons=options)
        else:
            dispatcher.utter_message(response="utter_default")
        return []
