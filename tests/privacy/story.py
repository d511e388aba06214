"""One customer's whole history in every table (and in Rasa's tracker store), for the erasure and export tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from core.clock import utcnow
from crm import chatlog, outbox
from crm.chats import get_or_create_chat, sender_id
from crm.identity import link_contact
from crm.models import (
    AuditEntry,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintStatus,
    Customer,
    DeskInput,
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    EscalationStatus,
    Feedback,
    Notice,
    NoticeAudience,
    NoticeOptOut,
    NoticeSubscription,
    PickupOrder,
    PickupStatus,
    ShipmentStatus,
    TrainingLabel,
)
from crm.outbox import OutboxPolicy
from tests.crm.factories import make_customer, make_shipment
from tests.privacy.search import add_event, create_rasa_events

PHONE = "+86 139 1234 5678"
NAME = "林小红"
ADDRESS = "上海市静安区南京西路1266号"
SAID = "我叫林小红，电话13912345678，住南京西路1266号"
COMPLAINT = "快递员把包裹扔在楼下，里面的杯子碎了"
FEEDBACK = "林小红觉得服务不错"
AGENT_NOTE = "客户林小红很着急"
PICKUP_ADDRESS = "静安区南京西路1266号3楼"
PHOTO = "photo-file-id-of-the-broken-cup"


@dataclass(frozen=True)
class Story:
    """The customer, their chat and what to look for afterwards."""

    customer_id: int
    chat_id: int
    other_customer_id: int
    texts: tuple[str, ...] = (NAME, ADDRESS, SAID, COMPLAINT, FEEDBACK, AGENT_NOTE, PICKUP_ADDRESS, PHOTO)
    phones: tuple[str, ...] = (PHONE,)


def tell_story(session: Session, *, rasa: bool = True, chat_id: int = 771234567, code: str = "P000001",
               in_transit: bool = False) -> Story:
    """A linked customer who chatted, complained, rated, booked a pickup, talked to an agent and got notices
    (and, with rasa, whose conversation is in Rasa's events table, next to someone else's)."""
    now = utcnow()
    customer = make_customer(session, code, PHONE, name=NAME)
    customer.address = ADDRESS
    customer.email = "lin.xiaohong@example.com"
    # Someone else, who must keep everything.
    other = make_customer(session, f"{code[:-1]}9", "+8613700000009", name="王大力")
    get_or_create_chat(session, chat_id)
    link_contact(session, telegram_user_id=chat_id, phone=PHONE, chat_id=chat_id)
    sent = make_shipment(session, f"XJ2026111{chat_id % 100000:05d}", ShipmentStatus.DELIVERED, customer=customer,
                         start=datetime(2026, 11, 18, 2, 0, tzinfo=UTC))
    sent.sender_name, sent.sender_phone, sent.sender_address = NAME, PHONE, ADDRESS
    make_shipment(session, f"XJ2026112{chat_id % 100000:05d}",
                  ShipmentStatus.IN_TRANSIT if in_transit else ShipmentStatus.DELIVERED,
                  customer=other, recipient_phone="13912345678").recipient_name = NAME
    make_shipment(session, f"XJ2026113{chat_id % 100000:05d}", ShipmentStatus.DELIVERED, customer=other)

    inbound = chatlog.record_inbound(session, bot_id=1, update_id=chat_id, chat_id=chat_id,
                                     telegram_user_id=chat_id, kind="text", text=SAID)
    chatlog.record_outbound(session, chat_id=chat_id, text=f"您好，{NAME}！")
    # A reply Telegram did not take yet, waiting in the outbox.
    outbox.keep(session, chat_id=chat_id, text=f"{NAME}, your parcel is at {ADDRESS}", error="NetworkError: 502",
                policy=OutboxPolicy())
    session.add(TrainingLabel(message_id=inbound.message_id, intent="inform", source="fallback",
                              labelled_by="admin", created_at=now))
    complaint = Complaint(code=f"C-{chat_id % 100000}", customer_id=customer.id, shipment_id=sent.id, chat_id=chat_id,
                          category=ComplaintCategory.DAMAGE, description=COMPLAINT, photo_file_id=PHOTO,
                          status=ComplaintStatus.RESOLVED, resolution=f"已赔偿{NAME}", resolved_at=now)
    session.add(complaint)
    session.flush()
    session.add(ComplaintEvent(complaint_id=complaint.id, kind=ComplaintEventKind.CUSTOMER_WORDS, body=SAID,
                               file_id=PHOTO, amount_yuan=Decimal("50.00"), created_at=now))
    session.add(DeskInput(chat_id=chat_id, kind="customer_words", complaint_id=complaint.id, draft=SAID,
                          created_at=now, expires_at=now + timedelta(hours=1)))
    session.add(Feedback(customer_id=customer.id, chat_id=chat_id, rating=4, comment=FEEDBACK))
    session.add(PickupOrder(code=f"P-{chat_id % 100000}", customer_id=customer.id, chat_id=chat_id,
                            telegram_user_id=chat_id, address=PICKUP_ADDRESS, contents="书", window_start=now,
                            window_end=now + timedelta(hours=3), status=PickupStatus.PICKED_UP))
    escalation = Escalation(chat_id=chat_id, customer_id=customer.id, reason="request_human",
                            status=EscalationStatus.RESOLVED, summary=f"“{SAID}”", customer_name=NAME,
                            announce_chat_id=-100123, announce_message_id=77, created_at=now, updated_at=now,
                            resolved_at=now)
    session.add(escalation)
    session.flush()
    session.add_all([
        EscalationEvent(escalation_id=escalation.id, kind=EscalationEventKind.CUSTOMER_MESSAGE, content_kind="text",
                        body=SAID, source_chat_id=chat_id, source_message_id=5, created_at=now),
        EscalationEvent(escalation_id=escalation.id, kind=EscalationEventKind.NOTE, body=AGENT_NOTE, created_at=now),
        EscalationEvent(escalation_id=escalation.id, kind=EscalationEventKind.CUSTOMER_MESSAGE, content_kind="photo",
                        file_id=PHOTO, created_at=now),
    ])
    # The other customer's escalation, from another chat, stays.
    session.add(Escalation(chat_id=chat_id + 1, customer_id=other.id, reason="request_human",
                           status=EscalationStatus.RESOLVED, summary="“where is my parcel”", customer_name="王大力",
                           created_at=now, updated_at=now, resolved_at=now))
    session.add(Notice(shipment_id=sent.id, chat_id=chat_id, status=ShipmentStatus.DELIVERED,
                       audience=NoticeAudience.OWNER, created_at=now, due_at=now))
    session.add(NoticeSubscription(chat_id=chat_id, shipment_id=sent.id, active=True, created_at=now, updated_at=now))
    session.add(NoticeOptOut(chat_id=chat_id, created_at=now))
    session.add(AuditEntry(actor="agent", action="profile_view", subject_kind="customer", subject_id=str(customer.id),
                           details={"escalation_id": escalation.id}, created_at=now))
    session.flush()
    if rasa:
        sender = sender_id(chat_id)
        create_rasa_events(session)
        add_event(session, sender, "user", {"text": SAID, "metadata": {"chat_id": chat_id}})
        add_event(session, sender, "slot", {"name": "pickup_address", "value": PICKUP_ADDRESS})
        add_event(session, sender, "bot", {"text": f"好的，{NAME}"})
        add_event(session, sender_id(chat_id + 1), "user", {"text": "where is my parcel"})
    return Story(customer.id, chat_id, other.id)


def customer_of(session: Session, story: Story) -> Customer:
    """The story's customer row, fresh from the database."""
    customer = session.get(Customer, story.customer_id, populate_existing=True)
    assert customer is not None
    return customer
