"""The pickup form: address, a window from the buttons, contents; booking a pickup order with a P- code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.forms_pickup import ActionAskPickupWindow, ActionSubmitPickup, ValidatePickupForm
from core.clock import as_utc, local, utcnow
from crm.models import PickupOrder, PickupStatus
from crm.pickups import parse_window, pickup_windows
from demo.company import SHOWCASE_PERSON_PHONE
from tests.actions.conftest import ActionDatabase
from tests.actions.trackers import Person, cleared_form_slots, parse_payload, payload, run, tracker

FORM = "pickup_form"
ADDRESS = "上海市徐汇区幸福路88弄3号1202室"
CODE = re.compile(r"^P-\d{4,}$")


def asking(person: Person, requested: str, text: str, intent: str = "nlu_fallback", *, language: str = "zh",
           slots: dict[str, str] | None = None, **entities: str) -> Tracker:
    """The pickup form asking for `requested`, answered with `text`."""
    return tracker(person, text, intent, language=language, form=FORM, requested_slot=requested,
                   entities=entities or None, slots=slots)


def order_of(action_db: ActionDatabase, code: str) -> PickupOrder:
    """The pickup order with this code."""
    with action_db.sessions() as session:
        return session.scalars(select(PickupOrder).where(PickupOrder.code == code)).one()


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_window_buttons_parse_back(action_db: ActionDatabase, language: str) -> None:
    """Each window button's payload names a bookable window, titled in the language, and the form takes it."""
    person = Person.new()
    state = tracker(person, ADDRESS, "nlu_fallback", language=language, active_loop=FORM,
                    slots={"pickup_address": ADDRESS, "requested_slot": "pickup_window"})
    outcome = await run(ActionAskPickupWindow(), state)

    buttons = outcome.buttons("utter_ask_pickup_window")
    assert len(buttons) == 3
    starts = []
    for button in buttons:
        intent, entities = parse_payload(button["payload"])
        assert intent == "schedule_pickup"
        window = parse_window(entities["pickup_window"])
        assert window is not None, button
        assert button["title"] == window.label(language)
        assert window.start >= utcnow() + timedelta(hours=2) - timedelta(minutes=1)  # the lead time
        assert local(window.start).weekday() != 6  # no pickups on Sundays
        starts.append(window.start)

        pressed = asking(person, "pickup_window", button["payload"], "schedule_pickup", language=language,
                         slots={"pickup_address": ADDRESS}, pickup_window=entities["pickup_window"])
        taken = await run(ValidatePickupForm(), pressed)
        assert taken.messages == []
        assert taken.slots == {"pickup_window": entities["pickup_window"]}
    assert starts == sorted(starts)
    assert outcome.events == []


@pytest.mark.parametrize("text", ["明天下午都可以", "asap please", "2026-13-40T09-12"])
async def test_typed_window_is_refused(action_db: ActionDatabase, text: str) -> None:
    """Typed text instead of a window button gets utter_pickup_window_invalid and the slot stays empty."""
    outcome = await run(ValidatePickupForm(), asking(Person.new(), "pickup_window", text,
                                                     slots={"pickup_address": ADDRESS}))
    assert outcome.responses == ["utter_pickup_window_invalid"]
    assert outcome.slots == {"pickup_window": None}


async def test_sunday_or_past_window_key_is_refused(action_db: ActionDatabase) -> None:
    """A well-formed key for a Sunday or a window already begun is refused like typed text."""
    today = local(utcnow()).date()
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    yesterday = today - timedelta(days=1)
    for key in (f"{sunday.isoformat()}T09-12", f"{yesterday.isoformat()}T14-18"):
        outcome = await run(ValidatePickupForm(), asking(
            Person.new(), "pickup_window", payload("schedule_pickup", pickup_window=key), "schedule_pickup",
            slots={"pickup_address": ADDRESS}, pickup_window=key,
        ))
        assert outcome.responses == ["utter_pickup_window_invalid"], key
        assert outcome.slots == {"pickup_window": None}


