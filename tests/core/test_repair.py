"""Repair phrases are recognised deterministically, and only when the whole message is a repair."""

from __future__ import annotations

import pytest

from core.repair import Repair, is_cancel, leaves_queue, normalise, repair_of

CANCELS = ["取消", "算了吧，谢谢", "不用了", "不要了", "退出", "我不想弄了", "算了 不投诉了", "cancel", "Forget it!",
           "never mind 🙏", "no thanks", "I want to cancel", "Stop.", "nvm", "ＣＡＮＣＥＬ", "取消 cancel"]
CORRECTIONS = ["改一下", "写错了", "不对不对", "that's wrong", "I made a mistake", "let me correct that", "oops, wrong"]
BACKS = ["返回", "上一步", "go back"]
REQUESTS = ["no", "no photo", "我要投诉", "改地址", "hello?", "我的快递取消了吗", "wrong parcel delivered",
            "cancel my delivery change and send it to my office", "XJ202611150013", "4", "明天送", ""]


@pytest.mark.parametrize("message", CANCELS)
def test_cancel_phrases(message: str) -> None:
    """Every way of saying cancel, with filler and punctuation, is a cancel."""
    assert repair_of(message) is Repair.CANCEL and is_cancel(message)


@pytest.mark.parametrize("message", CORRECTIONS)
def test_correction_phrases(message: str) -> None:
    """"That's wrong" and its Chinese forms ask to correct the last answer."""
    assert repair_of(message) is Repair.CORRECT


@pytest.mark.parametrize("message", BACKS)
def test_back_phrases(message: str) -> None:
    """"Back" steps back one question."""
    assert repair_of(message) is Repair.BACK


@pytest.mark.parametrize("message", REQUESTS)
def test_requests_and_answers_are_not_repairs(message: str) -> None:
    """A plain "no", an answer or a request that merely contains a repair word is left to the form and model."""
    assert repair_of(message) is None and not is_cancel(message)


LEAVES = ["不用了，取消转人工", "不需要人工了", "never mind the agent", "I don't need an agent", "问题解决了", "cancel"]


@pytest.mark.parametrize("message", LEAVES)
def test_leaving_the_queue(message: str) -> None:
    """A queued customer can withdraw in words that name the agent, or with any cancel phrase."""
    assert leaves_queue(message)


@pytest.mark.parametrize("message", ["hello?", "我的快递到哪了", "还要等多久", "where is my agent"])
def test_staying_in_the_queue(message: str) -> None:
    """Questions and nudges while queued do not withdraw."""
    assert not leaves_queue(message)


def test_normalise_folds_width_case_and_symbols() -> None:
    """Full-width letters, case, spaces, punctuation and emoji do not matter."""
    assert normalise("  Ｆｏｒｇｅｔ  it!! 🙏") == "forgetit"
