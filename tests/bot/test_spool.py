"""The spool keeps updates on disk while the database is down, in order, across a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from telegram import Chat, Message, Update, User

from bot.spool import Spool


def text_update(update_id: int, chat_id: int, body: str = "hi") -> Update:
    """A private text message update."""
    user = User(id=chat_id, first_name="Test", is_bot=False)
    chat = Chat(id=chat_id, type="private")
    message = Message(message_id=update_id, date=datetime.now(UTC), chat=chat, from_user=user, text=body)
    return Update(update_id=update_id, message=message)


def test_spooled_updates_survive_a_restart_in_order(tmp_path: Path) -> None:
    """Updates written by one bot process are read back by the next, oldest first, text intact."""
    spool = Spool(tmp_path)
    for update_id, body in ((12, "第三"), (10, "first"), (11, "second")):
        spool.put(text_update(update_id, 7, body))
    again = Spool(tmp_path)
    assert len(again) == 3
    assert again.holds(text_update(13, 7))  # the chat is known again after the restart
    assert [(update_id, data["message"]["text"]) for update_id, data in again.waiting()] == [
        (10, "first"), (11, "second"), (12, "第三"),
    ]


def test_a_chat_with_spooled_updates_holds_its_later_ones(tmp_path: Path) -> None:
    """A new update of a chat with spooled ones must wait behind them; other chats go ahead."""
    spool = Spool(tmp_path)
    spool.put(text_update(1, 7))
    assert spool.holds(text_update(2, 7))
    assert not spool.holds(text_update(3, 8))
    spool.done(1)
    assert not spool.holds(text_update(2, 7))
    assert list(tmp_path.glob("*.json")) == []


def test_replaying_updates_are_not_sent_twice(tmp_path: Path) -> None:
    """While an update is being replayed it is not offered again; released, it is."""
    spool = Spool(tmp_path)
    spool.put(text_update(5, 7))
    spool.replaying.add(5)
    assert spool.waiting() == []
    spool.release(5)
    assert [update_id for update_id, _ in spool.waiting()] == [5]


def test_an_unreadable_file_is_set_aside_not_lost(tmp_path: Path) -> None:
    """A torn or foreign file does not stop the spool: it is renamed .bad for a person to look at."""
    (tmp_path / "000000000000009.json").write_text("{not json")
    spool = Spool(tmp_path)
    assert len(spool) == 0
    assert (tmp_path / "000000000000009.bad").exists()
