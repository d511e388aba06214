"""The tag buttons offered after resolving come from domain.yml's intents and fit Telegram's limits."""

from __future__ import annotations

import pytest

from bot.staffdesk import TAGS_PER_ROW, tag_keyboard
from bot.staffspeech import valid_intents
from bot.texts import INTENT_LABELS

# Telegram refuses callback data over 64 bytes.
CALLBACK_LIMIT = 64


def test_tag_keyboard_offers_every_valid_intent() -> None:
    """One button per valid intent, in rows of TAGS_PER_ROW, each carrying "tag:<id>:<intent>"."""
    rows = tag_keyboard(1234567, "en").inline_keyboard
    buttons = [button for row in rows for button in row]
    assert [str(button.callback_data).rsplit(":", 1)[1] for button in buttons] == list(valid_intents())
    assert all(len(row) <= TAGS_PER_ROW for row in rows)
    for button in buttons:
        assert str(button.callback_data).startswith("tag:1234567:")
        assert len(str(button.callback_data).encode()) <= CALLBACK_LIMIT


@pytest.mark.parametrize("language", ["zh", "en"])
def test_tag_buttons_read_as_words_not_intent_names(language: str) -> None:
    """Staff read "complaint: late", not "complain_delay": every intent has a label in both languages."""
    buttons = [button for row in tag_keyboard(1, language).inline_keyboard for button in row]
    assert {name for name in valid_intents() if name not in INTENT_LABELS} == set()
    for button in buttons:
        intent = str(button.callback_data).rsplit(":", 1)[1]
        assert button.text == INTENT_LABELS[intent][language] != intent


def test_valid_intents_are_labels() -> None:
    """Tags are training labels: faq by its sub-intents, never the fallback."""
    intents = valid_intents()
    assert "complain_delay" in intents and "complain_damage" in intents
    assert "faq" not in intents and any(name.startswith("faq/") for name in intents)
    assert "nlu_fallback" not in intents
