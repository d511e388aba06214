"""The change-delivery form: the verified owner only, before it is out for delivery, never before the promise."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rasa_sdk import Tracker
from sqlalchemy import func, select

from actions.forms_delivery import (
    ActionAskDeliveryDay,
    ActionSubmitDeliveryChange,
    ValidateChangeDeliveryForm,
    day_label,
)
from core.clock import local, utcnow
from crm.labels import STATUS_LABELS, label
from crm.models import EventKind, TrackingEvent
from demo.company import SHOWCASE_COMPANY_PHONE, SHOWCASE_PERSON_PHONE
from tests.actions.conftest import ActionDatabase
from tests.actions.trackers import Person, cleared_form_slots, parse_payload, payload, run, tracker, without

FORM = "change_delivery_form"
IN_TRANSIT = "XJ202611180042"  # promised two days after the demo's today
CREATED = "XJ202611220031"
EXCEPTION = "XJ202611160021"  # promised date already passed
DELAYED = "XJ202611150013"
OUT_FOR_DELIVERY = "XJ202611200005"
DELIVERED = "XJ202611170007"
UNKNOWN = "XJ209912310002"
NEW_ADDRESS = "北京市海淀区中关村大街27号3单元502室"


def today() -> date:
    """The company's local date now (what the actions count days from)."""
    return local(utcnow()).date()


def owner() -> Person:
    """A fresh person (link them to 王小明 to make them the owner of the showcase parcels)."""
    return Person.new()


def changes_of(action_db: ActionDatabase, number: str) -> list[TrackingEvent]:
    """The delivery_changed events of a parcel, oldest first."""
    return [event for event in action_db.shipment(number).events if event.kind is EventKind.DELIVERY_CHANGED]


def event_count(action_db: ActionDatabase) -> int:
    """All tracking events in the database."""
    with action_db.sessions() as session:
        return session.scalar(select(func.count()).select_from(TrackingEvent)) or 0


def midway(person: Person, text: str, intent: str, requested: str, *, number: str, kind: str,
           language: str = "zh", **entities: str) -> Tracker:
    """The form after the parcel and what to change were settled, asking for `requested`."""
    return tracker(person, text, intent, language=language, form=FORM, requested_slot=requested,
                   entities=entities or None, slots={"tracking_number": number, "delivery_kind": kind,
                                                     "linked": True})


async def test_someone_elses_parcel_reads_like_an_unknown_number(action_db: ActionDatabase) -> None:
    """A parcel of another customer gets utter_track_not_found, exactly like a number that does not exist."""
    stranger = Person.new()
    action_db.link(stranger, SHOWCASE_COMPANY_PHONE)
    answers = []
    for number in (IN_TRANSIT, UNKNOWN):
        text = f"我想把{number}改个地址"
        outcome = await run(ValidateChangeDeliveryForm(), tracker(
            stranger, text, "change_delivery", form=FORM, entities={"tracking_number": number}, slots={"linked": True}
        ))
        assert outcome.responses == ["utter_track_not_found"]
        assert outcome.messages[0]["tracking_number"] == number
        assert outcome.slots == {
            "tracking_number": None, "delivery_kind": "address", "requested_slot": "tracking_number"
        }
        answers.append(outcome.messages[0])
    assert without(answers[0], "tracking_number") == without(answers[1], "tracking_number")


