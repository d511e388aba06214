"""Correct, back and the summary inside a form: empty an answer so the form asks it again; confirm before filing.

The channel (nlu/channel.py) turns a message made only of repair words into the intent `correct` or `go_back` at
confidence 1.0 while a form is active (core.repair). The forms' validation actions then do not read the message
as an answer: "改一下" / "that's wrong" / "返回" empty the latest answer before the question asked, an Edit field
button ('/correct{"edit_field": "pickup_address"}') empties that field, and the form asks it again. `cancel`
is not handled here: the validation fills nothing, Rasa rejects the form and the cancel rules deactivate it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import button, entity_value, language_of, latest_intent, latest_text
from actions.forms_common import requested_slot
from core.repair import normalise
from crm.labels import FORM_FIELD_LABELS, KEEP_AS_IS_LABELS, label

REPAIR_INTENTS = frozenset({"correct", "go_back"})
REQUESTED_SLOT = "requested_slot"
# The last required slot of each form with a summary: "yes" once the customer confirmed.
CONFIRMED_SLOTS = {
    "complaint_form": "complaint_confirmed",
    "change_delivery_form": "delivery_confirmed",
    "pickup_form": "pickup_confirmed",
}
CONFIRMED = "yes"
# Slots that only mean something with an earlier answer: emptied with it (a new kind needs a new value).
DEPENDENT_SLOTS = {
    "delivery_kind": ("delivery_address", "delivery_day"),
    "tracking_number": ("form_abort",),
}
# Typed confirmations at a summary besides the model's affirm (the Confirm button sends /affirm).
CONFIRM_WORDS = frozenset({
    "确认", "确认提交", "提交", "确定", "对", "对的", "没问题", "是的", "好的", "可以", "ok", "okay", "yes", "confirm",
    "confirmed", "submit", "fileit", "thatsright", "looksgood", "yesplease", "sendit", "bookit",
})


def is_confirmation(tracker: Tracker) -> bool:
    """Whether the latest message confirms a summary (the Confirm button, "确认", "yes", the model's affirm)."""
    return latest_intent(tracker) == "affirm" or normalise(latest_text(tracker)) in CONFIRM_WORDS


def confirmed_answer(tracker: Tracker, slot: str) -> dict[str, Any]:
    """The extract_ of a summary slot: "yes" on a confirmation; anything else shows the summary again.

    Cancel, deny and a request for a person set nothing, so the form is rejected and the rules take over.
    """
    if requested_slot(tracker) != slot:
        return {}
    if is_confirmation(tracker):
        return {slot: CONFIRMED}
    if latest_intent(tracker) in {"cancel", "deny", "request_human"}:
        return {}
    return {slot: None}


def wants_fields(tracker: Tracker) -> bool:
    """Whether the customer asked to change something at the summary without naming the field yet."""
    return latest_intent(tracker) == "correct" and not entity_value(tracker, "edit_field")


def offer_fields(dispatcher: CollectingDispatcher, tracker: Tracker, fields: Iterable[str]) -> None:
    """One button per field of the summary, and one to keep everything as it is."""
    language = language_of(tracker)
    buttons = [
        button(label(FORM_FIELD_LABELS, field, language), f'/correct{{"edit_field": "{field}"}}')
        for field in fields if field in FORM_FIELD_LABELS
    ]
    buttons.append(button(KEEP_AS_IS_LABELS.get(language, KEEP_AS_IS_LABELS["en"]), "/go_back"))
    dispatcher.utter_message(response="utter_ask_edit_field", buttons=buttons)


class RepairingFormValidation(FormValidationAction):
    """A form validation that understands correct / back before reading the message as an answer."""

    @abstractmethod
    def name(self) -> str:
        """The validation action's name (abstract: the action server registers only the concrete forms)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Repair intents empty a field; every other message is extracted and validated as usual."""
        if latest_intent(tracker) in REPAIR_INTENTS and requested_slot(tracker) is not None:
            return await self.repair(dispatcher, tracker, domain)
        return await super().run(dispatcher, tracker, domain)

    async def repair(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Empty the chosen field, or the answer before the current question; then ask the first empty slot."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        asked = requested_slot(tracker)
        summary = CONFIRMED_SLOTS.get(self.form_name())
        field = entity_value(tracker, "edit_field")
        if field and field in required and field != summary:
            emptied = [field]
        elif asked == summary:
            # At the summary "back" shows it again and "correct" offers the fields (action_ask_*_confirmed).
            return [SlotSet(summary, None), SlotSet(REQUESTED_SLOT, summary)]
        else:
            earlier = required[: required.index(asked)] if asked in required else []
            answered = [slot for slot in earlier if tracker.get_slot(slot) is not None]
            # Nothing answered before the first question: it is simply asked again.
            emptied = answered[-1:] or [asked]
        events: list[EventType] = []
        for slot in emptied:
            events += [SlotSet(slot, None)] + [SlotSet(dependent, None) for dependent in DEPENDENT_SLOTS.get(slot, ())]
        if summary:
            events.append(SlotSet(summary, None))
        tracker.add_slots(events)
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        following = next((slot for slot in required if tracker.get_slot(slot) is None), None)
        return [*events, SlotSet(REQUESTED_SLOT, following)]
