"""Proactive care in the database: who gets a notice, once per parcel and status, quiet hours, opt-outs, the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.hours import parse_quiet_hours
from crm import notices
from crm.chats import fix_language
from crm.models import Notice, NoticeAudience, NoticeState, ShipmentStatus
from crm.notices import StatusChange, SubscribeResult
from tests.crm.factories import make_customer, make_shipment

# 14:00 in Shanghai (06:00 UTC): outside the default quiet hours; 23:30 there is inside them.
AFTERNOON = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
QUIET = parse_quiet_hours("22:00-08:00")
MAX_AGE = timedelta(hours=48)
OWNER, FOLLOWER, STRANGER = 7_100_001, 7_100_002, 7_100_003


def delay(session: Session, shipment_number: str = "XJ202612019001", *, old: ShipmentStatus = ShipmentStatus.IN_TRANSIT,
          new: ShipmentStatus = ShipmentStatus.DELAYED, when: datetime = AFTERNOON,
          age: timedelta = timedelta(0)) -> int:
    """The parcel changes status at `when` because of an event `age` old; how many notices were written."""
    shipment = notices.find_shipment(session, shipment_number)
    assert shipment is not None
    shipment.status = new
    return notices.enqueue(session, [StatusChange(shipment, old, new, when - age)], now=when, max_age=MAX_AGE)


@pytest.fixture()
def parcel(session: Session) -> str:
    """XJ202612019001: sent by a customer linked to OWNER, in transit, followed by FOLLOWER."""
    owner = make_customer(session, "T900001", "+8613900000001", telegram_user_id=OWNER)
    make_shipment(session, "XJ202612019001", ShipmentStatus.IN_TRANSIT, customer=owner)
    assert notices.subscribe(session, FOLLOWER, "XJ202612019001", now=AFTERNOON) is SubscribeResult.SUBSCRIBED
    return "XJ202612019001"


def written(session: Session) -> list[tuple[int, NoticeAudience, ShipmentStatus]]:
    """(chat, audience, status) of every notice."""
    return [(n.chat_id, n.audience, n.status) for n in session.scalars(select(Notice).order_by(Notice.chat_id))]


def test_owner_and_follower_get_one_notice_per_status(session: Session, parcel: str) -> None:
    """A delay: one notice for the owner, one for the follower; the same change again adds nothing."""
    assert delay(session, parcel) == 2
    assert written(session) == [(OWNER, NoticeAudience.OWNER, ShipmentStatus.DELAYED),
                                (FOLLOWER, NoticeAudience.SUBSCRIBER, ShipmentStatus.DELAYED)]
    delay(session, parcel)
    assert len(written(session)) == 2


def test_the_recipient_is_an_owner_too(session: Session) -> None:
    """A linked customer whose phone is the recipient's owns the parcel (as in tracking)."""
    make_customer(session, "T900002", "+86 139 0000 0002", telegram_user_id=OWNER)
    make_shipment(session, "XJ202612019002", ShipmentStatus.IN_TRANSIT, recipient_phone="13900000002")
    delay(session, "XJ202612019002")
    assert written(session) == [(OWNER, NoticeAudience.OWNER, ShipmentStatus.DELAYED)]


@pytest.mark.parametrize(
    ("old", "new", "age", "expected"),
    [
        (ShipmentStatus.CREATED, ShipmentStatus.IN_TRANSIT, timedelta(0), 0),  # nobody is told about in transit
        (ShipmentStatus.DELAYED, ShipmentStatus.DELAYED, timedelta(0), 0),  # no change
        (ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED, timedelta(hours=49), 0),  # history
        (ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY, timedelta(hours=47), 2),
    ],
)
def test_what_is_worth_a_notice(session: Session, parcel: str, old: ShipmentStatus, new: ShipmentStatus,
                                age: timedelta, expected: int) -> None:
    """Only changes to delayed, exception, out for delivery, delivered or returned, and only recent ones."""
    assert delay(session, parcel, old=old, new=new, age=age) == expected
    assert len(written(session)) == expected


def test_opted_out_and_muted_chats_get_nothing(session: Session, parcel: str) -> None:
    """/notify off stops everything for a chat; the unsubscribe button stops one parcel (owners too)."""
    notices.set_notices(session, OWNER, False, now=AFTERNOON)
    assert notices.unsubscribe(session, FOLLOWER, parcel, now=AFTERNOON)
    assert delay(session, parcel) == 0
    notices.set_notices(session, OWNER, True, now=AFTERNOON)
    assert delay(session, parcel, old=ShipmentStatus.DELAYED, new=ShipmentStatus.OUT_FOR_DELIVERY) == 1
    assert written(session) == [(OWNER, NoticeAudience.OWNER, ShipmentStatus.OUT_FOR_DELIVERY)]


def test_subscribe_refuses_unknown_and_finished_parcels(session: Session) -> None:
    """Nothing to follow: an unknown number, or a parcel already delivered."""
    make_shipment(session, "XJ202612019003", ShipmentStatus.DELIVERED)
    assert notices.subscribe(session, STRANGER, "XJ209912319999", now=AFTERNOON) is SubscribeResult.UNKNOWN
    assert notices.subscribe(session, STRANGER, "XJ202612019003", now=AFTERNOON) is SubscribeResult.FINAL


