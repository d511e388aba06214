"""Telegram chats the bot knows, and the language each one speaks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.models import Chat

LANGUAGES = ("zh", "en")


def get_or_create_chat(session: Session, chat_id: int, *, kind: str = "private") -> Chat:
    """The chat row for a Telegram chat, created on first contact."""
    chat = session.get(Chat, chat_id)
    if chat is None:
        chat = Chat(id=chat_id, kind=kind)
        session.add(chat)
        session.flush()
    return chat


def fix_language(session: Session, chat_id: int, language: str | None) -> None:
    """Pin a chat to one language (None goes back to following the customer's writing)."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    get_or_create_chat(session, chat_id).language_fixed = language


def reply_language(session: Session, chat_id: int, detected: str | None, *, fallback: str | None = None) -> str:
    """The language to answer in: pinned, else the latest message's, else the last known, else fallback, else zh."""
    chat = get_or_create_chat(session, chat_id)
    if detected:
        chat.language_last = detected
    return chat.language_fixed or detected or chat.language_last or fallback or "zh"


# A Telegram chat's conversation id in Rasa: the bot sends it, the actions read the chat back from it.
SENDER_PREFIX = "tg-"


def sender_id(chat_id: int) -> str:
    """The Rasa conversation id of a Telegram chat."""
    return f"{SENDER_PREFIX}{chat_id}"


def chat_of_sender(sender: str) -> int | None:
    """The Telegram chat id a Rasa conversation id stands for (None for conversations not from Telegram)."""
    if not sender.startswith(SENDER_PREFIX):
        return None
    try:
        return int(sender.removeprefix(SENDER_PREFIX))
    except ValueError:
        return None
