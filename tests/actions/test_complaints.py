"""The complaint form, filing a complaint (serious ones go to the human queue), and complaint status."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.common import local_time
from actions.forms_complaint import ActionComplaintStatus, ActionSubmitComplaint, ValidateComplaintForm
from core.clock import as_utc
from core.db import transaction
from crm.complaints import advance, open_complaint
from crm.labels import COMPLAINT_CATEGORY_LABELS, COMPLAINT_STATUS_LABELS, label
from crm.models import Complaint, ComplaintCategory, ComplaintStatus, Escalation, EscalationStatus
from tests.actions.conftest import ActionDatabase
from tests.actions.trackers import DOMAIN, Person, cleared_form_slots, payload, run, tracker, without

FORM = "complaint_form"
DELAYED = "XJ202611150013"  # held by snow on the way to Harbin
EXCEPTION = "XJ202611160021"  # address incomplete
DELIVERED = "XJ202611170007"
OUT_FOR_DELIVERY = "XJ202611200005"
LOST = "XJ202610250008"
UNKNOWN = "XJ209912310001"
CODE = re.compile(r"^C-\d{4,}$")


def complaint_row(action_db: ActionDatabase, code: str) -> Complaint:
    """The complaint with this code."""
    with action_db.sessions() as session:
        return session.scalars(select(Complaint).where(Complaint.code == code)).one()


CATEGORIES = {"complain_delay": "delay", "complain_courier": "courier_conduct", "complain_billing": "billing"}


def ticket_slots(category: str, **values: str) -> dict[str, str]:
    """Slots of a complaint form that is done: the category and what the customer said."""
    return {"complaint_category": category, **values}


# -- which slots are asked -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("complain_delay", ["tracking_number", "complaint_description"]),
        ("complain_loss", ["tracking_number", "complaint_description"]),
        ("complain_wrong_delivery", ["tracking_number", "complaint_description"]),
        ("complain_damage", ["tracking_number", "complaint_description", "complaint_photo"]),
        ("complain_courier", ["complaint_description"]),
        ("complain_billing", ["complaint_description"]),
        ("complain", []),
    ],
)
async def test_required_slots_per_category(intent: str, expected: list[str]) -> None:
    """The category (asked only for a general complaint), a parcel number only for parcel complaints, a photo only
    for damage (category from the intent mapping), and the summary last."""
    state = tracker(Person.new(), "我要投诉", intent, form=FORM)
    domain_slots = DOMAIN["forms"][FORM]["required_slots"]
    slots = await ValidateComplaintForm().required_slots(domain_slots, CollectingDispatcher(), state, DOMAIN)
    assert slots == (["complaint_category", *expected, "complaint_confirmed"] if expected else ["complaint_category"])


@pytest.mark.parametrize(
    ("intent", "first_question"),
    [("complain_delay", "tracking_number"), ("complain_courier", "complaint_description"),
     ("complain_billing", "complaint_description")],
)
async def test_short_first_message_asks_the_first_missing_slot(
    action_db: ActionDatabase, intent: str, first_question: str
) -> None:
    """'我要投诉' says nothing about what happened: no description; courier and billing skip the parcel question."""
    outcome = await run(ValidateComplaintForm(), tracker(Person.new(), "我要投诉", intent, form=FORM))
    assert outcome.messages == []
    assert outcome.filled == {"complaint_category": CATEGORIES[intent]}
    assert outcome.slots["requested_slot"] == first_question


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("zh", f"我的包裹{DELAYED}已经晚了三天还没到，也没人通知我"),
        ("en", f"My parcel {DELAYED} is three days late and nobody told me why"),
    ],
)
async def test_descriptive_first_message_fills_the_form(action_db: ActionDatabase, language: str, text: str) -> None:
    """A first message that says what happened is the description; its number is checked and kept."""
    state = tracker(Person.new(), text, "complain_delay", language=language, form=FORM,
                    entities={"tracking_number": DELAYED})
    outcome = await run(ValidateComplaintForm(), state)
    assert outcome.messages == []
    assert outcome.slots == {"complaint_category": "delay", "tracking_number": DELAYED, "complaint_description": text,
                             "requested_slot": "complaint_confirmed"}


@pytest.mark.parametrize(
    ("language", "text", "intent"),
    [
        ("zh", "我要投诉", "complain_delay"),
        ("en", "I want to complain", "complain_delay"),
        # A complain_delay training example (nlu/data/nlu/complaints.yml): says no more than "我要投诉快递员".
        ("en", "i want to complain about the delay", "complain_delay"),
        # tests/stories/test_conversations.yml expects the form to ask what happened after this message.
        ("zh", "我要投诉，快递丢了", "complain_loss"),
    ],
)
async def test_asking_to_complain_is_not_a_description(
    action_db: ActionDatabase, language: str, text: str, intent: str
) -> None:
    """'I want to complain (about ...)' / '我要投诉…' says nothing beyond wanting to complain: the form asks."""
    outcome = await run(ValidateComplaintForm(), tracker(Person.new(), text, intent, language=language, form=FORM))
    assert "complaint_description" not in outcome.slots
    assert outcome.slots["requested_slot"] == "tracking_number"


async def test_number_from_an_earlier_turn_is_checked_again(action_db: ActionDatabase) -> None:
    """A tracking_number slot left from an earlier turn is validated when the form starts (unknown: asked again)."""
    state = tracker(Person.new(), "我要投诉", "complain_delay", form=FORM, slots={"tracking_number": UNKNOWN})
    outcome = await run(ValidateComplaintForm(), state)
    assert outcome.responses == ["utter_complaint_parcel_not_found"]
    assert outcome.messages[0]["tracking_number"] == UNKNOWN
    assert outcome.filled == {"complaint_category": "delay", "tracking_number": None}
    assert outcome.slots["requested_slot"] == "tracking_number"


# -- answers to the tracking number question --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entity", "response", "value"),
    [
        ("XJ2026111500", None, "utter_track_malformed", None),
        ("不记得了", None, "utter_track_malformed", None),
        (UNKNOWN, UNKNOWN, "utter_complaint_parcel_not_found", None),
        ("xj 2026 1115 0013", None, None, DELAYED),
        (f"单号是 {DELAYED}", DELAYED, None, DELAYED),
    ],
)
async def test_tracking_number_answers(
    action_db: ActionDatabase, text: str, entity: str | None, response: str | None, value: str | None
) -> None:
    """Malformed or no number: utter_track_malformed; unknown: parcel not found; valid: normalised and kept."""
    intent = "track_shipment" if entity else "nlu_fallback"
    state = tracker(Person.new(), text, intent, form=FORM, requested_slot="tracking_number",
                    slots=ticket_slots("delay"), entities={"tracking_number": entity} if entity else None)
    outcome = await run(ValidateComplaintForm(), state)
    assert outcome.responses == ([response] if response else [])
    if response == "utter_track_malformed":
        assert outcome.messages[0]["candidate"] == text
    if response == "utter_complaint_parcel_not_found":
        assert outcome.messages[0]["tracking_number"] == UNKNOWN
    assert outcome.filled == {"tracking_number": value}
    assert outcome.slots["requested_slot"] == ("complaint_description" if value else "tracking_number")


# -- the photo of a damaged parcel ------------------------------------------------------------------


def at_photo_step(person: Person, text: str, intent: str, **entities: str) -> Tracker:
    """The complaint form of a damage complaint waiting for the photo."""
    said = ticket_slots("damage", tracking_number=DELIVERED, complaint_description="箱子被压扁了，里面的杯子碎了")
    return tracker(person, text, intent, form=FORM, requested_slot="complaint_photo", entities=entities or None,
                   slots=said)


async def test_photo_entity_fills_the_photo(action_db: ActionDatabase) -> None:
    """The photo the bot passes on as '/complain_damage{"photo_file_id": ...}' fills complaint_photo."""
    file_id = "AgACAgUAAxkBAAIBQ2V_photo"
    state = at_photo_step(Person.new(), payload("complain_damage", photo_file_id=file_id), "complain_damage",
                          photo_file_id=file_id)
    outcome = await run(ValidateComplaintForm(), state)
    assert outcome.messages == []
    assert outcome.filled == {"complaint_photo": file_id}


async def test_deny_at_the_photo_step_means_no_photo(action_db: ActionDatabase) -> None:
    """'No' answers the photo question: complaint_photo is "none" (the form does not end)."""
    outcome = await run(ValidateComplaintForm(), at_photo_step(Person.new(), "没有照片", "deny"))
    assert outcome.filled == {"complaint_photo": "none"}


async def test_text_at_the_photo_step_asks_again(action_db: ActionDatabase) -> None:
    """Words instead of a photo keep the slot empty (the form asks for the photo again)."""
    outcome = await run(ValidateComplaintForm(), at_photo_step(Person.new(), "照片在另一个手机上", "nlu_fallback"))
    assert outcome.filled == {"complaint_photo": None}


async def test_request_human_at_the_photo_step_leaves_the_form(action_db: ActionDatabase) -> None:
    """Asking for a person is never a photo answer: no slot is set, Rasa rejects the form."""
    outcome = await run(ValidateComplaintForm(), at_photo_step(Person.new(), "转人工", "request_human"))
    assert outcome.filled == {}


@pytest.mark.parametrize(("text", "intent"), [("转人工", "request_human"), ("算了，不投诉了", "deny"),
                                             ("no, forget it", "deny")])
async def test_interruptions_at_the_description_step_set_nothing(
    action_db: ActionDatabase, text: str, intent: str
) -> None:
    """request_human / deny while the description is asked fill no slot, so Rasa rejects the form for the rules."""
    state = tracker(Person.new(), text, intent, form=FORM, requested_slot="complaint_description",
                    slots=ticket_slots("delay", tracking_number=DELAYED))
    outcome = await run(ValidateComplaintForm(), state)
    assert outcome.messages == []
    assert outcome.filled == {}
    assert outcome.slots.get("requested_slot", "complaint_description") == "complaint_description"


async def test_description_answer_is_taken_as_typed(action_db: ActionDatabase) -> None:
    """Any text typed in answer to the description question is the description (a payload is not)."""
    text = "三天了还没到"
    state = tracker(Person.new(), text, "complain_delay", form=FORM, requested_slot="complaint_description",
                    slots=ticket_slots("delay", tracking_number=DELAYED))
    outcome = await run(ValidateComplaintForm(), state)
    assert outcome.slots == {"complaint_description": text, "requested_slot": "complaint_confirmed"}

    pressed = tracker(Person.new(), "/affirm", "affirm", form=FORM, requested_slot="complaint_description",
                      slots=ticket_slots("delay", tracking_number=DELAYED))
    assert (await run(ValidateComplaintForm(), pressed)).filled == {}


# -- filing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "number"), [("zh", DELAYED), ("en", EXCEPTION)])
async def test_submit_creates_the_complaint(action_db: ActionDatabase, language: str, number: str) -> None:
    """A delay complaint is stored with the parcel, chat and deadline; the code and due time are in the answer."""
    person = Person.new()
    description = "已经晚了三天还没到，也没人通知我" if language == "zh" else "Three days late and nobody told me why"
    state = tracker(person, "/affirm", "affirm", language=language,
                    slots=ticket_slots("delay", tracking_number=number, complaint_description=description))

    outcome = await run(ActionSubmitComplaint(), state)

    assert outcome.responses == ["utter_complaint_created"]
    message = outcome.messages[0]
    assert CODE.match(message["code"]), message["code"]
    row = complaint_row(action_db, message["code"])
    assert (row.category, row.status, row.serious) == (ComplaintCategory.DELAY, ComplaintStatus.OPEN, False)
    assert (row.chat_id, row.description, row.language, row.photo_file_id) == (
        person.chat_id, description, language, None
    )
    assert row.shipment_id == action_db.shipment(number).id
    assert row.customer_id is None  # the reporting chat's: never put on the parcel owner's record
    assert as_utc(row.due_at) - as_utc(row.created_at) == timedelta(hours=24)
    assert message["due"] == local_time(row.due_at)
    assert message["tracking_number"] == number
    assert message["category_label"] == label(COMPLAINT_CATEGORY_LABELS, ComplaintCategory.DELAY, language)
    assert outcome.slots == cleared_form_slots()
    assert not outcome.paused


async def test_damage_complaint_keeps_the_photo(action_db: ActionDatabase) -> None:
    """The photo file id is stored with a damage complaint; "none" stores no photo."""
    person = Person.new()
    file_id = "AgACAgUAAxkBAAIBQ2V_damage"
    state = tracker(person, payload("complain_damage", photo_file_id=file_id), "complain_damage",
                    slots=ticket_slots("damage", tracking_number=DELIVERED, complaint_description="杯子碎了",
                                       complaint_photo=file_id))
    outcome = await run(ActionSubmitComplaint(), state)
    row = complaint_row(action_db, outcome.message("utter_complaint_created")["code"])
    assert (row.category, row.photo_file_id) == (ComplaintCategory.DAMAGE, file_id)


async def test_courier_complaint_keeps_a_number_mentioned_in_the_description(action_db: ActionDatabase) -> None:
    """Courier complaints ignore a stale tracking_number slot but keep a number said in the description."""
    person = Person.new()
    description = f"快递员态度很差，送{OUT_FOR_DELIVERY}的时候把包裹直接扔在门口"
    state = tracker(person, description, "complain_courier",
                    slots=ticket_slots("courier_conduct", tracking_number="XJ202611180042",
                                       complaint_description=description))
    outcome = await run(ActionSubmitComplaint(), state)
    message = outcome.message("utter_complaint_created")
    assert message["tracking_number"] == OUT_FOR_DELIVERY
    row = complaint_row(action_db, message["code"])
    assert row.category is ComplaintCategory.COURIER_CONDUCT
    assert row.shipment_id == action_db.shipment(OUT_FOR_DELIVERY).id
    assert as_utc(row.due_at) - as_utc(row.created_at) == timedelta(hours=24)


async def test_billing_complaint_without_a_parcel(action_db: ActionDatabase) -> None:
    """A billing complaint needs no parcel: no shipment, '—' for the number, three days to answer."""
    person = Person.new()
    state = tracker(person, "运费多收了十块钱，请核实一下", "complain_billing", language="en",
                    slots=ticket_slots("billing", complaint_description="运费多收了十块钱，请核实一下"))
    outcome = await run(ActionSubmitComplaint(), state)
    message = outcome.message("utter_complaint_created")
    assert message["tracking_number"] == "—"
    assert message["category_label"] == label(COMPLAINT_CATEGORY_LABELS, ComplaintCategory.BILLING, "en")
    row = complaint_row(action_db, message["code"])
    assert (row.shipment_id, row.customer_id, row.serious) == (None, None, False)
    assert as_utc(row.due_at) - as_utc(row.created_at) == timedelta(hours=72)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_loss_complaint_is_serious_and_queued(action_db: ActionDatabase, language: str) -> None:
    """A lost parcel: utter_complaint_serious, the queue answer, ConversationPaused and a linked escalation."""
    person = Person.new()
    state = tracker(person, "包裹丢了", "complain_loss", language=language,
                    slots=ticket_slots("loss", tracking_number=LOST, complaint_description="三周了还没到，查不到消息"))

    outcome = await run(ActionSubmitComplaint(), state)

    assert outcome.responses == ["utter_complaint_serious", "utter_handoff_queued"]
    serious, queued = outcome.messages
    row = complaint_row(action_db, serious["code"])
    assert row.serious is True
    assert as_utc(row.due_at) - as_utc(row.created_at) == timedelta(hours=4)
    assert serious["due"] == local_time(row.due_at)
    assert serious["category_label"] == label(COMPLAINT_CATEGORY_LABELS, ComplaintCategory.LOSS, language)
    assert queued["position"] >= 1 and queued["wait_minutes"] >= 1
    assert outcome.events[-1] == {"event": "pause", "timestamp": None}
    assert outcome.slots == cleared_form_slots()
    with action_db.sessions() as session:
        escalation = session.scalars(select(Escalation).where(Escalation.chat_id == person.chat_id)).one()
    assert (escalation.reason, escalation.complaint_id, escalation.status, escalation.language) == (
        "serious_complaint", row.id, EscalationStatus.OPEN, language
    )
    assert serious["code"] in (escalation.summary or "")


async def test_repeat_complaint_from_the_same_chat_is_serious(action_db: ActionDatabase) -> None:
    """A second complaint from the same chat within the repeat window goes to a person too."""
    person = Person.new()
    first = tracker(person, "x", "complain_billing", slots=ticket_slots("billing", complaint_description="多收费"))
    assert (await run(ActionSubmitComplaint(), first)).responses == ["utter_complaint_created"]
    again = tracker(person, "x", "complain_billing", slots=ticket_slots("billing", complaint_description="还是多收费"))
    outcome = await run(ActionSubmitComplaint(), again)
    assert outcome.responses == ["utter_complaint_serious", "utter_handoff_queued"]
    assert outcome.paused


# -- complaint status --------------------------------------------------------------------------------


def file_directly(action_db: ActionDatabase, person: Person, description: str, *,
                  category: ComplaintCategory = ComplaintCategory.COURIER_CONDUCT) -> str:
    """File a complaint for the person's chat through crm (no escalation), returning its code."""
    with transaction(action_db.sessions) as session:
        return open_complaint(session, category=category, description=description, chat_id=person.chat_id,
                              telegram_user_id=person.user_id, tracking_number=None).code


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_status_of_an_own_complaint_by_code(action_db: ActionDatabase, language: str) -> None:
    """The code, typed any way ('c1005'), answers utter_complaint_status with status and due time."""
    person = Person.new()
    code = file_directly(action_db, person, "快递员很不礼貌")
    typed = code.replace("C-", "c")
    outcome = await run(ActionComplaintStatus(), tracker(person, f"{typed} 处理得怎么样了", "complaint_status",
                                                         language=language, entities={"complaint_id": typed}))
    assert outcome.responses == ["utter_complaint_status"]
    message = outcome.messages[0]
    row = complaint_row(action_db, code)
    assert message["code"] == code
    assert message["status_label"] == label(COMPLAINT_STATUS_LABELS, ComplaintStatus.OPEN, language)
    assert message["category_label"] == label(COMPLAINT_CATEGORY_LABELS, ComplaintCategory.COURIER_CONDUCT, language)
    assert (message["created_at"], message["due"]) == (local_time(row.created_at), local_time(row.due_at))
    assert outcome.events == []


