"""The message log: every update persisted once, redeliveries recognised."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import chatlog
from crm.chats import fix_language, reply_language
from crm.models import ChatMessage, Direction


def test_inbound_update_is_logged_once_and_redelivery_skipped_after_handling(session: Session) -> None:
    """The same update_id twice: the second is recognised; after handling it is not handled again."""
    first = chatlog.record_inbound(
        session, bot_id=42, update_id=1001, chat_id=7, telegram_user_id=7, kind="text", text="hi"
    )
    assert first.needs_handling
    again = chatlog.record_inbound(
        session, bot_id=42, update_id=1001, chat_id=7, telegram_user_id=7, kind="text", text="hi"
    )
    assert again.message_id == first.message_id
    assert again.needs_handling  # not yet answered: a crash before answering must not lose it
    chatlog.record_understanding(session, first.message_id, intent="greet", confidence=0.98, language="en")
    assert chatlog.record_inbound(
        session, bot_id=42, update_id=1001, chat_id=7, telegram_user_id=7, kind="text", text="hi"
    ).needs_handling
    chatlog.mark_handled(session, first.message_id)
    third = chatlog.record_inbound(
        session, bot_id=42, update_id=1001, chat_id=7, telegram_user_id=7, kind="text", text="hi"
    )
    assert not third.needs_handling
    rows = session.scalars(select(ChatMessage).where(ChatMessage.update_id == 1001)).all()
    assert len(rows) == 1
    other_bot = chatlog.record_inbound(
        session, bot_id=43, update_id=1001, chat_id=7, telegram_user_id=7, kind="text", text="hi"
    )
    assert other_bot.needs_handling and other_bot.message_id != first.message_id
    assert rows[0].intent == "greet" and rows[0].handled


def test_outbound_and_history_in_order(session: Session) -> None:
    """History returns a chat's messages oldest first, both directions."""
    chatlog.record_inbound(session, bot_id=42, update_id=2001, chat_id=8, telegram_user_id=8, kind="text", text="where")
    chatlog.record_outbound(session, chat_id=8, text="here")
    history = chatlog.history(session, 8)
    assert [(m.direction, m.text) for m in history] == [(Direction.INBOUND, "where"), (Direction.OUTBOUND, "here")]


def test_reply_language_follows_latest_message_unless_fixed(session: Session) -> None:
    """Detected language wins, then the pinned one overrides; unknown falls back to the last known."""
    assert reply_language(session, 9, "en") == "en"
    assert reply_language(session, 9, None) == "en"
    assert reply_language(session, 9, "zh") == "zh"
    fix_language(session, 9, "en")
    assert reply_language(session, 9, "zh") == "en"
    fix_language(session, 9, None)
    assert reply_language(session, 9, "zh") == "zh"
