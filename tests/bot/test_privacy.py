"""The bot's side of erasure: which words ask for it, and how long a confirmation button stays valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.privacy import CONFIRM_SECONDS, FORGET_WORDS, _fresh, confirm_keyboard
from bot.texts import COMMAND_DESCRIPTIONS, TEXTS
from core.clock import CLOCK_FILE_ENV, set_clock_offset, utcnow


@pytest.mark.parametrize("words", ["删除我的数据", "请删除我的个人信息。", "我想删除我的资料", "delete my data",
                                   "Please delete my personal data!", "I want to erase my data", "forget me"])
def test_asking_for_erasure_in_words(words: str) -> None:
    """The usual ways to ask, in Chinese and English, are recognised."""
    assert FORGET_WORDS.search(words)


@pytest.mark.parametrize("words", ["删除我的投诉", "怎么删除我的数据？还有我的包裹呢", "don't forget me",
                                   "delete my data and track XJ202611180042", "我的快递XJ202611180042到哪了"])
def test_other_texts_go_to_the_assistant(words: str) -> None:
    """Anything more than the request itself is left to Rasa (no erasure prompt by accident)."""
    assert not FORGET_WORDS.search(words)


def test_a_confirmation_is_valid_for_a_while_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Yes carries when it was offered; after CONFIRM_SECONDS (test clock moved on) it asks again."""
    clock = tmp_path / "clock"
    set_clock_offset(clock, 0)
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))
    keyboard = confirm_keyboard("zh", int(utcnow().timestamp()))
    yes = keyboard.inline_keyboard[0][0].callback_data
    assert isinstance(yes, str) and yes.startswith("forget:yes:") and len(yes.encode()) <= 64
    assert keyboard.inline_keyboard[1][0].callback_data == "forget:no"
    assert _fresh(yes)
    set_clock_offset(clock, CONFIRM_SECONDS + 5)
    assert not _fresh(yes)
    assert not _fresh("forget:yes:not-a-time")


def test_privacy_texts_exist_in_both_languages() -> None:
    """Every /forget text and the command's menu entry are in Chinese and English."""
    keys = [key for key in TEXTS if key.startswith("forget_")]
    assert len(keys) == 7
    for key in keys:
        assert TEXTS[key]["zh"] and TEXTS[key]["en"] and TEXTS[key]["zh"] != TEXTS[key]["en"]
    assert set(COMMAND_DESCRIPTIONS["forget"]) == {"zh", "en"}
