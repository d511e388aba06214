"""The record of processing: every table of the customer database, the personal data it holds and what becomes of it.

tests/privacy/test_inventory.py fails when a table is added without an entry here: a new table holding
personal data must be handled by erasure (erasure.py), export (export.py) and retention (retention.py) — or
say here why it need not be.
"""

from __future__ import annotations

TABLES: dict[str, str] = {
    "customers": "name, contact person, phones, e-mail, address, notes, Telegram id: blanked on erasure "
    "(row kept for accounting); exported",
    "shipments": "sender and recipient names, phones, addresses: the erased customer's side blanked (finished "
    "parcels only, unless forced); exported (their side only)",
    "tracking_events": "no customer data (hub places, scan notes, the courier's name)",
    "complaints": "description, photo, resolution, chat: blanked on erasure and after the case period; "
    "category, status, dates kept for statistics; exported",
    "complaint_events": "desk notes and messages, photos: blanked on erasure and after the case period",
    "desk_inputs": "a staff member's draft in progress: deleted on erasure",
    "feedback": "comment, chat: cleared on erasure and after the case period; rating kept; exported",
    "staff": "staff, not customers (their own names and Telegram ids)",
    "escalations": "summary, customer name, chat: deleted on erasure; summary and name cleared after the case "
    "period; exported",
    "escalation_events": "relayed messages, notes, photos: deleted on erasure; cleared after the case period; "
    "exported (messages)",
    "audit_entries": "ids and staff names, no customer data (a chat id as subject is replaced on erasure); deleted "
    "after the audit period",
    "chats": "a Telegram chat and its language: deleted on erasure; exported",
    "chat_messages": "texts, entities, chat and user ids: cleared on erasure; texts deleted (labelled ones "
    "masked) after the chat period; exported",
    "training_labels": "an intent for a logged message: deleted with the message's erasure",
    "model_versions": "no customer data",
    "pickup_orders": "address, contents, chat, user: blanked on erasure and after the case period; exported",
    "report_runs": "no customer data (which report was sent for which period)",
    "notices": "a parcel notice to a chat: deleted on erasure",
    "notice_subscriptions": "a chat's 'Notify me' for a parcel: deleted on erasure",
    "notice_opt_outs": "a chat that asked for no notices: kept on erasure (the customer's own wish)",
    "outbox_messages": "messages to a chat Telegram did not take (texts, keyboards): deleted on erasure; given-up "
    "ones deleted after the chat period; exported",
    "alembic_version": "no customer data",
    # Rasa's, not ours (crm/schema.py RASA_TABLES): created by Rasa's SQL tracker store in our database.
    "events": "Rasa's conversation events (the customer's texts, slots, the bot's replies): deleted on erasure "
    "and after the chat period; exported (texts and slots)",
}
