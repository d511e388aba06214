"""The feedback form: a rating 1-5 (buttons or typed) and an optional comment; low ratings invite a complaint."""

from __future__ import annotations

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
    telegram_user,
)
from actions.database import run_in_session
from actions.forms_common import NONE, asked_for, clear_form_slots, interrupts, requested_slot
from actions.forms_repair import RepairingFormValidation
from crm.feedback import LOW_RATING, parse_rating, record_feedback


class ValidateFeedbackForm(RepairingFormValidation):
    """Take a rating and a comment from what the customer already said; ask only for the rest."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "validate_feedback_form"

    async def extract_feedback_rating(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A rating button, or a score in the words ("5 stars", "给4分", "⭐⭐⭐")."""
        pressed = entity_value(tracker, "rating")
        if pressed:
            return {"feedback_rating": pressed}
        if tracker.get_slot("feedback_rating"):
            return {}
        text = latest_text(tracker)
        if requested_slot(tracker) is None:
            score = parse_rating(text)
            return {"feedback_rating": str(score)} if score else {}
        if not asked_for(tracker, "feedback_rating") or interrupts(tracker):
            return {}
        return {"feedback_rating": text or None}

    async def validate_feedback_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A whole number from 1 to 5."""
        score = parse_rating(str(value or ""))
        if score is None:
            dispatcher.utter_message(response="utter_feedback_invalid_rating")
            return {"feedback_rating": None}
        return {"feedback_rating": str(score)}

    async def extract_feedback_comment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The first message when it already says something; else the answer; "no"/Skip means none."""
        if tracker.get_slot("feedback_comment"):
            return {}
        text = latest_text(tracker)
        if requested_slot(tracker) is None:
            return {"feedback_comment": text} if latest_intent(tracker) == "give_feedback" and is_descriptive(text) \
                else {}
        if not asked_for(tracker, "feedback_comment") or interrupts(tracker, no_is_an_answer=True):
            return {}
        if latest_intent(tracker) == "deny" or is_payload(text):
            return {"feedback_comment": NONE}
        return {"feedback_comment": text}


class ActionSubmitFeedback(Action):
    """Store the rating and comment, thank the customer, and offer a complaint or a person after a low rating."""

    def name(self) -> str:
        """Action name as used in domain.yml."""
        return "action_submit_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Record through crm.feedback; ratings at or below LOW_RATING get the complaint buttons."""
        language = language_of(tracker)
        rating = parse_rating(str(tracker.get_slot("feedback_rating") or "")) or 0
        comment = tracker.get_slot("feedback_comment")
        chat_id, user_id = chat_of(tracker), telegram_user(tracker)
        if not 1 <= rating <= 5:
            return clear_form_slots()

        def save(session: Session) -> None:
            record_feedback(
                session, chat_id=chat_id, telegram_user_id=user_id, rating=rating,
                comment=comment if comment and comment != NONE else None, language=language,
            )

        await run_in_session(save)
        dispatcher.utter_message(response="utter_feedback_thanks", rating=rating)
        if rating <= LOW_RATING:
            dispatcher.utter_message(response="utter_feedback_low")
        return clear_form_slots()