async def test_unlinked_person_cannot_change_even_their_parcel(action_db: ActionDatabase) -> None:
    """Without a linked account every number reads as not found."""
    outcome = await run(ValidateChangeDeliveryForm(), tracker(
        Person.new(), f"改一下{CREATED}的派送日期", "change_delivery", form=FORM, entities={"tracking_number": CREATED}
    ))
    assert outcome.responses == ["utter_track_not_found"]
    assert outcome.filled["tracking_number"] is None


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("number", [OUT_FOR_DELIVERY, DELIVERED])
async def test_too_late_aborts_the_form(action_db: ActionDatabase, number: str, language: str) -> None:
    """Out for delivery or delivered: utter_delivery_too_late, form_abort, and the submit only cleans up."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    status = action_db.shipment(number).status
    text = f"{number} 能改到明天送吗" if language == "zh" else f"can {number} come tomorrow instead"
    outcome = await run(ValidateChangeDeliveryForm(), tracker(
        person, text, "change_delivery", language=language, form=FORM, entities={"tracking_number": number}
    ))
    assert outcome.responses == ["utter_delivery_too_late"]
    assert outcome.messages[0]["tracking_number"] == number
    assert outcome.messages[0]["status_label"] == label(STATUS_LABELS, status, language)
    assert outcome.slots["tracking_number"] == number
    assert outcome.slots["form_abort"] is True
    assert outcome.slots["requested_slot"] is None  # no slot left: the form ends

    before = event_count(action_db)
    submitted = await run(ActionSubmitDeliveryChange(), tracker(
        person, text, "change_delivery", language=language,
        slots={"tracking_number": number, "form_abort": True, "delivery_kind": "day"},
    ))
    assert submitted.messages == []
    assert submitted.slots == cleared_form_slots()
    assert event_count(action_db) == before


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"我想改一下{CREATED}的派送地址", "address"),
        (f"please change the delivery day of {CREATED}", "day"),
        (f"{CREATED} 能不能改一下", None),
        # A day and no address at all: "送到" (deliver) must not make it an address change.
        (f"{CREATED}能不能改成后天再送到", "day"),
    ],
)
async def test_first_message_settles_what_to_change(action_db: ActionDatabase, text: str, kind: str | None) -> None:
    """The owner's first message: the number is checked, and the words say address or day (else it is asked)."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    outcome = await run(ValidateChangeDeliveryForm(), tracker(
        person, text, "change_delivery", form=FORM, entities={"tracking_number": CREATED}
    ))
    assert outcome.messages == []
    assert outcome.filled == ({"tracking_number": CREATED, "delivery_kind": kind} if kind
                              else {"tracking_number": CREATED})
    asked = {"address": "delivery_address", "day": "delivery_day", None: "delivery_kind"}[kind]
    assert outcome.slots["requested_slot"] == asked


async def test_kind_button(action_db: ActionDatabase) -> None:
    """The '/change_delivery{"delivery_kind": "day"}' button answers the what-to-change question."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    state = tracker(person, payload("change_delivery", delivery_kind="day"), "change_delivery", form=FORM,
                    requested_slot="delivery_kind", entities={"delivery_kind": "day"},
                    slots={"tracking_number": CREATED})
    outcome = await run(ValidateChangeDeliveryForm(), state)
    assert outcome.slots == {"delivery_kind": "day", "requested_slot": "delivery_day"}


async def test_address_change_is_recorded(action_db: ActionDatabase) -> None:
    """A new address: validated, stored on the parcel, and a delivery_changed event without the address itself."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    short = await run(ValidateChangeDeliveryForm(), midway(person, "公司", "nlu_fallback", "delivery_address",
                                                            number=CREATED, kind="address"))
    assert short.responses == ["utter_delivery_address_too_short"]
    assert short.filled == {"delivery_address": None}

    answered = await run(ValidateChangeDeliveryForm(), midway(person, f"  {NEW_ADDRESS} ", "nlu_fallback",
                                                               "delivery_address", number=CREATED, kind="address"))
    assert answered.messages == []
    assert answered.slots == {"delivery_address": NEW_ADDRESS, "requested_slot": "delivery_confirmed"}

    before = changes_of(action_db, CREATED)
    submitted = await run(ActionSubmitDeliveryChange(), tracker(
        person, NEW_ADDRESS, "nlu_fallback",
        slots={"tracking_number": CREATED, "delivery_kind": "address", "delivery_address": NEW_ADDRESS},
    ))
    assert submitted.responses == ["utter_delivery_changed_address"]
    assert submitted.messages[0]["tracking_number"] == CREATED
    assert submitted.slots == cleared_form_slots()
    shipment = action_db.shipment(CREATED)
    assert shipment.recipient_address == NEW_ADDRESS
    after = changes_of(action_db, CREATED)
    assert len(after) == len(before) + 1
    change = after[-1]
    assert (change.reason, change.note, change.status) == ("customer_request", "address changed", shipment.status)
    assert NEW_ADDRESS not in (change.note or "")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("number", [IN_TRANSIT, EXCEPTION])