async def test_address_and_contents_answers(action_db: ActionDatabase) -> None:
    """A too short address is refused; a full one and the contents are taken as typed (trimmed)."""
    person = Person.new()
    short = await run(ValidatePickupForm(), asking(person, "pickup_address", "家里"))
    assert short.responses == ["utter_pickup_address_too_short"]
    assert short.slots == {"pickup_address": None}

    full = await run(ValidatePickupForm(), asking(person, "pickup_address", f" {ADDRESS} "))
    assert full.messages == []
    assert full.slots == {"pickup_address": ADDRESS}

    contents = await run(ValidatePickupForm(), asking(person, "pickup_contents", "两箱书", slots={
        "pickup_address": ADDRESS, "pickup_window": pickup_windows()[0].key}))
    assert contents.slots == {"pickup_contents": "两箱书"}


async def test_interruptions_fill_nothing(action_db: ActionDatabase) -> None:
    """request_human / deny while a pickup question is open fill no slot (Rasa rejects the form)."""
    for requested in ("pickup_address", "pickup_window", "pickup_contents"):
        for text, intent in (("转人工", "request_human"), ("不寄了", "deny")):
            outcome = await run(ValidatePickupForm(), asking(Person.new(), requested, text, intent))
            assert outcome.events == [], (requested, intent)
            assert outcome.messages == []


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_booking_creates_a_pickup_order(action_db: ActionDatabase, language: str) -> None:
    """The submit books a PickupOrder P-… for the window, tells code, window and contents, and clears the form."""
    person = Person.new()
    linked = language == "zh"
    if linked:
        action_db.link(person, SHOWCASE_PERSON_PHONE)
    window = pickup_windows()[1]
    contents = "两箱书" if language == "zh" else "two boxes of books"
    state = tracker(person, contents, "nlu_fallback", language=language,
                    slots={"pickup_address": ADDRESS, "pickup_window": window.key, "pickup_contents": contents})

    outcome = await run(ActionSubmitPickup(), state)

    assert outcome.responses == ["utter_pickup_booked"]
    message = outcome.messages[0]
    assert CODE.match(message["code"]), message["code"]
    assert (message["window"], message["contents"]) == (window.label(language), contents)
    assert outcome.slots == cleared_form_slots()
    order = order_of(action_db, message["code"])
    assert (order.chat_id, order.telegram_user_id, order.address, order.contents, order.language) == (
        person.chat_id, person.user_id, ADDRESS, contents, language
    )
    assert (as_utc(order.window_start), as_utc(order.window_end)) == (window.start, window.end)
    assert order.status is PickupStatus.REQUESTED
    assert order.customer_id == (action_db.wang.id if linked else None)


async def test_expired_window_is_asked_again(action_db: ActionDatabase) -> None:
    """A window that began meanwhile books nothing: utter_pickup_window_invalid and the form slots are cleared."""
    person = Person.new()
    yesterday = local(utcnow()).date() - timedelta(days=1)
    state = tracker(person, "文件", "nlu_fallback", slots={
        "pickup_address": ADDRESS, "pickup_window": f"{yesterday.isoformat()}T09-12", "pickup_contents": "文件"})
    outcome = await run(ActionSubmitPickup(), state)
    assert outcome.responses == ["utter_pickup_window_invalid"]
    assert outcome.slots == cleared_form_slots()
    with action_db.sessions() as session:
        assert session.scalars(select(PickupOrder).where(PickupOrder.chat_id == person.chat_id)).all() == []


async def test_long_address_accepted_by_the_form_can_be_booked(action_db: ActionDatabase) -> None:
    """An address the form accepts is either refused at the question or booked: the submit never fails on it."""
    person = Person.new()
    where = "浙江省杭州市西湖区文三路90号东部软件园科技大厦A座12楼1203室，"
    address = where + "工作日白天请到一楼前台找保安登记后再上楼，取件前请提前半小时打电话，" * 12
    assert 300 < len(address) < 2000  # the bot passes messages of up to 2000 characters

    answered = await run(ValidatePickupForm(), asking(person, "pickup_address", address))
    accepted = answered.slots.get("pickup_address")
    if accepted is None:
        assert answered.responses, "a refused address is explained"
        return
    window = pickup_windows()[0]
    state = tracker(person, "文件", "nlu_fallback",
                    slots={"pickup_address": accepted, "pickup_window": window.key, "pickup_contents": "文件"})
    outcome = await run(ActionSubmitPickup(), state)
    assert outcome.responses == ["utter_pickup_booked"]
