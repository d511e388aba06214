"""The pickup form: address, time window and contents; books a pickup order with an id."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import button, chat_of, entity_value, is_payload, language_of, latest_text, telegram_user
from actions.database import run_in_session
from actions.forms_common import asked_for, clear_form_slots, interrupts
from actions.forms_repair import RepairingFormValidation, confirmed_answer, offer_fields, wants_fields
from crm.pickups import PickupError, book_pickup, clean_address, parse_window, pickup_windows

# What the customer is told when crm.pickups refuses a booking (PickupError keys).
PICKUP_PROBLEMS = {
    "address_too_short": "utter_pickup_address_too_short",
    "address_too_long": "utter_address_too_long",
    "window_unavailable": "utter_pickup_window_invalid",
}
SUMMARY_SLOT = "pickup_confirmed"
# The fields the summary's Edit offers, in the order the form asks them.
PICKUP_FIELDS = ("pickup_address", "pickup_window", "pickup_contents")


class ValidatePickupForm(RepairingFormValidation):
    """Take the address and contents as typed, the window from its buttons."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "validate_pickup_form"

    async def extract_pickup_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The address typed in answer to the question."""
        text = latest_text(tracker)
        if not asked_for(tracker, "pickup_address") or interrupts(tracker) or is_payload(text):
            return {}
        return {"pickup_address": text}

    async def validate_pickup_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An address the courier can use (crm.pickups' length rules)."""
        try:
            return {"pickup_address": clean_address(str(value or ""))}
        except PickupError as error:
            dispatcher.utter_message(response=PICKUP_PROBLEMS.get(error.key, "utter_pickup_address_too_short"))
            return {"pickup_address": None}

    async def extract_pickup_window(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The window key of a pressed button; typed text is refused (the buttons are asked again)."""
        chosen = entity_value(tracker, "pickup_window")
        if chosen:
            return {"pickup_window": chosen}
        if not asked_for(tracker, "pickup_window") or interrupts(tracker):
            return {}
        return {"pickup_window": latest_text(tracker) or None}

    async def validate_pickup_window(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A window that is still bookable."""
        window = parse_window(str(value or ""))
        if window is None:
            dispatcher.utter_message(response="utter_pickup_window_invalid")
            return {"pickup_window": None}
        return {"pickup_window": window.key}

    async def extract_pickup_contents(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What is sent, as typed."""
        text = latest_text(tracker)
        if not asked_for(tracker, "pickup_contents") or interrupts(tracker) or is_payload(text):
            return {}
        return {"pickup_contents": text[:200]}

    async def extract_pickup_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Confirm books the pickup; other answers show the summary again (cancel and no cancel)."""
        return confirmed_answer(tracker, SUMMARY_SLOT)


class ActionAskPickupConfirmed(Action):
    """Show the pickup before it is booked, with Confirm / Edit / Cancel; after Edit, the fields as buttons."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_ask_pickup_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """utter_pickup_summary, or utter_ask_edit_field with the fields as buttons."""
        if wants_fields(tracker):
            offer_fields(dispatcher, tracker, PICKUP_FIELDS)
            return []
        language = language_of(tracker)
        window = parse_window(str(tracker.get_slot("pickup_window") or ""))
        dispatcher.utter_message(
            response="utter_pickup_summary", address=str(tracker.get_slot("pickup_address") or "—"),
            window=window.label(language) if window is not None else "—",
            contents=str(tracker.get_slot("pickup_contents") or "—"),
        )
        return []


class ActionAskPickupWindow(Action):
    """Ask for the pickup window with the next bookable windows as buttons."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_ask_pickup_window"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Buttons '/schedule_pickup{"pickup_window": "<key>"}'."""
        language = language_of(tracker)
        buttons = [
            button(window.label(language), f'/schedule_pickup{{"pickup_window": "{window.key}"}}')
            for window in pickup_windows()
        ]
        dispatcher.utter_message(response="utter_ask_pickup_window", buttons=buttons)
        return []


class ActionSubmitPickup(Action):
    """Book the pickup order and confirm it with its id and window."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_submit_pickup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Create the order through crm.pickups; a window that expired meanwhile is asked again."""
        language = language_of(tracker)
        window = parse_window(str(tracker.get_slot("pickup_window") or ""))
        if window is None:
            dispatcher.utter_message(response="utter_pickup_window_invalid")
            return clear_form_slots()
        address = str(tracker.get_slot("pickup_address") or "")
        contents = str(tracker.get_slot("pickup_contents") or "")
        chat_id, user_id = chat_of(tracker), telegram_user(tracker)

        def book(session: Session) -> str:
            order = book_pickup(
                session, chat_id=chat_id, telegram_user_id=user_id, address=address, window=window,
                contents=contents, language=language,
            )
            return order.code

        try:
            code = await run_in_session(book)
        except PickupError as error:
            # Checked at each question already; this is the window passing while the customer typed.
            dispatcher.utter_message(response=PICKUP_PROBLEMS.get(error.key, "utter_pickup_window_invalid"))
            return clear_form_slots()
        dispatcher.utter_message(response="utter_pickup_booked", code=code, window=window.label(language),
                                 contents=contents)
        return clear_form_slots()