async def test_day_buttons_never_before_the_promise(action_db: ActionDatabase, number: str, language: str) -> None:
    """Buttons '/change_delivery{"delivery_day": ...}' start at the promised date (or tomorrow), a day each."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    promised = action_db.shipment(number).promised_date
    state = tracker(person, "改日期", "change_delivery", language=language, active_loop=FORM,
                    slots={"tracking_number": number, "delivery_kind": "day", "requested_slot": "delivery_day"})

    outcome = await run(ActionAskDeliveryDay(), state)

    buttons = outcome.buttons("utter_ask_delivery_day")
    days = []
    for button in buttons:
        intent, entities = parse_payload(button["payload"])
        assert intent == "change_delivery"
        day = date.fromisoformat(entities["delivery_day"])
        assert button["title"] == day_label(day, language)
        days.append(day)
    first = max(today() + timedelta(days=1), promised)
    assert days == [first + timedelta(days=offset) for offset in range(4) if offset <= 7 - (first - today()).days]
    assert days and all(day >= promised and day > today() for day in days)
    if language == "zh":
        assert buttons[0]["title"].startswith(f"{first.month}月{first.day}日 周")
    else:
        assert buttons[0]["title"].endswith(f"{first.day} {first.strftime('%b')}")


async def test_day_before_the_promise_is_refused_and_a_later_one_changed(action_db: ActionDatabase) -> None:
    """'明天' before the promised date: utter_delivery_day_invalid; a day button after it changes the promise."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    promised = action_db.shipment(IN_TRANSIT).promised_date
    assert promised > today() + timedelta(days=1)  # the demo promises it two days ahead

    early = await run(ValidateChangeDeliveryForm(), midway(person, "明天", "change_delivery", "delivery_day",
                                                            number=IN_TRANSIT, kind="day"))
    assert early.responses == ["utter_delivery_day_invalid"]
    assert early.filled == {"delivery_day": None}

    later = (promised + timedelta(days=1)).isoformat()
    chosen = await run(ValidateChangeDeliveryForm(), midway(
        person, payload("change_delivery", delivery_day=later), "change_delivery", "delivery_day",
        number=IN_TRANSIT, kind="day", delivery_day=later,
    ))
    assert chosen.messages == []
    assert chosen.slots == {"delivery_day": later, "requested_slot": "delivery_confirmed"}

    submitted = await run(ActionSubmitDeliveryChange(), tracker(
        person, payload("change_delivery", delivery_day=later), "change_delivery", language="en",
        entities={"delivery_day": later},
        slots={"tracking_number": IN_TRANSIT, "delivery_kind": "day", "delivery_day": later},
    ))
    assert submitted.responses == ["utter_delivery_changed_day"]
    assert submitted.messages[0]["day"] == day_label(date.fromisoformat(later), "en")
    assert submitted.slots == cleared_form_slots()
    assert action_db.shipment(IN_TRANSIT).promised_date == date.fromisoformat(later)
    assert changes_of(action_db, IN_TRANSIT)[-1].note == f"day changed to {later}"


async def test_typed_day_words(action_db: ActionDatabase) -> None:
    """'后天' is understood as a day; words that name no day are refused."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    after_tomorrow = await run(ValidateChangeDeliveryForm(), midway(person, "后天吧", "change_delivery",
                                                                     "delivery_day", number=EXCEPTION, kind="day"))
    assert after_tomorrow.filled == {"delivery_day": (today() + timedelta(days=2)).isoformat()}

    vague = await run(ValidateChangeDeliveryForm(), midway(person, "等我有空的时候", "nlu_fallback", "delivery_day",
                                                            number=EXCEPTION, kind="day"))
    assert vague.responses == ["utter_delivery_day_invalid"]
    assert vague.filled == {"delivery_day": None}


async def test_interruption_while_asking_the_address_sets_nothing(action_db: ActionDatabase) -> None:
    """request_human while the address is asked fills no slot (Rasa rejects the form for the rules)."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    outcome = await run(ValidateChangeDeliveryForm(), midway(person, "转人工", "request_human", "delivery_address",
                                                              number=CREATED, kind="address"))
    assert outcome.messages == []
    assert outcome.filled == {}


async def test_long_address_accepted_by_the_form_is_changed_or_refused_as_an_address(
    action_db: ActionDatabase,
) -> None:
    """An address the form accepted is changed, or refused with an address answer, never with 'pick a day'."""
    person = owner()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    where = "浙江省杭州市西湖区文三路90号东部软件园科技大厦A座12楼1203室，"
    address = where + "工作日白天请送到一楼前台，前台签收后会通知我下楼领取，" * 12
    assert 300 < len(address) < 2000  # the bot passes messages of up to 2000 characters

    answered = await run(ValidateChangeDeliveryForm(), midway(person, address, "change_delivery", "delivery_address",
                                                               number=DELAYED, kind="address"))
    accepted = answered.filled.get("delivery_address")
    if accepted is None:
        assert answered.responses, "a refused address is explained"
        return
    submitted = await run(ActionSubmitDeliveryChange(), tracker(
        person, address, "change_delivery",
        slots={"tracking_number": DELAYED, "delivery_kind": "address", "delivery_address": accepted},
    ))
    assert "utter_delivery_day_invalid" not in submitted.responses, submitted.responses
