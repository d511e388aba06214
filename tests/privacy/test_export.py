"""Export (PIPL art. 45): one JSON document with everything held about a customer, itself audited."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.complaintdesk import view_ticket
from crm.models import AuditEntry, Complaint
from privacy.erasure import subject_for_customer
from privacy.export import PURPOSES, export_subject
from privacy.retention import RetentionPolicy
from tests.privacy.story import ADDRESS, COMPLAINT, FEEDBACK, NAME, PHONE, PICKUP_ADDRESS, SAID, tell_story


def test_export_holds_what_we_hold_and_is_audited(session: Session) -> None:
    """The customer record, parcels, complaint, feedback, pickup, agent conversation, chat log, Rasa's copy and
    who viewed the profile are in the document; the other party's data of a parcel is not; the export is audited."""
    story = tell_story(session)
    complaint = session.scalars(select(Complaint).where(Complaint.customer_id == story.customer_id)).first()
    assert complaint is not None
    view_ticket(session, complaint.id, None)  # the complaint card opened from the command line
    document = export_subject(session, subject_for_customer(session, story.customer_id), policy=RetentionPolicy())
    body = json.dumps(document, ensure_ascii=False)
    assert document["customer"]["name"] == NAME and document["customer"]["phone"] == PHONE
    assert document["customer"]["address"] == ADDRESS
    (sent,) = document["shipments"]["sent"]
    assert sent["sender_name"] == NAME and "recipient_name" not in sent  # the recipient is someone else
    assert [r["recipient_name"] for r in document["shipments"]["received"]] == [NAME]
    assert document["complaints"][0]["description"] == COMPLAINT and document["complaints"][0]["photo"] is True
    assert document["complaints"][0]["history"] == [
        {**document["complaints"][0]["history"][0], "what": "customer_words", "text": SAID, "amount_yuan": "50.00"}
    ]
    assert document["feedback"][0]["comment"] == FEEDBACK
    assert document["pickups"][0]["address"] == PICKUP_ADDRESS
    assert [m["text"] for m in document["escalations"][0]["messages"] if m["kind"] == "text"] == [SAID]
    assert [m["text"] for m in document["chat_messages"]][0] == SAID
    rasa = document["rasa_conversation"]
    assert [e["event"] for e in rasa] == ["user", "slot", "bot"] and rasa[0]["text"] == SAID
    assert rasa[1] == {**rasa[1], "name": "pickup_address", "value": PICKUP_ADDRESS}
    assert [(view["by"], view["what"]) for view in document["profile_views"]] == [
        ("agent", "profile"), ("command line", "complaint")
    ]
    assert document["purposes"] == PURPOSES and document["retention_days"]["chat_messages"] == 180
    assert "王大力" not in body  # the other customer, who sent a parcel to this one
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy_export")).one()
    assert entry.subject_id == str(story.customer_id) and NAME not in json.dumps(entry.details, ensure_ascii=False)