def test_claim_sends_in_the_chat_language_status_only_for_followers(session: Session, parcel: str) -> None:
    """The follower's draft has the public values only; the owner's adds the recipient; languages per chat."""
    fix_language(session, FOLLOWER, "en")
    fix_language(session, OWNER, "zh")
    delay(session, parcel)
    drafts = {}
    for notice_id in notices.due_ids(session, now=AFTERNOON, limit=10):
        draft = notices.claim(session, notice_id, now=AFTERNOON, quiet=QUIET)
        assert draft is not None
        drafts[draft.chat_id] = draft
    assert drafts[OWNER].language == "zh" and drafts[FOLLOWER].language == "en"
    assert "recipient_name" in drafts[OWNER].values
    assert "recipient_name" not in drafts[FOLLOWER].values
    assert drafts[FOLLOWER].values["status_label"] == "Delayed"
    assert notices.due_ids(session, now=AFTERNOON, limit=10) == []  # claimed: "sending"


def test_quiet_hours_postpone_until_morning_but_not_out_for_delivery(session: Session, parcel: str) -> None:
    """At 23:30 a delay waits until 08:00 local; out for delivery goes at once."""
    delay(session, parcel, when=NIGHT)
    delay(session, parcel, old=ShipmentStatus.DELAYED, new=ShipmentStatus.OUT_FOR_DELIVERY, when=NIGHT)
    sent = []
    for notice_id in notices.due_ids(session, now=NIGHT, limit=10):
        draft = notices.claim(session, notice_id, now=NIGHT, quiet=QUIET)
        if draft is not None:
            sent.append(draft.status)
    assert sent == [ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.OUT_FOR_DELIVERY]
    waiting = session.scalars(select(Notice).where(Notice.state == NoticeState.PENDING)).all()
    morning = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert {(n.status, notices.as_utc(n.due_at)) for n in waiting} == {(ShipmentStatus.DELAYED, morning)}
    assert all(n.deferred_at is not None for n in waiting)
    assert notices.due_ids(session, now=morning - timedelta(seconds=1), limit=10) == []
    assert len(notices.due_ids(session, now=morning, limit=10)) == 2


def test_a_chat_that_opts_out_while_a_notice_waits_gets_nothing(session: Session, parcel: str) -> None:
    """/notify off drops the waiting notices; an owner who is no longer linked is skipped at sending time."""
    delay(session, parcel)
    notices.set_notices(session, FOLLOWER, False, now=AFTERNOON)
    owner = session.scalars(select(notices.Customer).where(notices.Customer.telegram_user_id == OWNER)).one()
    owner.telegram_user_id = None
    session.flush()
    assert [notices.claim(session, i, now=AFTERNOON, quiet=QUIET)
            for i in notices.due_ids(session, now=AFTERNOON, limit=10)] == [None]
    assert {n.error for n in session.scalars(select(Notice))} == {"notices turned off", "no longer the linked owner"}


def test_the_report_counts_sent_delayed_failed_skipped(session: Session, parcel: str) -> None:
    """Sent (one after the quiet hours), waiting for the morning, failed, skipped — per status and in total."""
    delay(session, parcel, when=NIGHT)
    ids = notices.due_ids(session, now=NIGHT, limit=10)
    assert [notices.claim(session, i, now=NIGHT, quiet=QUIET) for i in ids] == [None, None]
    morning = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    first, second = ids
    assert notices.claim(session, first, now=morning, quiet=QUIET) is not None
    notices.mark_sent(session, first, message_id=1, now=morning)
    delay(session, parcel, old=ShipmentStatus.DELAYED, new=ShipmentStatus.OUT_FOR_DELIVERY, when=NIGHT)
    for notice_id in notices.due_ids(session, now=NIGHT, limit=10):
        if notice_id != second:
            notices.claim(session, notice_id, now=NIGHT, quiet=QUIET)
            notices.mark_failed(session, notice_id, "Forbidden: bot was blocked by the user")
    notices.set_notices(session, OWNER, False, now=NIGHT)  # skips whatever still waits for OWNER
    report = notices.report(session)
    total = report.total
    assert (total.sent, total.sent_after_quiet_hours, total.failed) == (1, 1, 2)
    assert total.waiting_quiet_hours + total.skipped == 1
    assert total.delayed_by_quiet_hours == 1 + total.waiting_quiet_hours
    assert report.by_status[ShipmentStatus.OUT_FOR_DELIVERY].failed == 2
    assert report.failures["Forbidden: bot was blocked by the user"] == 2


def test_a_notice_interrupted_while_sending_is_not_sent_again(session: Session, parcel: str) -> None:
    """A bot that stopped between claiming and sending: the notice becomes failed, never sent twice."""
    delay(session, parcel)
    for notice_id in notices.due_ids(session, now=AFTERNOON, limit=10):
        notices.claim(session, notice_id, now=AFTERNOON, quiet=QUIET)
    assert notices.recover_interrupted(session, now=AFTERNOON) == 2
    assert notices.due_ids(session, now=AFTERNOON + timedelta(hours=1), limit=10) == []
    assert {n.state for n in session.scalars(select(Notice))} == {NoticeState.FAILED}
