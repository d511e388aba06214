"""Erasure: every table and Rasa's tracker store lose the customer's personal data; accounting and statistics stay."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.hours import parse_hours
from crm import escalations
from crm.chats import sender_id
from crm.complaintdesk import view_ticket
from crm.complaints import open_complaint
from crm.escalations import QueuePolicy, Reason
from crm.identity import customers_with_phone, linked_customer
from crm.models import (
    AuditEntry,
    Chat,
    Complaint,
    ComplaintCategory,
    CustomerKind,
    Escalation,
    NoticeOptOut,
    PickupOrder,
    PickupStatus,
    Shipment,
    StaffRole,
    TrainingLabel,
)
from crm.profiles import view_profile
from crm.staff import register_staff
from privacy.erasure import (
    ADMIN_REQUEST,
    CUSTOMER_REQUEST,
    ERASED,
    ERASED_SUBJECT,
    ErasureBlocked,
    blocking_parcels,
    erase,
    subject_for_chat,
    subject_for_customer,
)
from tests.privacy.search import events_of, search_database, search_rasa_events
from tests.privacy.story import NAME, PHONE, customer_of, tell_story

POLICY = QueuePolicy(claim_minutes=10, reply_minutes=5, supervisor_minutes=10, handle_minutes=6,
                     hours=parse_hours("00:00-24:00"))


def complaint_statistics(session: Session) -> Counter[tuple[str, str, bool]]:
    """Complaints by category, status and seriousness (what the complaint reports count)."""
    rows = session.execute(select(Complaint.category, Complaint.status, Complaint.serious)).all()
    return Counter((category.value, status.value, serious) for category, status, serious in rows)


def test_customer_erasure_leaves_nothing_to_find_and_keeps_the_accounts(session: Session) -> None:
    """Erasing a customer: no table and no Rasa event holds their phone, name or texts; shipments and complaint
    statistics are unchanged; the other customer keeps everything; one audit entry without personal data."""
    story = tell_story(session)
    assert search_database(session, list(story.texts), list(story.phones))  # the search does find them before
    assert search_rasa_events(session, list(story.texts), list(story.phones))
    shipments = session.scalar(select(func.count()).select_from(Shipment))
    statistics = complaint_statistics(session)

    report = erase(session, subject_for_customer(session, story.customer_id), requested_by=ADMIN_REQUEST)
    session.flush()
    session.expire_all()

    assert search_database(session, list(story.texts), list(story.phones)) == []
    assert search_rasa_events(session, list(story.texts), list(story.phones)) == []
    assert events_of(session, sender_id(story.chat_id)) == 0
    assert events_of(session, sender_id(story.chat_id + 1)) == 1  # someone else's conversation stays
    assert session.scalar(select(func.count()).select_from(Shipment)) == shipments
    assert complaint_statistics(session) == statistics
    customer = customer_of(session, story)
    assert customer.name == ERASED and customer.erased_at is not None and customer.telegram_user_id is None
    assert customers_with_phone(session, PHONE) == [] and linked_customer(session, story.chat_id) is None
    assert session.get(Chat, story.chat_id) is None
    assert session.scalars(select(Escalation).where(Escalation.chat_id == story.chat_id)).all() == []
    assert session.scalar(select(func.count()).select_from(TrainingLabel)) == 0
    # The other customer's escalation and name are untouched; a /notify off wish is kept.
    assert search_database(session, ["王大力"]) != []
    assert session.get(NoticeOptOut, story.chat_id) is not None
    assert report.announcements == [(-100123, 77)]
    assert report.tracker is not None and report.tracker.events == 3
    entry = session.get(AuditEntry, report.audit_id)
    assert entry is not None and entry.action == "privacy_erasure" and entry.subject_id == str(story.customer_id)
    assert entry.details is not None and entry.details["chat_messages"] == 2 and entry.details["rasa_events"] == 3


def test_chat_erasure_through_the_chat_subject_covers_the_linked_customer(session: Session) -> None:
    """A customer asking in chat erases the same as an admin would (their chat, their linked record)."""
    story = tell_story(session, chat_id=772000001, code="P000011")
    subject = subject_for_chat(session, story.chat_id, story.chat_id)
    assert subject.customer_id == story.customer_id
    erase(session, subject, requested_by=CUSTOMER_REQUEST)
    session.flush()
    session.expire_all()
    assert search_database(session, list(story.texts), list(story.phones)) == []
    assert search_rasa_events(session, list(story.texts), list(story.phones)) == []


def test_parcels_on_their_way_block_the_erasure_until_forced(session: Session) -> None:
    """A parcel addressed to the customer still in transit: erasure is refused (naming it), then forced by an admin."""
    story = tell_story(session, chat_id=773000001, code="P000021", in_transit=True)
    subject = subject_for_customer(session, story.customer_id)
    blocking = blocking_parcels(session, subject)
    assert len(blocking) == 1 and blocking[0].startswith("XJ2026112")
    with pytest.raises(ErasureBlocked) as refused:
        erase(session, subject, requested_by=ADMIN_REQUEST)
    assert refused.value.parcels == blocking
    assert customer_of(session, story).name == NAME  # nothing happened
    report = erase(session, subject, requested_by=ADMIN_REQUEST, force=True)
    session.flush()
    session.expire_all()
    assert search_database(session, list(story.texts), list(story.phones)) == []
    entry = session.get(AuditEntry, report.audit_id)
    assert entry is not None and entry.details is not None and entry.details["forced"] is True


def test_a_chat_linked_to_a_company_account_loses_only_the_link(session: Session) -> None:
    """The company's record is the company's: a chat erasure removes the chat's data and the link, not the account."""
    story = tell_story(session, chat_id=774000001, code="P000031")
    customer = customer_of(session, story)
    customer.kind = CustomerKind.COMPANY
    session.flush()
    subject = subject_for_chat(session, story.chat_id, story.chat_id)
    assert subject.customer_id is None
    report = erase(session, subject, requested_by=CUSTOMER_REQUEST)
    session.flush()
    session.expire_all()
    customer = customer_of(session, story)
    assert customer.name == NAME and customer.telegram_user_id is None and customer.erased_at is None
    chat_texts = [text for text in story.texts if text not in (NAME, *customer_fields(customer))]
    hits = [hit for hit in search_database(session, chat_texts) if hit[0] not in ("customers", "shipments")]
    assert hits == []
    entry = session.get(AuditEntry, report.audit_id)
    assert entry is not None and entry.subject_kind == "chat" and entry.subject_id == "-"


