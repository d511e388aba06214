"""Which Telegram failures the outbox keeps, and keyboards surviving the trip through its JSON column."""

from __future__ import annotations

import json

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.outbox import markup_from_json, markup_to_json, permanent
from bot.rendering import contact_keyboard


def test_only_failures_that_may_pass_are_retried() -> None:
    """5xx/network errors, timeouts and 429s are kept; a blocked bot, an unknown chat or a bad token are not."""
    assert not permanent(NetworkError("Bad Gateway"))
    assert not permanent(TimedOut())
    assert not permanent(RetryAfter(5))
    assert permanent(Forbidden("Forbidden: bot was blocked by the user"))
    assert permanent(BadRequest("Bad Request: chat not found"))
    assert permanent(InvalidToken())


def test_keyboards_come_back_the_same_from_json() -> None:
    """Inline buttons, the share-contact keyboard and a keyboard removal are rebuilt as they were sent."""
    inline = InlineKeyboardMarkup([[InlineKeyboardButton("中文", callback_data="lang:zh"),
                                    InlineKeyboardButton("English", callback_data="lang:en")]])
    for markup in (inline, contact_keyboard("分享手机号"), ReplyKeyboardRemove()):
        stored = json.loads(json.dumps(markup_to_json(markup)))  # as the JSON column hands it back
        rebuilt = markup_from_json(stored)
        assert type(rebuilt) is type(markup) and rebuilt is not None and rebuilt.to_dict() == markup.to_dict()
    assert markup_to_json(None) is None and markup_from_json(None) is None
