"""Feedback: validating and storing ratings, and reading a rating from what customers type."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from core.clock import as_utc
from crm.feedback import LOW_RATING, parse_rating, record_feedback
from crm.models import Feedback
from tests.crm.factories import make_customer

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", 4),
        ("4分", 4),
        ("４", 4),
        ("给4分吧", 4),
        ("4⭐", 4),
        ("four", 4),
        ("Five stars!", 5),
        ("四", 4),
        ("两分", 2),
        ("五星好评", 5),
        ("⭐⭐⭐", 3),
        ("★★★☆☆", 3),
        ("5/5", 5),
        ("５／５", 5),
        ("4 out of 5", 4),
        ("1", 1),
    ],
)
def test_parse_rating_understands_common_answers(text: str, expected: int) -> None:
    """Digits (full-width too), units, words in both languages, stars and 'x/5' give the rating."""
    assert parse_rating(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "0", "6", "10/10", "3.5", "1 2", "⭐⭐⭐⭐⭐⭐", "☆☆☆", "一般", "十分满意", "good", "I give it four",
     "XJ202611180042", None],
)
def test_parse_rating_refuses_unclear_answers(text: str | None) -> None:
    """Out of range, ambiguous or wordy answers are None (the caller asks again instead of guessing)."""
    assert parse_rating(text) is None


def test_record_feedback_links_the_customer(session: Session) -> None:
    """A linked caller's rating carries their customer; the comment is trimmed; the time is the given one."""
    customer = make_customer(session, "T300001", "+8613900000201", telegram_user_id=7201)
    feedback = record_feedback(session, chat_id=7201, telegram_user_id=7201, rating=5, comment="  很快！ ",
                               language="zh", now=NOW)
    session.expire_all()
    stored = session.get(Feedback, feedback.id)
    assert stored is not None
    assert (stored.customer_id, stored.chat_id, stored.rating, stored.comment, stored.language) == (
        customer.id, 7201, 5, "很快！", "zh"
    )
    assert as_utc(stored.created_at) == NOW


def test_record_feedback_anonymous_and_empty_comment(session: Session) -> None:
    """Without a linked customer the rating is still kept; a blank comment is stored as none."""
    feedback = record_feedback(session, chat_id=7202, telegram_user_id=7202, rating=LOW_RATING, comment="   ",
                               language="en", now=NOW)
    assert feedback.customer_id is None and feedback.comment is None and feedback.rating == 2


@pytest.mark.parametrize("rating", [0, 6, -1, True])
def test_record_feedback_refuses_bad_ratings(session: Session, rating: int) -> None:
    """Ratings outside 1-5 (and booleans) are a ValueError; nothing is stored."""
    with pytest.raises(ValueError):
        record_feedback(session, chat_id=7203, telegram_user_id=None, rating=rating, comment=None, language="zh")
    assert session.query(Feedback).filter(Feedback.chat_id == 7203).count() == 0
