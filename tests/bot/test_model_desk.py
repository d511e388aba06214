"""/retrain and /rollback refusals through the real bot and the Telegram sandbox, with a real database.

No training here (tests/e2e/test_retrain_chat.py trains, gates, promotes and rolls back): who may ask, what an
empty registry answers, and a retrain refused while another holds the lock — here the command line's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from bot.modeldesk import when
from bot.texts import command_menu, text
from core.settings import Settings
from learning.runlock import Holder, exclusive, lock_path
from tests.bot.test_review_desk import STAFF, Desk, desk, desk_db, reply

__all__ = ["desk", "desk_db"]  # the bot and its database, shared with the /review tests' fixtures


async def test_only_admins_may_retrain_or_roll_back(desk: Desk) -> None:
    """An agent is refused in both languages, a customer gets the unknown-command answer; /help lists them."""
    outsider = random.randint(3 * 10**8, 4 * 10**8)
    for command in ("/retrain", "/rollback"):
        refused = await reply(desk, desk.alice, command)
        assert "只有管理员" in refused["text"] and "only admins" in refused["text"]
        unknown = text("unknown_command", "zh", commands=command_menu("zh"))
        assert (await reply(desk, outsider, command))["text"] == unknown
    sent = await desk.sandbox.send_text(desk.ada, "/help")
    helped = await desk.sandbox.wait_for_bot_messages(desk.ada, after_message_id=sent["message_id"], count=3,
                                                      timeout=20)
    assert [m["text"] for m in helped[1:]] == [text("staff_help", STAFF), text("staff_help_admin", STAFF)]
    sent = await desk.sandbox.send_text(desk.alice, "/help")
    agent_help = await desk.sandbox.wait_for_bot_messages(desk.alice, after_message_id=sent["message_id"], count=2,
                                                          timeout=20)
    assert agent_help[1]["text"] == text("staff_help", STAFF) and "/retrain" not in agent_help[1]["text"]


async def test_rollback_with_an_empty_registry_says_so(desk: Desk) -> None:
    """Nothing was ever promoted: /rollback explains, offers no buttons."""
    answer = await reply(desk, desk.ada, "/rollback")
    assert answer["text"] == text("model_refused_nothing_live", STAFF) and not answer.get("reply_markup")


async def test_a_retrain_is_refused_while_the_command_line_runs_one(desk: Desk) -> None:
    """The chat and `parceldesk learn retrain` share the lock: Ada is told who runs and since when."""
    settings = Settings(database_url=desk.database.url, database_schema=desk.database.schema)
    holder = Holder("command line (tester)", datetime(2026, 12, 1, 9, 30, tzinfo=UTC), 4321)
    with exclusive(lock_path(settings), holder):
        busy = await reply(desk, desk.ada, "/retrain")
    assert busy["text"] == text("model_busy", STAFF, actor=holder.actor, started=when(holder.started_at))
    assert not await desk.sandbox.bot_messages(desk.ada, after_message_id=busy["message_id"]), "no run started"
