"""Helpers shared by the actions: the conversation's language, who is talking, and reading the latest message."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker

from core.clock import local
from crm.chats import chat_of_sender
from crm.waybills import find_candidates

# A form starts with the customer's own words; with at least this much left after removing numbers
# they are taken as the description of what happened instead of asking again.
DESCRIPTIVE_CJK_CHARS = 8
DESCRIPTIVE_WORDS = 5
# When the message also names the parcel, a short statement is enough ("my parcel XJ… arrived broken").
BRIEF_CJK_CHARS = 5
BRIEF_WORDS = 4
CJK = re.compile(r"[\u3400-\u9fff]")
# Asking to complain or to give feedback says nothing yet about what happened: not counted.
REQUEST_WORDS = re.compile(
    r"我(?:要|想|想要|需要)?(?:投诉|投訴|反馈|反映|评价)|投诉一下|"
    r"\b(?:i\s+)?(?:want|would like|wanna|need|'d like)\s+to\s+(?:make\s+|file\s+|lodge\s+)?(?:a\s+)?"
    r"(?:complain(?:t)?|give feedback|leave (?:a )?(?:review|feedback))(?:\s+about)?\b|"
    r"\b(?:make|file|lodge)\s+a\s+complaint\b|\bcomplain(?:ing)?\s+about\b",
    re.IGNORECASE,
)
WORD = re.compile(r"[A-Za-z']+")
logger = logging.getLogger(__name__)

def conversation_ids(tracker: Tracker) -> tuple[int | None, int | None]:
    """The Telegram chat id of a conversation and the Telegram user who owns it; never from message metadata.

    The chat id comes from the Rasa conversation id (`tg-<chat id>`), which only the bot can choose: Rasa's API and
    the bot's channel need Rasa's token. Customers talk in private chats, where Telegram makes the chat id the user
    id, so that is the user; group chats have no single user. Metadata travels with the message and anyone able to
    post to Rasa can write anything there, so it decides nothing: ownership is then read from the identity link in
    the database (crm.identity.linked_customer) by this id.
    """
    chat_id = chat_of_sender(tracker.sender_id)
    user_id = chat_id if chat_id is not None and chat_id > 0 else None
    claimed = ((tracker.latest_message or {}).get("metadata") or {}).get("telegram_user_id")
    if claimed is not None and str(claimed) != str(user_id):
        logger.warning("conversation %s: metadata names user %s; ignored", tracker.sender_id, claimed)
    return chat_id, user_id


def language_of(tracker: Tracker) -> str:
    """The reply language the bot set for this conversation (zh or en)."""
    return "zh" if tracker.get_slot("language") == "zh" else "en"


def telegram_user(tracker: Tracker) -> int | None:
    """The Telegram user of the conversation (its private chat's id), whatever the message metadata says."""
    return conversation_ids(tracker)[1]


def chat_of(tracker: Tracker) -> int | None:
    """The Telegram chat id of the conversation."""
    return conversation_ids(tracker)[0]


def latest_text(tracker: Tracker) -> str:
    """The latest user message text ('' for none); button payloads start with '/'."""
    return str((tracker.latest_message or {}).get("text") or "").strip()


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the latest user message."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def is_payload(text: str) -> bool:
    """Whether a message is a button payload such as '/give_feedback{"rating": "4"}' rather than typed text."""
    return text.startswith("/")


def entity_value(tracker: Tracker, entity: str) -> str | None:
    """The latest message's value of an entity (button payloads carry them), or None."""
    values = list(tracker.get_latest_entity_values(entity))
    return str(values[-1]) if values else None


def without_numbers(text: str) -> str:
    """The text with tracking numbers removed (what is left says what happened)."""
    for candidate in find_candidates(text):
        text = text.replace(candidate.raw, " ")
    return text


def is_descriptive(text: str) -> bool:
    """Whether a message says what happened, beyond 'I want to complain' (enough Chinese or English words)."""
    if is_payload(text):
        return False
    rest = REQUEST_WORDS.sub(" ", without_numbers(text))
    cjk, words = len(CJK.findall(rest)), len(WORD.findall(rest))
    if find_candidates(text):
        return cjk >= BRIEF_CJK_CHARS or words >= BRIEF_WORDS
    return cjk >= DESCRIPTIVE_CJK_CHARS or words >= DESCRIPTIVE_WORDS


def local_time(moment: datetime | None) -> str:
    """A date and time in the company's time zone, as customers read it."""
    if moment is None:
        return "—"
    return local(moment).strftime("%Y-%m-%d %H:%M")


def button(title: str, payload: str) -> dict[str, Any]:
    """A Rasa button."""
    return {"title": title, "payload": payload}
