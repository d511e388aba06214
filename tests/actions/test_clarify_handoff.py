"""Not understood: two likely intents as buttons, a person after a second miss; handing over to the human queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from actions.clarify import ActionClarify
from actions.forms_common import ActionCancelForm
from actions.handoff import ActionRequestHuman
from core.clock import local, utcnow
from core.settings import Settings
from crm.labels import INTENT_LABELS, label
from crm.models import Escalation, EscalationEvent, EscalationEventKind, EscalationStatus
from demo.company import SHOWCASE_PERSON_PHONE
from tests.actions.conftest import STAFF_GROUP, ActionDatabase
from tests.actions.trackers import Person, cleared_form_slots, parse_data, payload, run, tracker

# What FallbackClassifier sends: nlu_fallback first, then the classifier's own ranking.
RANKING = [
    ("nlu_fallback", 0.7),
    ("faq", 0.31),
    ("track_shipment", 0.22),
    ("greet", 0.12),
    ("change_delivery", 0.09),
    ("complain_delay", 0.05),
]
HUMAN_AFTER_MISSES = '/request_human{"handoff_reason": "repeated_misses"}'


def escalation_of(action_db: ActionDatabase, person: Person) -> Escalation:
    """The one escalation of the person's chat."""
    with action_db.sessions() as session:
        return session.scalars(select(Escalation).where(Escalation.chat_id == person.chat_id)).one()


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_clarify_offers_the_two_likely_offerable_intents(action_db: ActionDatabase, language: str) -> None:
    """faq and greet are never offered: the buttons are the next two, '/intent' payloads titled in the language."""
    state = tracker(Person.new(), "那个东西怎么弄", "nlu_fallback", language=language, ranking=RANKING)
    outcome = await run(ActionClarify(), state)
    assert outcome.responses == ["utter_clarify"]
    assert outcome.buttons("utter_clarify") == [
        {"title": label(INTENT_LABELS, "track_shipment", language), "payload": "/track_shipment"},
        {"title": label(INTENT_LABELS, "change_delivery", language), "payload": "/change_delivery"},
    ]
    assert outcome.events == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_second_miss_in_a_row_offers_a_person_first(action_db: ActionDatabase, language: str) -> None:
    """After an earlier nlu_fallback turn: utter_clarify_again, the repeated_misses person button, then the two."""
    person = Person.new()
    missed = parse_data(person, "嗯嗯那个", "nlu_fallback", ranking=RANKING)
    state = tracker(person, "就是那个啊", "nlu_fallback", language=language, ranking=RANKING, history=[missed])
    outcome = await run(ActionClarify(), state)
    assert outcome.responses == ["utter_clarify_again"]
    buttons = outcome.buttons("utter_clarify_again")
    assert buttons[0] == {"title": label(INTENT_LABELS, "request_human", language), "payload": HUMAN_AFTER_MISSES}
    assert [button["payload"] for button in buttons[1:]] == ["/track_shipment", "/change_delivery"]


async def test_miss_after_an_understood_turn_is_a_first_miss(action_db: ActionDatabase) -> None:
    """A fallback right after an understood message is clarified normally (no person button)."""
    person = Person.new()
    understood = parse_data(person, "XJ202611180042", "track_shipment")
    missed_long_ago = parse_data(person, "嗯嗯", "nlu_fallback", ranking=RANKING)
    state = tracker(person, "那个呢", "nlu_fallback", ranking=RANKING, history=[missed_long_ago, understood])
    outcome = await run(ActionClarify(), state)
    assert outcome.responses == ["utter_clarify"]
    assert HUMAN_AFTER_MISSES not in str(outcome.messages)


