"""The complaint form: ask only for what is missing, check the parcel, open the ticket, escalate serious ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    chat_of,
    entity_value,
    is_descriptive,
    is_payload,
    language_of,
    latest_intent,
    latest_text,
    local_time,
    telegram_user,
)
from actions.database import action_settings, run_in_session
from actions.forms_common import NONE, asked_for, clear_form_slots, interrupts, requested_slot, tracking_number_answer
from actions.forms_repair import RepairingFormValidation, confirmed_answer, offer_fields, wants_fields
from actions.handoff import queue_conversation
from crm.complaints import ComplaintTerms, find_complaint, normalize_code, open_complaint, recent_complaints
from crm.escalations import QueuePolicy, Reason
from crm.labels import (
    COMPENSATION_NOTE,
    COMPLAINT_CATEGORY_LABELS,
    COMPLAINT_REJECTED_LABEL,
    COMPLAINT_STATUS_LABELS,
    PHOTO_LABELS,
    label,
)
from crm.models import Complaint, ComplaintCategory, ComplaintStatus
from crm.tracking import find_shipment
from crm.waybills import find_candidates

# A parcel is what these complaints are about; courier conduct and billing may concern none.
NEEDS_PARCEL = {ComplaintCategory.DELAY, ComplaintCategory.DAMAGE, ComplaintCategory.LOSS,
                ComplaintCategory.WRONG_DELIVERY}
COMPLAINT_INTENTS = {
    "complain_delay", "complain_damage", "complain_loss", "complain_wrong_delivery", "complain_courier",
    "complain_billing",
}
# Intents that start the form; "complain" (a general complaint) leaves the category to be asked.
STARTING_INTENTS = COMPLAINT_INTENTS | {"complain"}
# What a category answer typed at the category question may be read as (the buttons carry the entity).
INTENT_CATEGORIES = {
    "complain_delay": ComplaintCategory.DELAY, "complain_damage": ComplaintCategory.DAMAGE,
    "complain_loss": ComplaintCategory.LOSS, "complain_wrong_delivery": ComplaintCategory.WRONG_DELIVERY,
    "complain_courier": ComplaintCategory.COURIER_CONDUCT, "complain_billing": ComplaintCategory.BILLING,
}
SUMMARY_SLOT = "complaint_confirmed"
STATUS_LIMIT = 3


def complaint_fields(category: ComplaintCategory) -> list[str]:
    """The fields of a complaint of this category, in the order they are asked."""
    fields = ["complaint_category"]
    if category in NEEDS_PARCEL:
        fields.append("tracking_number")
    fields.append("complaint_description")
    if category is ComplaintCategory.DAMAGE:
        fields.append("complaint_photo")
    return fields


def category_of(tracker: Tracker) -> ComplaintCategory:
    """The complaint's category from the complaint_category slot (a delay when somehow unset)."""
    try:
        return ComplaintCategory(tracker.get_slot("complaint_category") or ComplaintCategory.DELAY.value)
    except ValueError:
        return ComplaintCategory.DELAY


