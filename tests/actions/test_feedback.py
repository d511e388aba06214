"""The feedback form: a rating from the first message or the buttons, an optional comment, low ratings followed up."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.forms_feedback import ActionSubmitFeedback, ValidateFeedbackForm
from crm.models import Feedback
from demo.company import SHOWCASE_PERSON_PHONE
from tests.actions.conftest import ActionDatabase
from tests.actions.trackers import DOMAIN, Person, cleared_form_slots, payload, run, tracker

FORM = "feedback_form"


def asking(person: Person, requested: str, text: str, intent: str, *, slots: dict[str, str] | None = None,
           **entities: str) -> Tracker:
    """The feedback form asking for `requested`, answered with `text`."""
    return tracker(person, text, intent, form=FORM, requested_slot=requested, entities=entities or None,
                   slots=slots)


def feedback_of(action_db: ActionDatabase, person: Person) -> list[Feedback]:
    """The feedback rows of the person's chat."""
    with action_db.sessions() as session:
        return list(session.scalars(select(Feedback).where(Feedback.chat_id == person.chat_id)))


@pytest.mark.parametrize(("text", "language"), [("5 stars", "en"), ("给你们5分", "zh"), ("五星好评", "zh")])
async def test_rating_in_the_first_message(action_db: ActionDatabase, text: str, language: str) -> None:
    """A score in the message that starts the form fills the rating (and a short one is no comment)."""
    outcome = await run(ValidateFeedbackForm(), tracker(Person.new(), text, "give_feedback", language=language,
                                                        form=FORM))
    assert outcome.messages == []
    assert outcome.slots == {"feedback_rating": "5"}


async def test_first_message_with_rating_and_words_fills_both(action_db: ActionDatabase) -> None:
    """'5 stars, the courier was …' fills the rating and takes the message as the comment."""
    text = "5 stars, the courier was quick and very polite"
    outcome = await run(ValidateFeedbackForm(), tracker(Person.new(), text, "give_feedback", language="en",
                                                        form=FORM))
    assert outcome.slots == {"feedback_rating": "5", "feedback_comment": text}


async def test_first_message_without_a_score_fills_nothing(action_db: ActionDatabase) -> None:
    """'我想评价一下' carries no score and no comment: the form asks for the rating."""
    outcome = await run(ValidateFeedbackForm(), tracker(Person.new(), "我想评价一下", "give_feedback", form=FORM))
    assert outcome.events == []


async def test_rating_button(action_db: ActionDatabase) -> None:
    """The '/give_feedback{"rating": "4"}' button answers the rating question."""
    state = asking(Person.new(), "feedback_rating", payload("give_feedback", rating="4"), "give_feedback",
                   rating="4")
    outcome = await run(ValidateFeedbackForm(), state)
    assert outcome.messages == []
    assert outcome.slots == {"feedback_rating": "4"}


@pytest.mark.parametrize("text", ["还行吧", "7", "3.5"])
async def test_rating_that_is_no_score_is_asked_again(action_db: ActionDatabase, text: str) -> None:
    """Text that is no 1-5 score gets utter_feedback_invalid_rating and leaves the rating empty."""
    outcome = await run(ValidateFeedbackForm(), asking(Person.new(), "feedback_rating", text, "nlu_fallback"))
    assert outcome.responses == ["utter_feedback_invalid_rating"]
    assert outcome.slots == {"feedback_rating": None}


@pytest.mark.parametrize(("text", "intent"), [("不用了", "deny"), ("no thanks", "deny"), (payload("deny"), "deny")])
async def test_comment_skipped(action_db: ActionDatabase, text: str, intent: str) -> None:
    """'No' or a Skip button at the comment question stores "none" (no is an answer here)."""
    state = asking(Person.new(), "feedback_comment", text, intent, slots={"feedback_rating": "2"})
    outcome = await run(ValidateFeedbackForm(), state)
    assert outcome.slots == {"feedback_comment": "none"}


async def test_comment_typed_and_request_human(action_db: ActionDatabase) -> None:
    """A typed comment is taken as is; asking for a person at that question fills nothing."""
    person = Person.new()
    typed = await run(ValidateFeedbackForm(), asking(person, "feedback_comment", "快递员很准时", "give_feedback",
                                                     slots={"feedback_rating": "5"}))
    assert typed.slots == {"feedback_comment": "快递员很准时"}
    human = await run(ValidateFeedbackForm(), asking(person, "feedback_comment", "转人工", "request_human",
                                                     slots={"feedback_rating": "5"}))
    assert human.events == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_low_rating_without_comment(action_db: ActionDatabase, language: str) -> None:
    """Rating 2 with the comment skipped: stored with no comment, thanks and the low-rating follow-up."""
    person = Person.new()
    state = tracker(person, "/deny", "deny", language=language,
                    slots={"feedback_rating": "2", "feedback_comment": "none"})
    outcome = await run(ActionSubmitFeedback(), state)
    assert outcome.responses == ["utter_feedback_thanks", "utter_feedback_low"]
    assert outcome.messages[0]["rating"] == 2
    assert DOMAIN["responses"]["utter_feedback_low"][0]["buttons"]  # the complaint / person buttons
    assert outcome.slots == cleared_form_slots()
    (row,) = feedback_of(action_db, person)
    assert (row.rating, row.comment, row.language, row.customer_id) == (2, None, language, None)


async def test_good_rating_with_comment_of_a_linked_customer(action_db: ActionDatabase) -> None:
    """Rating 5 with a comment: thanks only, stored with the comment and the linked customer."""
    person = Person.new()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    state = tracker(person, "快递员很准时", "give_feedback",
                    slots={"feedback_rating": "5", "feedback_comment": "快递员很准时"})
    outcome = await run(ActionSubmitFeedback(), state)
    assert outcome.responses == ["utter_feedback_thanks"]
    (row,) = feedback_of(action_db, person)
    assert (row.rating, row.comment, row.customer_id) == (5, "快递员很准时", action_db.wang.id)


async def test_submit_without_a_valid_rating_stores_nothing(action_db: ActionDatabase) -> None:
    """A form that somehow ended without a rating only clears its slots."""
    person = Person.new()
    outcome = await run(ActionSubmitFeedback(), tracker(person, "x", "give_feedback", slots={"feedback_rating": None}))
    assert outcome.messages == []
    assert outcome.slots == cleared_form_slots()
    assert feedback_of(action_db, person) == []
