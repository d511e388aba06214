"""The tag buttons offered after resolving come from domain.yml's intents and fit Telegram's limits."""

from __future__ import annotations

from bot.staffdesk import TAGS_PER_ROW, tag_keyboard
from bot.staffspeech import valid_intents

# Telegram refuses callback data over 64 bytes.
CALLBACK_LIMIT = 64


def test_tag_keyboard_offers_every_valid_intent() -> None:
    """One button per valid intent, in rows of TAGS_PER_ROW, each carrying "tag:<id>:<intent>"."""
    rows = tag_keyboard(1234567).inline_keyboard
    buttons = [button for row in rows for button in row]
    assert [button.text for button in buttons] == list(valid_intents())
    assert all(len(row) <= TAGS_PER_ROW for row in rows)
    for button in buttons:
        assert button.callback_data == f"tag:1234567:{button.text}"
        assert len(str(button.callback_data).encode()) <= CALLBACK_LIMIT


def test_valid_intents_are_labels() -> None:
    """Tags are training labels: faq by its sub-intents, never the fallback."""
    intents = valid_intents()
    assert "complain_delay" in intents and "complain_damage" in intents
    assert "faq" not in intents and any(name.startswith("faq/") for name in intents)
    assert "nlu_fallback" not in intents
