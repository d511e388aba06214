"""Handoff actions: put the conversation in the human agent queue and pause the bot for it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import conversation_ids
from actions.database import action_settings, run_in_session
from actions.forms_common import clear_form_slots
from core.clock import local
from crm.escalations import Placement, QueuePolicy, Reason, open_escalation


async def queue_conversation(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: Reason, *, complaint_id: int | None = None
) -> list[EventType]:
    """Put the conversation in the human queue, tell the customer their place (or staffed hours), and pause it.

    Without a staff group (PARCELDESK_STAFF_CHAT_ID unset, as on a first ./scripts/run.sh) nothing is queued and the
    customer is told how to reach the company. The notices carry the "leave the queue" button (domain.yml).
    """
    language = tracker.get_slot("language") or "en"
    chat_id, user_id = conversation_ids(tracker)
    if chat_id is None:
        # Not a Telegram conversation (e.g. `rasa shell`): nothing to queue, but stay polite.
        dispatcher.utter_message(response="utter_default")
        return []
    settings = action_settings()
    if settings.staff_chat_id is None:
        # Nobody would ever see the escalation: no promise of an agent, but how to reach the company instead.
        dispatcher.utter_message(
            response="utter_handoff_unstaffed", phone=settings.contact_phone, email=settings.contact_email
        )
        return []

    def queue(session: Session) -> Placement:
        return open_escalation(
            session, chat_id, reason, policy=QueuePolicy.from_settings(settings), language=language,
            telegram_user_id=user_id, complaint_id=complaint_id,
        )

    placement = await run_in_session(queue)
    if placement.staffed:
        dispatcher.utter_message(
            response="utter_handoff_queued", position=placement.position or 1, wait_minutes=placement.wait_minutes
        )
    else:
        dispatcher.utter_message(
            response="utter_handoff_after_hours", opens_at=local(placement.opens_at).strftime("%H:%M")
        )
    return [ConversationPaused()]


class ActionRequestHuman(Action):
    """Open (or add to) the conversation's escalation, tell the customer their place, pause the conversation."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Queue the conversation through crm and answer with the place in the queue (or staffed hours)."""
        # The "talk to a person" button offered after two misses in a row says so; typed requests do not.
        offered_after_misses = "repeated_misses" in tracker.get_latest_entity_values("handoff_reason")
        reason = Reason.REPEATED_MISSES if offered_after_misses else Reason.REQUEST_HUMAN
        # A form the customer left for a person must not resume half-filled after the handoff.
        return [*clear_form_slots(), *await queue_conversation(dispatcher, tracker, reason)]