class ValidateComplaintForm(RepairingFormValidation):
    """Fill the complaint form from what the customer already said; ask only for the rest."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "validate_complaint_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """The category first (a general complaint); a number only for parcel complaints, a photo only for damage.

        The summary (complaint_confirmed) comes last: nothing is filed before the customer confirms it.
        """
        if not tracker.get_slot("complaint_category"):
            return ["complaint_category"]
        return [*complaint_fields(category_of(tracker)), SUMMARY_SLOT]

    async def extract_complaint_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A category button, or a complaint typed in answer to the category question; never later messages."""
        chosen = entity_value(tracker, "complaint_category")
        starting = requested_slot(tracker) is None
        if not (starting or asked_for(tracker, "complaint_category")) or tracker.get_slot("complaint_category"):
            return {}
        if chosen:
            return {"complaint_category": chosen}
        if starting:
            return {}
        if interrupts(tracker):
            return {}
        typed = INTENT_CATEGORIES.get(latest_intent(tracker) or "")
        return {"complaint_category": typed.value if typed else None}

    async def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """One of the six categories; anything else asks again with the buttons."""
        try:
            return {"complaint_category": ComplaintCategory(str(value)).value}
        except ValueError:
            return {"complaint_category": None}

    async def extract_complaint_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Confirm files the complaint; other answers show the summary again (cancel and no cancel)."""
        return confirmed_answer(tracker, SUMMARY_SLOT)

    async def extract_tracking_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Re-check a number from an earlier turn when the form starts; take any answer to the question."""
        return tracking_number_answer(tracker)

    async def validate_tracking_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A well-formed number of a parcel we know; otherwise explain and ask again."""
        if not value:
            return {"tracking_number": None}
        candidates = find_candidates(str(value))
        if not candidates:
            dispatcher.utter_message(response="utter_track_malformed", candidate=str(value)[:40])
            return {"tracking_number": None}
        candidate = candidates[0]
        if not candidate.valid:
            dispatcher.utter_message(response="utter_track_malformed", candidate=candidate.raw)
            return {"tracking_number": None}
        exists = await run_in_session(lambda s: find_shipment(s, candidate.normalized) is not None)
        if not exists:
            dispatcher.utter_message(response="utter_complaint_parcel_not_found", tracking_number=candidate.normalized)
            return {"tracking_number": None}
        return {"tracking_number": candidate.normalized}

    async def extract_complaint_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The customer's own words: the first message when it says what happened, else the answer."""
        text = latest_text(tracker)
        if tracker.get_slot("complaint_description"):
            return {}
        if requested_slot(tracker) is None:
            return {"complaint_description": text} if latest_intent(tracker) in STARTING_INTENTS and \
                is_descriptive(text) else {}
        if not asked_for(tracker, "complaint_description") or interrupts(tracker) or is_payload(text):
            return {}
        return {"complaint_description": text}

    async def extract_complaint_photo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A photo the bot passed on, or "none" when the customer has no photo."""
        photo = entity_value(tracker, "photo_file_id")
        if photo:
            return {"complaint_photo": photo}
        if not asked_for(tracker, "complaint_photo") or interrupts(tracker, no_is_an_answer=True):
            return {}
        if latest_intent(tracker) == "deny":
            return {"complaint_photo": NONE}
        # Text instead of a photo: ask again (the slot stays empty, the form goes on asking).
        return {"complaint_photo": None}


class ActionAskComplaintConfirmed(Action):
    """Show the complaint before it is filed, with Confirm / Edit / Cancel; after Edit, the fields as buttons."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_ask_complaint_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """utter_complaint_summary, or utter_ask_edit_field with one button per field of this category."""
        category = category_of(tracker)
        if wants_fields(tracker):
            offer_fields(dispatcher, tracker, complaint_fields(category))
            return []
        language = language_of(tracker)
        photo = tracker.get_slot("complaint_photo")
        dispatcher.utter_message(
            response="utter_complaint_summary",
            category_label=label(COMPLAINT_CATEGORY_LABELS, category, language),
            tracking_number=(tracker.get_slot("tracking_number") if category in NEEDS_PARCEL else None) or "—",
            description=str(tracker.get_slot("complaint_description") or "—")[:500],
            photo=label(PHOTO_LABELS, bool(photo and photo != NONE), language),
        )
        return []


@dataclass(frozen=True)
class Filed:
    """What the customer is told about a new complaint."""

    complaint_id: int
    code: str
    serious: bool
    due_at: datetime


class ActionSubmitComplaint(Action):
    """Open the ticket; say what happens next and by when; serious tickets go to the human queue."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Create the complaint through crm; a serious one also opens an escalation and pauses the bot."""
        language = language_of(tracker)
        category = category_of(tracker)
        number = tracker.get_slot("tracking_number") if category in NEEDS_PARCEL else None
        if number is None and category not in NEEDS_PARCEL:
            # Courier or billing complaints keep a number the customer mentioned in the same message.
            mentioned = [c.normalized for c in find_candidates(str(tracker.get_slot("complaint_description") or ""))]
            number = mentioned[0] if mentioned else None
        photo = tracker.get_slot("complaint_photo")
        chat_id, user_id = chat_of(tracker), telegram_user(tracker)

        def file(session: Session) -> Filed:
            outcome = open_complaint(
                session,
                category=category,
                description=str(tracker.get_slot("complaint_description") or ""),
                chat_id=chat_id,
                telegram_user_id=user_id,
                tracking_number=number,
                photo_file_id=photo if photo and photo != NONE else None,
                language=language,
                # Promised answer times count staffed hours, like the queue notice that follows.
                terms=ComplaintTerms(hours=QueuePolicy.from_settings(action_settings()).hours),
            )
            return Filed(outcome.complaint.id, outcome.code, outcome.serious, outcome.due_at)

        filed = await run_in_session(file)
        category_label = label(COMPLAINT_CATEGORY_LABELS, category, language)
        events: list[EventType] = [*clear_form_slots()]
        if filed.serious:
            dispatcher.utter_message(
                response="utter_complaint_serious", code=filed.code, category_label=category_label,
                due=local_time(filed.due_at),
            )
            events += await queue_conversation(dispatcher, tracker, Reason.SERIOUS_COMPLAINT,
                                               complaint_id=filed.complaint_id)
            return events
        dispatcher.utter_message(
            response="utter_complaint_created", code=filed.code, category_label=category_label,
            tracking_number=number or "—", due=local_time(filed.due_at),
        )
        return events


