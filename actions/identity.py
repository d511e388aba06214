"""Actions that depend on who the customer is: greeting by name, the linking check, and "my parcels"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import button, language_of, telegram_user
from actions.database import run_in_session
from crm.identity import customer_shipments, first_name, linked_customer
from crm.labels import STATUS_LABELS, label

# Buttons beyond this make the message hard to read on a phone; the list says how many it shows.
LIST_LIMIT = 8


@dataclass(frozen=True)
class ShipmentLine:
    """One parcel of the customer's list: number and status only (no addresses in buttons)."""

    tracking_number: str
    status: Any


async def customer_name(tracker: Tracker) -> str | None:
    """The polite form of address of the linked customer talking, or None when not linked."""
    user = telegram_user(tracker)
    if user is None:
        return None

    def lookup(session: Session) -> str | None:
        customer = linked_customer(session, user)
        return first_name(customer) if customer is not None else None

    return await run_in_session(lookup)


class ActionGreet(Action):
    """Greet the customer, by name once their Telegram account is linked."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Say utter_greet_named with the customer's name, or utter_greet."""
        name = await customer_name(tracker)
        if name:
            dispatcher.utter_message(response="utter_greet_named", name=name)
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


class ActionCheckLinked(Action):
    """Set the `linked` slot; when the account is not linked, ask the customer to share their contact."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_check_linked"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Rules branch on the slot: linked customers go on, others get the share-contact button."""
        linked = await customer_name(tracker) is not None
        if not linked:
            dispatcher.utter_message(response="utter_link_needed")
        return [SlotSet("linked", linked)]


class ActionListShipments(Action):
    """List the linked customer's parcels, newest first, with a button to open each one."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_list_shipments"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Ask to link first when needed; otherwise one button per parcel ('/track_shipment{...}')."""
        user = telegram_user(tracker)
        language = language_of(tracker)

        def lookup(session: Session) -> tuple[str, list[ShipmentLine]] | None:
            customer = linked_customer(session, user) if user is not None else None
            if customer is None:
                return None
            shipments = customer_shipments(session, customer, limit=LIST_LIMIT)
            return first_name(customer), [ShipmentLine(s.tracking_number, s.status) for s in shipments]

        found = await run_in_session(lookup)
        if found is None:
            dispatcher.utter_message(response="utter_link_needed")
            return [SlotSet("linked", False)]
        name, lines = found
        if not lines:
            dispatcher.utter_message(response="utter_no_shipments", name=name)
            return [SlotSet("linked", True)]
        buttons = [
            button(
                f"{line.tracking_number} · {label(STATUS_LABELS, line.status, language)}",
                f'/track_shipment{{"tracking_number": "{line.tracking_number}"}}',
            )
            for line in lines
        ]
        dispatcher.utter_message(response="utter_shipments_header", name=name, count=len(lines), buttons=buttons)
        return [SlotSet("linked", True)]
