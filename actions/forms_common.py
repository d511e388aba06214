"""What the four forms share: which messages interrupt them, and clearing their slots when they end."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import entity_value, latest_intent, latest_text

# Every slot a form fills (tracking_number stays: it is "the parcel we are talking about").
FORM_SLOTS = (
    "complaint_category",
    "complaint_description",
    "complaint_photo",
    "feedback_rating",
    "feedback_comment",
    "delivery_kind",
    "delivery_address",
    "delivery_day",
    "pickup_address",
    "pickup_window",
    "pickup_contents",
    "form_abort",
    "complaint_confirmed",
    "delivery_confirmed",
    "pickup_confirmed",
)
# "No" where an answer is expected cancels the form, and so does a cancel word (set deterministically by the
# channel, core.repair); a request for a person always leaves it. For these intents the extract_ methods
# return nothing, Rasa rejects the form and rules take over (nlu/data/rules_conversations.yml).
INTERRUPTING = {"request_human", "deny", "cancel"}
# Stored for "the customer answered no" where no is an answer (no photo, no comment).
NONE = "none"


def clear_form_slots() -> list[EventType]:
    """Events that reset every form slot, so the next form starts fresh."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


def requested_slot(tracker: Tracker) -> str | None:
    """The slot the active form asked for last (None when the form is only starting)."""
    value = tracker.get_slot("requested_slot")
    return str(value) if value else None


def asked_for(tracker: Tracker, slot: str) -> bool:
    """Whether the latest message answers the form's question for `slot`."""
    return requested_slot(tracker) == slot


def interrupts(tracker: Tracker, *, no_is_an_answer: bool = False) -> bool:
    """Whether the latest message leaves the form rather than answering it."""
    intent = latest_intent(tracker)
    if no_is_an_answer and intent == "deny":
        return False
    return intent in INTERRUPTING


def tracking_number_answer(tracker: Tracker) -> dict[str, Any]:
    """The extract_tracking_number of the forms that ask for a parcel.

    When the form starts, a number said in an earlier turn is the parcel we talk about, but it is returned so
    that validate_tracking_number checks it again; when the form asked for the number, any typed answer is
    returned so that the validation can refuse it politely (a number in the message is already set by the
    entity mapping).
    """
    if requested_slot(tracker) is None:
        current = tracker.get_slot("tracking_number")
        return {"tracking_number": current} if current else {}
    if not asked_for(tracker, "tracking_number") or interrupts(tracker) or entity_value(tracker, "tracking_number"):
        return {}
    return {"tracking_number": latest_text(tracker) or None}


class ActionCancelForm(Action):
    """Confirm that the form the customer said no to is cancelled, and clear its slots."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_cancel_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Say utter_form_cancelled (nothing was filed); the rule has already deactivated the form."""
        dispatcher.utter_message(response="utter_form_cancelled")
        return clear_form_slots()
