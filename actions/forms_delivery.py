"""The change-delivery form: a verified owner picks a new address or day for a parcel not yet out for delivery."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import button, entity_value, is_payload, language_of, latest_text, telegram_user
from actions.database import run_in_session
from actions.forms_common import asked_for, clear_form_slots, interrupts, requested_slot, tracking_number_answer
from actions.forms_repair import RepairingFormValidation, confirmed_answer, offer_fields, wants_fields
from core.clock import local, utcnow
from crm.delivery import CHANGEABLE, DeliveryChangeError, change_delivery, clean_address, delivery_days
from crm.identity import owned_shipment
from crm.labels import STATUS_LABELS, label
from crm.waybills import find_candidates

ADDRESS_WORDS = ("地址", "送到", "address", "deliver to", "send it to")
DAY_WORDS = (
    "日期", "哪天", "明天", "后天", "改天", "时间", "周", "星期", "day", "date", "tomorrow", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "weekend",
)
RELATIVE_DAYS = {"明天": 1, "tomorrow": 1, "后天": 2, "day after tomorrow": 2, "大后天": 3}
ISO_DAY = re.compile(r"(20\d\d)[-/.年](\d{1,2})[-/.月](\d{1,2})")
ADDRESS_PROBLEMS = {
    "address_too_short": "utter_delivery_address_too_short",
    "address_too_long": "utter_address_too_long",
}
SUMMARY_SLOT = "delivery_confirmed"
WEEKDAY_NAMES = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def kind_in(text: str) -> str | None:
    """'address' or 'day' when the customer's words say which; None when unclear.

    A day word wins over "送到" / "deliver to" ("明天再送到吧" moves the day); only an explicit
    地址 / address makes it an address change when both appear.
    """
    lowered = text.lower()
    says_address = any(word in lowered for word in ADDRESS_WORDS)
    says_day = any(word in lowered for word in DAY_WORDS)
    if says_address and (not says_day or "地址" in lowered or "address" in lowered):
        return "address"
    if says_day:
        return "day"
    return None


def day_in(text: str, today: date) -> date | None:
    """A day from 'tomorrow', '后天' or a written date; None when there is none."""
    lowered = text.lower()
    for word, offset in sorted(RELATIVE_DAYS.items(), key=lambda item: -len(item[0])):
        if word in lowered:
            return today + timedelta(days=offset)
    match = ISO_DAY.search(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    return None


def day_label(day: date, language: str) -> str:
    """A day as a button title: '11月25日 周三' / 'Wed 25 Nov'."""
    if language == "zh":
        return f"{day.month}月{day.day}日 周{WEEKDAY_NAMES['zh'][day.weekday()]}"
    return f"{WEEKDAY_NAMES['en'][day.weekday()]} {day.day} {day.strftime('%b')}"


async def offered_days(tracker: Tracker, count: int) -> list[date]:
    """The days the parcel may move to: from tomorrow, never before its promised date, within a week."""
    number = str(tracker.get_slot("tracking_number") or "")
    user = telegram_user(tracker)

    def promised(session: Session) -> date | None:
        shipment = owned_shipment(session, user, number) if user is not None and number else None
        return shipment.promised_date if shipment is not None else None

    return delivery_days(count=count, earliest=await run_in_session(promised))


def delivery_fields(kind: str | None) -> list[str]:
    """The fields of a delivery change, in the order they are asked: the new value only for its kind."""
    fields = ["tracking_number", "delivery_kind"]
    if kind == "address":
        fields.append("delivery_address")
    elif kind == "day":
        fields.append("delivery_day")
    return fields


class ValidateChangeDeliveryForm(RepairingFormValidation):
    """Check ownership and status first; then ask what to change and the new value."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "validate_change_delivery_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """Number, what to change, then only the address or only the day, then the summary; nothing once aborted."""
        if tracker.get_slot("form_abort"):
            return []
        kind = tracker.get_slot("delivery_kind")
        fields = delivery_fields(kind)
        return [*fields, SUMMARY_SLOT] if kind in ("address", "day") else fields

    async def extract_delivery_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Confirm changes the delivery; other answers show the summary again (cancel and no cancel)."""
        return confirmed_answer(tracker, SUMMARY_SLOT)

    async def extract_tracking_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Re-check a number from an earlier turn when the form starts; take any answer to the question."""
        return tracking_number_answer(tracker)

    async def validate_tracking_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only the verified owner's parcel, still changeable; someone else's parcel reads as not found."""
        candidates = find_candidates(str(value or ""))
        if not candidates or not candidates[0].valid:
            dispatcher.utter_message(response="utter_track_malformed", candidate=str(value or "")[:40])
            return {"tracking_number": None}
        number = candidates[0].normalized
        user = telegram_user(tracker)

        def status_of(session: Session) -> Any:
            shipment = owned_shipment(session, user, number) if user is not None else None
            return shipment.status if shipment is not None else None

        status = await run_in_session(status_of)
        if status is None:
            # Exactly the answer for a number that does not exist.
            dispatcher.utter_message(response="utter_track_not_found", tracking_number=number)
            return {"tracking_number": None}
        if status not in CHANGEABLE:
            dispatcher.utter_message(
                response="utter_delivery_too_late", tracking_number=number,
                status_label=label(STATUS_LABELS, status, language_of(tracker)),
            )
            return {"tracking_number": number, "form_abort": True}
        return {"tracking_number": number}

    async def extract_delivery_kind(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """From the button, from the words of the first message, or from the answer."""
        chosen = entity_value(tracker, "delivery_kind")
        if chosen in ("address", "day"):
            return {"delivery_kind": chosen}
        if tracker.get_slot("delivery_kind"):
            return {}
        text = latest_text(tracker)
        if requested_slot(tracker) is None:
            kind = kind_in(text)
            return {"delivery_kind": kind} if kind else {}
        if not asked_for(tracker, "delivery_kind") or interrupts(tracker):
            return {}
        return {"delivery_kind": kind_in(text)}

    async def extract_delivery_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The new address, typed in answer to the question."""
        text = latest_text(tracker)
        if not asked_for(tracker, "delivery_address") or interrupts(tracker) or is_payload(text):
            return {}
        return {"delivery_address": text}

    async def validate_delivery_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An address the delivery station can use (crm.delivery's length rules)."""
        try:
            return {"delivery_address": clean_address(str(value or ""))}
        except DeliveryChangeError as error:
            dispatcher.utter_message(response=ADDRESS_PROBLEMS.get(error.key, "utter_delivery_address_too_short"))
            return {"delivery_address": None}

    async def extract_delivery_day(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The day from a button, or 'tomorrow' / '后天' / a written date."""
        chosen = entity_value(tracker, "delivery_day")
        if chosen:
            return {"delivery_day": chosen}
        if not asked_for(tracker, "delivery_day") or interrupts(tracker):
            return {}
        day = day_in(latest_text(tracker), local(utcnow()).date())
        return {"delivery_day": day.isoformat() if day else None}

    async def validate_delivery_day(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the days offered (tomorrow up to a week ahead)."""
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            day = None
        allowed = await offered_days(tracker, count=7)
        if day is None or day not in allowed:
            dispatcher.utter_message(response="utter_delivery_day_invalid")
            return {"delivery_day": None}
        return {"delivery_day": day.isoformat()}


class ActionAskDeliveryDay(Action):
    """Ask for the new delivery day with the next bookable days as buttons."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_ask_delivery_day"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Buttons '/change_delivery{"delivery_day": "YYYY-MM-DD"}'."""
        language = language_of(tracker)
        buttons = [
            button(day_label(day, language), f'/change_delivery{{"delivery_day": "{day.isoformat()}"}}')
            for day in await offered_days(tracker, count=4)
        ]
        dispatcher.utter_message(response="utter_ask_delivery_day", buttons=buttons)
        return []


class ActionAskDeliveryConfirmed(Action):
    """Show the change before it is made, with Confirm / Edit / Cancel; after Edit, the fields as buttons."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_ask_delivery_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """utter_delivery_summary_address / _day, or utter_ask_edit_field with the fields as buttons."""
        kind = tracker.get_slot("delivery_kind")
        if wants_fields(tracker):
            offer_fields(dispatcher, tracker, delivery_fields(kind))
            return []
        number = str(tracker.get_slot("tracking_number") or "")
        day_value = tracker.get_slot("delivery_day")
        if kind == "day" and day_value:
            day = day_label(date.fromisoformat(day_value), language_of(tracker))
            dispatcher.utter_message(response="utter_delivery_summary_day", tracking_number=number, day=day)
        else:
            dispatcher.utter_message(response="utter_delivery_summary_address", tracking_number=number,
                                     address=str(tracker.get_slot("delivery_address") or "—"))
        return []


class ActionSubmitDeliveryChange(Action):
    """Record the change as a tracking event and confirm it; an aborted form only cleans up."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_submit_delivery_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Change the address or day through crm.delivery, which checks ownership and status again."""
        if tracker.get_slot("form_abort"):
            return clear_form_slots()
        language = language_of(tracker)
        number = str(tracker.get_slot("tracking_number") or "")
        address = tracker.get_slot("delivery_address")
        day_value = tracker.get_slot("delivery_day")
        new_day = date.fromisoformat(day_value) if day_value and not address else None
        user = telegram_user(tracker)

        def apply(session: Session) -> tuple[str, Any]:
            change = change_delivery(
                session, telegram_user_id=user, tracking_number=number,
                new_address=address if address else None, new_day=new_day,
            )
            status = change.shipment.status if change.shipment is not None else None
            return change.outcome.value, status

        try:
            outcome, status = await run_in_session(apply)
        except DeliveryChangeError as error:
            # The day went stale between question and answer (e.g. past midnight), or the address broke a rule.
            dispatcher.utter_message(response=ADDRESS_PROBLEMS.get(error.key, "utter_delivery_day_invalid"))
            return clear_form_slots()
        if outcome == "not_found":
            dispatcher.utter_message(response="utter_track_not_found", tracking_number=number)
        elif outcome == "too_late":
            dispatcher.utter_message(
                response="utter_delivery_too_late", tracking_number=number,
                status_label=label(STATUS_LABELS, status, language),
            )
        elif address:
            dispatcher.utter_message(response="utter_delivery_changed_address", tracking_number=number)
        else:
            dispatcher.utter_message(
                response="utter_delivery_changed_day", tracking_number=number, day=day_label(new_day, language)
            )
        return clear_form_slots()