@dataclass(frozen=True)
class ComplaintLine:
    """A complaint as the customer may see it."""

    code: str
    category: ComplaintCategory
    status: ComplaintStatus
    created_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    compensation: Decimal | None = None
    rejected: bool = False

    @classmethod
    def of(cls, complaint: Complaint) -> ComplaintLine:
        """Copy what is shown out of the database row."""
        return cls(complaint.code, complaint.category, complaint.status, complaint.created_at, complaint.due_at,
                   complaint.resolved_at, complaint.resolution, complaint.compensation_yuan, complaint.rejected)


def utter_status(dispatcher: CollectingDispatcher, line: ComplaintLine, language: str) -> None:
    """One complaint's progress: open ones with the due time, finished ones with the outcome (and compensation)."""
    status = label(COMPLAINT_STATUS_LABELS, line.status, language)
    if line.rejected:
        status = COMPLAINT_REJECTED_LABEL.get(language) or COMPLAINT_REJECTED_LABEL["en"]
    values = {
        "code": line.code,
        "category_label": label(COMPLAINT_CATEGORY_LABELS, line.category, language),
        "status_label": status,
    }
    if line.status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
        # The outcome the complaint desk recorded, as the customer was told it; the amount in their language.
        resolution = line.resolution or "—"
        if line.compensation is not None:
            note = COMPENSATION_NOTE.get(language) or COMPENSATION_NOTE["en"]
            resolution += note.format(amount=f"{line.compensation:.2f}")
        dispatcher.utter_message(
            response="utter_complaint_status_resolved", resolved_at=local_time(line.resolved_at),
            resolution=resolution, **values,
        )
    else:
        dispatcher.utter_message(
            response="utter_complaint_status", created_at=local_time(line.created_at), due=local_time(line.due_at),
            **values,
        )


class ActionComplaintStatus(Action):
    """Report the progress of a complaint by its code, or of the customer's latest complaints."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_complaint_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Other people's complaints answer exactly like unknown codes."""
        language = language_of(tracker)
        chat_id, user_id = chat_of(tracker), telegram_user(tracker)
        raw = entity_value(tracker, "complaint_id")
        code = normalize_code(raw) if raw else None
        if raw and code is None:
            dispatcher.utter_message(response="utter_complaint_not_found", code=raw[:20])
            return []
        if code is not None:
            def one(session: Session) -> list[ComplaintLine]:
                found = find_complaint(session, code, chat_id=chat_id, telegram_user_id=user_id)
                return [ComplaintLine.of(found)] if found is not None else []

            lines = await run_in_session(one)
            if not lines:
                dispatcher.utter_message(response="utter_complaint_not_found", code=code)
                return []
        else:
            def latest(session: Session) -> list[ComplaintLine]:
                found = recent_complaints(session, chat_id=chat_id, telegram_user_id=user_id, limit=STATUS_LIMIT)
                return [ComplaintLine.of(c) for c in found]

            lines = await run_in_session(latest)
            if not lines:
                dispatcher.utter_message(response="utter_no_complaints")
                return []
        for line in lines:
            utter_status(dispatcher, line, language)
        return []
