"""Handoff actions: put the conversation in the human agent queue and pause the bot for it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.database import action_settings, run_in_session
from crm.clock import local
from crm.escalations import Placement, Reason, open_escalation

SENDER_PREFIX = "tg-"


def conversation_ids(tracker: Tracker) -> tuple[int | None, int | None]:
    """The Telegram chat id and user id of a conversation: from the message metadata, else the sender id."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    chat_id = metadata.get("chat_id")
    user_id = metadata.get("telegram_user_id")
    if chat_id is None and tracker.sender_id.startswith(SENDER_PREFIX):
        try:
            chat_id = int(tracker.sender_id.removeprefix(SENDER_PREFIX))
        except ValueError:
            chat_id = None
    return (int(chat_id) if chat_id is not None else None, int(user_id) if user_id is not None else None)


class ActionRequestHuman(Action):
    """Open (or add to) the conversation's escalation, tell the customer their place, pause the conversation."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Queue the conversation through crm and answer with the place in the queue (or staffed hours)."""
        language = tracker.get_slot("language") or "en"
        chat_id, user_id = conversation_ids(tracker)
        if chat_id is None:
            # Not a Telegram conversation (e.g. `rasa shell`): nothing to queue, but stay polite.
            dispatcher.utter_message(response="utter_default")
            return []
        settings = action_settings()

        def queue(session: Session) -> Placement:
            return open_escalation(
                session, chat_id, Reason.REQUEST_HUMAN, policy=settings.queue_policy(), language=language,
                telegram_user_id=user_id,
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