async def test_nothing_offerable_gets_the_default_answer(action_db: ActionDatabase) -> None:
    """When only unofferable intents are likely, the bot says utter_default without buttons."""
    ranking = [("nlu_fallback", 0.7), ("faq", 0.4), ("greet", 0.3), ("out_of_scope", 0.2)]
    outcome = await run(ActionClarify(), tracker(Person.new(), "嗯", "nlu_fallback", ranking=ranking))
    assert outcome.responses == ["utter_default"]
    assert outcome.messages[0]["buttons"] == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_person_button_after_misses_opens_a_repeated_misses_escalation(
    action_db: ActionDatabase, language: str
) -> None:
    """The repeated_misses button: escalation with that reason, the queue answer, form slots cleared, paused."""
    person = Person.new()
    state = tracker(person, HUMAN_AFTER_MISSES, "request_human", language=language,
                    entities={"handoff_reason": "repeated_misses"}, slots={"pickup_address": "上海市徐汇区幸福路88弄"})
    outcome = await run(ActionRequestHuman(), state)

    assert outcome.responses == ["utter_handoff_queued"]
    queued = outcome.messages[0]
    assert queued["position"] >= 1 and queued["wait_minutes"] >= 1
    assert outcome.slots == cleared_form_slots()
    assert outcome.events[-1] == {"event": "pause", "timestamp": None}
    escalation = escalation_of(action_db, person)
    assert (escalation.reason, escalation.status, escalation.language, escalation.complaint_id) == (
        "repeated_misses", EscalationStatus.OPEN, language, None
    )
    assert escalation.active_chat_id == person.chat_id


async def test_typed_request_and_a_second_request(action_db: ActionDatabase) -> None:
    """'转人工' opens a request_human escalation for the linked customer; asking again adds to the same one."""
    person = Person.new()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    first = await run(ActionRequestHuman(), tracker(person, "转人工", "request_human"))
    assert first.responses == ["utter_handoff_queued"]
    escalation = escalation_of(action_db, person)
    assert (escalation.reason, escalation.customer_id) == ("request_human", action_db.wang.id)

    again = await run(ActionRequestHuman(), tracker(person, "人呢？转人工", "request_human"))
    assert again.responses == ["utter_handoff_queued"]
    assert again.paused
    assert escalation_of(action_db, person).id == escalation.id  # still one escalation for the chat
    with action_db.sessions() as session:
        kinds = list(session.scalars(select(EscalationEvent.kind).where(
            EscalationEvent.escalation_id == escalation.id).order_by(EscalationEvent.id)))
    assert kinds == [EscalationEventKind.OPENED, EscalationEventKind.APPENDED]


async def test_after_hours_the_customer_is_told_when_staff_are_back(
    action_db: ActionDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside staffed hours: utter_handoff_after_hours with the opening time; the escalation is still opened."""
    opening = (local(utcnow()) + timedelta(hours=2)).hour
    hours = f"{opening:02d}:00-{opening:02d}:30"  # a half-hour shift that has not started yet
    monkeypatch.setattr(
        "actions.handoff.action_settings", lambda: Settings(staffed_hours=hours, staff_chat_id=STAFF_GROUP)
    )
    person = Person.new()
    outcome = await run(ActionRequestHuman(), tracker(person, "talk to a person", "request_human", language="en"))
    assert outcome.responses == ["utter_handoff_after_hours"]
    assert outcome.messages[0]["opens_at"] == f"{opening:02d}:00"
    assert outcome.paused
    assert escalation_of(action_db, person).status is EscalationStatus.OPEN


async def test_without_a_staff_group_no_agent_is_promised(
    action_db: ActionDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No staff group configured: the company's phone and email instead of a queue place; nothing queued or paused."""
    settings = Settings(staff_chat_id=None, contact_phone="400-000-0001", contact_email="help@example.com")
    monkeypatch.setattr("actions.handoff.action_settings", lambda: settings)
    person = Person.new()
    outcome = await run(ActionRequestHuman(), tracker(person, "转人工", "request_human"))
    assert outcome.responses == ["utter_handoff_unstaffed"]
    assert (outcome.messages[0]["phone"], outcome.messages[0]["email"]) == ("400-000-0001", "help@example.com")
    assert not outcome.paused
    with action_db.sessions() as session:
        assert session.scalars(select(Escalation).where(Escalation.chat_id == person.chat_id)).first() is None


async def test_request_outside_telegram_is_not_queued(action_db: ActionDatabase) -> None:
    """Without a chat (e.g. rasa shell) nothing is queued: utter_default, no pause."""
    outcome = await run(ActionRequestHuman(), tracker(None, "human", "request_human", sender_id="shell-7"))
    assert outcome.responses == ["utter_default"]
    assert not outcome.paused
    assert outcome.slots == cleared_form_slots()


async def test_cancel_form(action_db: ActionDatabase) -> None:
    """action_cancel_form confirms and clears every form slot."""
    state = tracker(Person.new(), payload("deny"), "deny", slots={"feedback_rating": "3"})
    outcome = await run(ActionCancelForm(), state)
    assert outcome.responses == ["utter_form_cancelled"]
    assert outcome.slots == cleared_form_slots()