async def test_someone_elses_code_reads_like_an_unknown_code(action_db: ActionDatabase) -> None:
    """Another chat's complaint code gets utter_complaint_not_found, exactly as a code that does not exist."""
    owner, other = Person.new(), Person.new()
    code = file_directly(action_db, owner, "快递员很不礼貌")
    unknown = "C-999999"

    answers = []
    for asked in (code, unknown):
        outcome = await run(ActionComplaintStatus(), tracker(other, f"查一下{asked}", "complaint_status",
                                                             entities={"complaint_id": asked}))
        assert outcome.responses == ["utter_complaint_not_found"]
        assert outcome.messages[0]["code"] == asked
        assert outcome.events == []
        answers.append(outcome.messages[0])
    assert without(answers[0], "code") == without(answers[1], "code")


async def test_code_that_is_no_code(action_db: ActionDatabase) -> None:
    """An entity that is not a complaint code is answered as not found, with what was typed."""
    outcome = await run(ActionComplaintStatus(), tracker(Person.new(), "C-12 呢", "complaint_status",
                                                         entities={"complaint_id": "C-12"}))
    assert outcome.responses == ["utter_complaint_not_found"]
    assert outcome.messages[0]["code"] == "C-12"


async def test_status_without_code_lists_the_latest(action_db: ActionDatabase) -> None:
    """Without a code: the three newest complaints of the chat, newest first; resolved ones with the outcome."""
    person = Person.new()
    codes = [file_directly(action_db, person, f"第{index}次投诉") for index in range(4)]
    with transaction(action_db.sessions) as session:
        advance(session, codes[-1], ComplaintStatus.RESOLVED, "已向快递员核实并道歉")

    outcome = await run(ActionComplaintStatus(), tracker(person, "my complaint status", "complaint_status",
                                                         language="en"))

    assert outcome.responses == ["utter_complaint_status_resolved", "utter_complaint_status",
                                 "utter_complaint_status"]
    assert [message["code"] for message in outcome.messages] == codes[:0:-1]
    resolved = outcome.messages[0]
    assert resolved["resolution"] == "已向快递员核实并道歉"
    assert resolved["status_label"] == label(COMPLAINT_STATUS_LABELS, ComplaintStatus.RESOLVED, "en")
    assert resolved["resolved_at"] == local_time(complaint_row(action_db, codes[-1]).resolved_at)


