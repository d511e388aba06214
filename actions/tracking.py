"""Tracking actions: answer where a parcel is, from the customer database."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import button, telegram_user
from actions.database import run_in_session
from crm.identity import owned_shipment
from crm.labels import NOTIFY_ME_LABELS, SERVICE_LABELS, label
from crm.models import Shipment
from crm.notices import FINAL_STATUSES, NOTIFY_PREFIX
from crm.tracking import ShipmentView, full_address, template_values, track
from crm.waybills import WaybillCandidate, find_candidates

# More numbers than this in one message is almost certainly a paste error; answer the first ones.
MAX_NUMBERS_PER_MESSAGE = 5


def _candidates_from(tracker: Tracker) -> list[WaybillCandidate]:
    """Waybill numbers in the latest message text and in extracted tracking_number entities."""
    text = tracker.latest_message.get("text") or ""
    found = find_candidates(text)
    known = {candidate.normalized for candidate in found}
    for value in tracker.get_latest_entity_values("tracking_number"):
        for candidate in find_candidates(str(value)):
            if candidate.normalized not in known:
                known.add(candidate.normalized)
                found.append(candidate)
    return found


def owner_details(shipment: Shipment, language: str) -> dict[str, str]:
    """The extra lines a verified owner sees: recipient, address, service and weight."""
    return {
        "recipient_name": shipment.recipient_name,
        "recipient_city": shipment.recipient_city,
        # The stored address usually names the city already ("江苏省南京市…"): the city is added only when not.
        "recipient_address": full_address(shipment.recipient_city, shipment.recipient_address, language),
        "service_label": label(SERVICE_LABELS, shipment.service_level, language),
        "weight": f"{shipment.weight_kg:g}",
    }


class ActionTrackShipment(Action):
    """Reply with status, last scan and expected delivery of each number in the message."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_track_shipment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Look every number up and answer per number: status, malformed or not found."""
        language = tracker.get_slot("language") or "en"
        candidates = _candidates_from(tracker)
        if not candidates and tracker.get_slot("tracking_number"):
            candidates = find_candidates(str(tracker.get_slot("tracking_number")))
        if not candidates:
            dispatcher.utter_message(response="utter_ask_tracking_number")
            return []
        candidates = candidates[:MAX_NUMBERS_PER_MESSAGE]
        valid = [candidate.normalized for candidate in candidates if candidate.valid]
        user = telegram_user(tracker)

        def lookup(session: Session) -> tuple[dict[str, ShipmentView | None], dict[str, dict[str, str]]]:
            views = {number: track(session, number) for number in valid}
            # Anyone with the number sees the status; only its verified owner sees names and addresses.
            details = {}
            for number in valid:
                owned = owned_shipment(session, user, number) if user is not None else None
                if owned is not None:
                    details[number] = owner_details(owned, language)
            return views, details

        views, details = await run_in_session(lookup) if valid else ({}, {})
        for candidate in candidates:
            if not candidate.valid:
                dispatcher.utter_message(response="utter_track_malformed", candidate=candidate.raw)
                continue
            view = views.get(candidate.normalized)
            if view is None:
                dispatcher.utter_message(response="utter_track_not_found", tracking_number=candidate.normalized)
                continue
            # While something can still happen, anyone holding the number may ask to be told (the bot handles
            # the button itself: its callback data never reaches Rasa).
            extra: dict[str, Any] = {}
            if view.status not in FINAL_STATUSES:
                notify = NOTIFY_ME_LABELS.get(language) or NOTIFY_ME_LABELS["en"]
                extra["buttons"] = [button(notify, f"{NOTIFY_PREFIX}{candidate.normalized}")]
            dispatcher.utter_message(
                response=f"utter_track_{view.status.value}", **extra, **template_values(view, language)
            )
            if candidate.normalized in details:
                dispatcher.utter_message(response="utter_track_owner_details", **details[candidate.normalized])
        return [SlotSet("tracking_number", valid[-1])] if valid else []