def customer_fields(customer: object) -> list[str]:
    """The customer record's own texts (kept for a company)."""
    return [value for value in vars(customer).values() if isinstance(value, str)]


def test_erasure_before_rasa_ever_ran_says_there_was_no_store(session: Session) -> None:
    """Rasa has not created its table in this database yet: the rest is erased, the report says no store was
    found, and looking for it did not create it."""
    story = tell_story(session, rasa=False, chat_id=775000001, code="P000041")
    report = erase(session, subject_for_customer(session, story.customer_id), requested_by=ADMIN_REQUEST)
    assert report.tracker is not None and not report.tracker.found
    assert not inspect(session.connection()).has_table("events")
    assert search_database(session, [NAME]) == []
    entry = session.get(AuditEntry, report.audit_id)
    assert entry is not None and entry.details is not None and entry.details["rasa_events"] == "store not found"


def test_a_pickup_still_to_come_blocks_a_stale_one_does_not(session: Session) -> None:
    """A booked pickup in the coming hours needs the address; one whose window passed days ago blocks nothing."""
    story = tell_story(session, chat_id=776000001, code="P000051")
    subject = subject_for_chat(session, story.chat_id, story.chat_id)
    now = utcnow()
    session.add_all([
        PickupOrder(code="P-776001", chat_id=story.chat_id, address="南京西路1266号", contents="书",
                    status=PickupStatus.SCHEDULED, window_start=now + timedelta(hours=2),
                    window_end=now + timedelta(hours=5)),
        PickupOrder(code="P-776002", chat_id=story.chat_id, address="南京西路1266号", contents="书",
                    status=PickupStatus.REQUESTED, window_start=now - timedelta(days=5),
                    window_end=now - timedelta(days=5) + timedelta(hours=3)),
    ])
    session.flush()
    assert blocking_parcels(session, subject) == ["P-776001"]


def test_audit_entries_naming_an_erased_chat_lose_its_id(session: Session) -> None:
    """An unlinked customer's profile and complaint card are audited against their chat id (a Telegram account id);
    after the chat's erasure no audit entry holds that id, while the entries (who looked, when, at what) stay and
    another chat's entries are untouched."""
    chat_id, other_chat = 778000001, 778000002
    alice = register_staff(session, 778101, "Alice", StaffRole.AGENT)
    bob = register_staff(session, 778102, "Bob", StaffRole.AGENT)
    sam = register_staff(session, 778103, "Sam", StaffRole.SUPERVISOR)
    viewed: list[int] = []
    for chat in (chat_id, other_chat):
        placed = escalations.open_escalation(session, chat, Reason.REQUEST_HUMAN, policy=POLICY)
        assert escalations.claim(session, placed.escalation_id, alice.telegram_user_id, policy=POLICY).won
        view_profile(session, placed.escalation_id, alice)
        view_profile(session, placed.escalation_id, bob)  # refused, recorded too
        filed = open_complaint(session, category=ComplaintCategory.DELAY, description="还没到", chat_id=chat,
                               telegram_user_id=chat, tracking_number=None).complaint
        view_ticket(session, filed.id, sam)
        viewed.append(placed.escalation_id)
    about = select(AuditEntry.action).where(AuditEntry.subject_kind == "chat", AuditEntry.subject_id == str(chat_id))
    assert sorted(session.scalars(about)) == ["complaint_view", "profile_denied", "profile_view"]
    total = session.scalar(select(func.count()).select_from(AuditEntry))

    report = erase(session, subject_for_chat(session, chat_id, chat_id), requested_by=CUSTOMER_REQUEST)
    session.flush()
    session.expire_all()

    assert report.counts["audit_subjects"] == 3
    assert session.scalars(select(AuditEntry).where(AuditEntry.subject_id == str(chat_id))).all() == []
    for entry in session.scalars(select(AuditEntry)):
        assert str(chat_id) not in json.dumps(entry.details or {}) and str(chat_id) != entry.actor
    erased = session.scalars(
        select(AuditEntry).where(AuditEntry.subject_kind == "chat", AuditEntry.subject_id == ERASED_SUBJECT,
                                 AuditEntry.action != "privacy_erasure").order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.actor) for e in erased] == [
        ("profile_view", "Alice"), ("profile_denied", "Bob"), ("complaint_view", "Sam")
    ]
    assert (erased[0].details or {})["escalation_id"] == viewed[0]
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == total + 1  # plus the erasure's own
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.subject_id == str(other_chat))).all()) == 3
