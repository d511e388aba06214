"""Who is talking: the linking check, greeting by name, "my parcels", and owner-only details when tracking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from actions.identity import LIST_LIMIT, ActionCheckLinked, ActionGreet, ActionListShipments
from actions.tracking import ActionTrackShipment
from core.clock import utcnow
from core.db import transaction
from crm.labels import SERVICE_LABELS, STATUS_LABELS, label
from crm.models import Shipment, ShipmentStatus
from crm.tracking import template_values, track
from demo.company import SHOWCASE_COMPANY_PHONE, SHOWCASE_NUMBERS, SHOWCASE_PERSON_PHONE
from tests.actions.conftest import ActionDatabase
from tests.actions.trackers import Person, parse_payload, run, tracker
from tests.crm.factories import make_customer, make_shipment

IN_TRANSIT = "XJ202611180042"  # 王小明's parcel to 张伟 in Chengdu


async def test_unlinked_user_is_asked_to_link(action_db: ActionDatabase) -> None:
    """Without a linked account: utter_link_needed and linked False; the greeting is the plain one."""
    person = Person.new()
    checked = await run(ActionCheckLinked(), tracker(person, "我的包裹", "list_shipments"))
    assert checked.responses == ["utter_link_needed"]
    assert checked.events == [{"event": "slot", "timestamp": None, "name": "linked", "value": False}]

    listed = await run(ActionListShipments(), tracker(person, "我的包裹", "list_shipments"))
    assert listed.responses == ["utter_link_needed"]
    assert listed.slots == {"linked": False}

    greeted = await run(ActionGreet(), tracker(person, "你好", "greet"))
    assert greeted.responses == ["utter_greet"]
    assert greeted.events == []


async def test_message_without_telegram_metadata_counts_as_unlinked(action_db: ActionDatabase) -> None:
    """A conversation without a Telegram user id (e.g. rasa shell) is never taken for a linked customer."""
    state = tracker(None, "my parcels", "list_shipments", language="en", sender_id="shell-1")
    outcome = await run(ActionCheckLinked(), state)
    assert outcome.responses == ["utter_link_needed"]
    assert outcome.slots == {"linked": False}


async def test_linked_customer_passes_the_check(action_db: ActionDatabase) -> None:
    """After sharing the contact with the showcase phone, action_check_linked says nothing and sets linked True."""
    person = Person.new()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    outcome = await run(ActionCheckLinked(), tracker(person, "我想改派送地址", "change_delivery"))
    assert outcome.messages == []
    assert outcome.slots == {"linked": True}


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_list_shipments_newest_first(action_db: ActionDatabase, language: str) -> None:
    """One '/track_shipment{...}' button per parcel, newest first, titled with the status in the language."""
    person = Person.new()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    wang = action_db.wang
    with action_db.sessions() as session:
        expected = list(
            session.scalars(
                select(Shipment).where(Shipment.customer_id == wang.id).order_by(Shipment.shipped_at.desc()).limit(
                    LIST_LIMIT
                )
            )
        )
    assert len(expected) == LIST_LIMIT < len(SHOWCASE_NUMBERS)  # the oldest parcel is left out

    outcome = await run(ActionListShipments(), tracker(person, "查看我的包裹", "list_shipments", language=language))

    assert outcome.slots == {"linked": True}
    header = outcome.message("utter_shipments_header")
    assert (header["name"], header["count"]) == ("王小明", LIST_LIMIT)
    buttons = header["buttons"]
    assert [button["payload"] for button in buttons] == [
        f'/track_shipment{{"tracking_number": "{shipment.tracking_number}"}}' for shipment in expected
    ]
    assert [button["title"] for button in buttons] == [
        f"{shipment.tracking_number} · {label(STATUS_LABELS, shipment.status, language)}" for shipment in expected
    ]
    for button, shipment in zip(buttons, expected, strict=True):
        assert parse_payload(button["payload"]) == ("track_shipment", {"tracking_number": shipment.tracking_number})
    assert buttons[0]["payload"].endswith('"XJ202611220031"}')  # created today: the newest
    assert "XJ202610250008" not in str(buttons)  # the oldest (lost) parcel is the ninth


async def test_list_shipments_includes_parcels_addressed_to_the_customer(action_db: ActionDatabase) -> None:
    """Parcels sent to the customer's phone are listed with the ones they sent, all newest first."""
    person = Person.new()
    phone = f"+86139{person.user_id % 100_000_000:08d}"
    now = utcnow()
    with transaction(action_db.sessions) as session:
        customer = make_customer(session, f"T{person.user_id}", phone, name="林小雨")
        base = f"XJ2031{person.user_id % 1_000_000:06d}"
        make_shipment(session, base + "01", ShipmentStatus.DELIVERED, customer=customer,
                      start=now - timedelta(days=3))
        make_shipment(session, base + "02", ShipmentStatus.IN_TRANSIT, recipient_phone=phone,
                      start=now - timedelta(days=1))
        make_shipment(session, base + "03", ShipmentStatus.CREATED, customer=customer,
                      start=now - timedelta(days=2))
    action_db.link(person, phone)

    outcome = await run(ActionListShipments(), tracker(person, "my parcels", "list_shipments", language="en"))

    header = outcome.message("utter_shipments_header")
    assert (header["name"], header["count"]) == ("林小雨", 3)
    assert [parse_payload(b["payload"])[1]["tracking_number"] for b in header["buttons"]] == [
        base + "02", base + "03", base + "01"
    ]
    assert header["buttons"][0]["title"] == f"{base}02 · {label(STATUS_LABELS, ShipmentStatus.IN_TRANSIT, 'en')}"