async def test_no_complaints(action_db: ActionDatabase) -> None:
    """Someone who never complained hears utter_no_complaints."""
    outcome = await run(ActionComplaintStatus(), tracker(Person.new(), "我的投诉", "complaint_status"))
    assert outcome.responses == ["utter_no_complaints"]
    assert outcome.events == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_status_shows_the_desks_outcome_compensation_and_rejection(action_db: ActionDatabase,
                                                                          language: str) -> None:
    """A ticket resolved on the desk shows its result with the compensation; a rejected one says so with the reason;
    a reopened one is in progress again with its new due time."""
    from decimal import Decimal

    from crm import complaintdesk
    from crm.labels import COMPLAINT_REJECTED_LABEL

    person = Person.new()
    paid, refused, reopened = (file_directly(action_db, person, f"投诉{index}") for index in range(3))
    with transaction(action_db.sessions) as session:
        ids = {code: session.scalars(select(Complaint.id).where(Complaint.code == code)).one()
               for code in (paid, refused, reopened)}
        complaintdesk.resolve(session, ids[paid], None, "Refunded", compensation=Decimal("30"))
        complaintdesk.reject(session, ids[refused], None, "Fee was correct")
        complaintdesk.resolve(session, ids[reopened], None, "Delivered")
        complaintdesk.mark_outcome(session, ids[reopened], delivered=True)
        assert complaintdesk.answer_outcome(session, ids[reopened], person.chat_id, False).counted

    async def status(code: str) -> tuple[str, dict[str, str]]:
        outcome = await run(ActionComplaintStatus(), tracker(person, f"status of {code}", "complaint_status",
                                                             language=language, entities={"complaint_id": code}))
        return outcome.responses[0], outcome.messages[0]

    response, message = await status(paid)
    assert response == "utter_complaint_status_resolved"
    assert message["resolution"] == ("Refunded（补偿 30.00 元）" if language == "zh"
                                     else "Refunded (compensation: 30.00 yuan)")
    response, message = await status(refused)
    assert response == "utter_complaint_status_resolved" and message["resolution"] == "Fee was correct"
    assert message["status_label"] == COMPLAINT_REJECTED_LABEL[language]
    response, message = await status(reopened)
    row = complaint_row(action_db, reopened)
    assert response == "utter_complaint_status"
    assert message["status_label"] == label(COMPLAINT_STATUS_LABELS, ComplaintStatus.IN_PROGRESS, language)
    assert message["due"] == local_time(row.due_at)
