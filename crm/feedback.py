"""Customer feedback: a 1-5 rating with optional words, and reading a rating out of what people type."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy.orm import Session

from core.clock import utcnow
from crm.identity import linked_customer
from crm.models import Feedback

MIN_RATING = 1
MAX_RATING = 5
# A rating at or below this invites the customer to file a complaint or talk to a person.
LOW_RATING = 2

# Filled stars count; empty ones ("★★★☆☆") do not.
_STARS = ("⭐", "★", "🌟")
_ENGLISH = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_CHINESE = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5}
_UNIT = r"(?:分|颗星|顆星|星)"
_OUT_OF_FIVE = re.compile(r"(\d+)\s*(?:/|out\s+of|of)\s*5(?!\d)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ENGLISH_WORD = re.compile(r"^\W*(one|two|three|four|five)(?:\s+(?:stars?|points?))?\W*$")
# A Chinese numeral counts with a unit anywhere ("五星好评", "给四分"), or alone; not inside words like 一般.
_CHINESE_WITH_UNIT = re.compile(rf"([一二两兩三四五]){_UNIT}")
_CHINESE_ALONE = re.compile(r"^\W*([一二两兩三四五])\W*$")


def _in_range(value: int) -> int | None:
    """The value when it is a valid rating, else None."""
    return value if MIN_RATING <= value <= MAX_RATING else None


def parse_rating(text: str | None) -> int | None:
    """A 1-5 rating from a reply: '4', '4分', '４', 'four', '四', '五星好评', '⭐⭐⭐', '5/5'; None when unclear.

    Digits win over words; several different numbers, decimals and values outside 1-5 are unclear (the
    caller asks again rather than guess).
    """
    if not text:
        return None
    normalized = unicodedata.normalize("NFKC", text).strip().lower()
    if not normalized:
        return None
    has_digits = bool(re.search(r"\d", normalized))
    stars = sum(normalized.count(star) for star in _STARS)
    if stars and not has_digits:
        return _in_range(stars)
    out_of = _OUT_OF_FIVE.search(normalized)
    if out_of is not None:
        return _in_range(int(out_of.group(1)))
    numbers = _NUMBER.findall(normalized)
    if numbers:
        if len(set(numbers)) != 1 or "." in numbers[0]:
            return None
        return _in_range(int(numbers[0]))
    english = _ENGLISH_WORD.match(normalized)
    if english is not None:
        return _ENGLISH[english.group(1)]
    chinese = _CHINESE_WITH_UNIT.findall(normalized)
    if len(set(chinese)) == 1:
        return _CHINESE[chinese[0]]
    if chinese:
        return None
    alone = _CHINESE_ALONE.match(normalized)
    return _CHINESE[alone.group(1)] if alone is not None else None


def record_feedback(
    session: Session,
    *,
    chat_id: int | None,
    telegram_user_id: int | None,
    rating: int,
    comment: str | None,
    language: str,
    now: datetime | None = None,
) -> Feedback:
    """Store a rating (1-5, else ValueError) with an optional comment, linked to the caller's customer if any."""
    if isinstance(rating, bool) or not isinstance(rating, int) or _in_range(rating) is None:
        raise ValueError(f"a rating is a whole number from {MIN_RATING} to {MAX_RATING}")
    customer = linked_customer(session, telegram_user_id)
    text = comment.strip() if comment else ""
    feedback = Feedback(
        customer_id=customer.id if customer else None,
        chat_id=chat_id,
        rating=rating,
        comment=text or None,
        language=language,
        created_at=now or utcnow(),
    )
    session.add(feedback)
    session.flush()
    return feedback