async def test_list_shipments_of_a_customer_without_parcels(action_db: ActionDatabase) -> None:
    """A linked customer with no parcel hears utter_no_shipments with their name, no buttons."""
    person = Person.new()
    phone = f"+86137{person.user_id % 100_000_000:08d}"
    with transaction(action_db.sessions) as session:
        make_customer(session, f"T{person.user_id}", phone, name="周小新")
    action_db.link(person, phone)
    outcome = await run(ActionListShipments(), tracker(person, "我的快递", "list_shipments"))
    assert outcome.responses == ["utter_no_shipments"]
    assert outcome.messages[0]["name"] == "周小新"
    assert outcome.messages[0]["buttons"] == []
    assert outcome.slots == {"linked": True}


async def test_greet_by_name(action_db: ActionDatabase) -> None:
    """A linked person is greeted by full name; a company by its contact person."""
    person, colleague = Person.new(), Person.new()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    action_db.link(colleague, SHOWCASE_COMPANY_PHONE)

    greeted = await run(ActionGreet(), tracker(person, "你好", "greet"))
    assert greeted.responses == ["utter_greet_named"]
    assert greeted.messages[0]["name"] == "王小明"

    company = await run(ActionGreet(), tracker(colleague, "hello", "greet", language="en"))
    assert company.responses == ["utter_greet_named"]
    assert company.messages[0]["name"] == "陈静"


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_owner_sees_details_after_the_status(action_db: ActionDatabase, language: str) -> None:
    """The verified owner gets utter_track_owner_details (recipient, address, service) right after the status."""
    person = Person.new()
    action_db.link(person, SHOWCASE_PERSON_PHONE)
    shipment = action_db.shipment(IN_TRANSIT)
    text = f"{IN_TRANSIT} 到哪了" if language == "zh" else f"where is {IN_TRANSIT}"

    outcome = await run(ActionTrackShipment(), tracker(person, text, "track_shipment", language=language,
                                                       entities={"tracking_number": IN_TRANSIT}))

    assert outcome.responses == ["utter_track_in_transit", "utter_track_owner_details"]
    status, details = outcome.messages
    with action_db.sessions() as session:
        view = track(session, IN_TRANSIT)
    assert view is not None
    assert {key: status[key] for key in template_values(view, language)} == template_values(view, language)
    assert status["status_label"] == label(STATUS_LABELS, ShipmentStatus.IN_TRANSIT, language)
    assert details["recipient_name"] == shipment.recipient_name == "张伟"
    # The demo address names its city already ("北京市朝阳区…"): it is said once.
    assert details["recipient_address"] == shipment.recipient_address
    assert shipment.recipient_city in shipment.recipient_address
    assert details["recipient_city"] == shipment.recipient_city
    assert details["service_label"] == label(SERVICE_LABELS, shipment.service_level, language)
    assert details["weight"] == f"{shipment.weight_kg:g}"
    assert outcome.slots == {"tracking_number": IN_TRANSIT}


async def test_non_owner_and_unlinked_see_the_status_only(action_db: ActionDatabase) -> None:
    """Someone linked to another customer, and someone not linked, get the same public status and no details."""
    stranger, anonymous = Person.new(), Person.new()
    action_db.link(stranger, SHOWCASE_COMPANY_PHONE)
    answers = []
    for person in (stranger, anonymous):
        outcome = await run(ActionTrackShipment(), tracker(person, IN_TRANSIT, "track_shipment",
                                                           entities={"tracking_number": IN_TRANSIT}))
        assert outcome.responses == ["utter_track_in_transit"]
        assert "recipient_name" not in outcome.messages[0]
        assert "张伟" not in str(outcome.messages)
        assert outcome.slots == {"tracking_number": IN_TRANSIT}
        answers.append(outcome.messages)
    assert answers[0] == answers[1]


async def test_track_malformed_unknown_and_button_payload(action_db: ActionDatabase) -> None:
    """Each number is answered: malformed, unknown, or (from a list button's payload) its status."""
    person = Person.new()
    text = "XJ2026111800 和 XJ209912310001"
    outcome = await run(ActionTrackShipment(), tracker(person, text, "track_shipment"))
    assert outcome.responses == ["utter_track_malformed", "utter_track_not_found"]
    assert outcome.messages[0]["candidate"] == "XJ2026111800"
    assert outcome.messages[1]["tracking_number"] == "XJ209912310001"
    assert outcome.slots == {"tracking_number": "XJ209912310001"}

    button = f'/track_shipment{{"tracking_number": "{IN_TRANSIT}"}}'
    pressed = await run(ActionTrackShipment(), tracker(person, button, "track_shipment",
                                                       entities={"tracking_number": IN_TRANSIT}))
    assert pressed.responses == ["utter_track_in_transit"]

    nothing = await run(ActionTrackShipment(), tracker(person, "查快递", "track_shipment"))
    assert nothing.responses == ["utter_ask_tracking_number"]
    assert nothing.events == []
