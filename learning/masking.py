"""Mask personal data in customer texts before they leave the database (exports, review screens).

Phone numbers, e-mail addresses and street addresses are replaced by fake but well-formed stand-ins, so a
masked text still reads like something a customer would write (it becomes training data). Waybill numbers
and complaint / pickup codes are kept: they are not personal on their own and the model must learn them.

What is detected (and the limits, also in the README's "Learning loop" section):
- Chinese mobile numbers (with or without +86 / 0086, spaces or hyphens), landlines with an area code,
  international numbers written with "+", and any other run of 8 or more digits (ID cards, bank cards);
  dates written with separators ("2026-11-18") are left alone.
- Chinese street addresses that name a road and a house number ("浦东新区张江路100号3号楼1201室"), building
  and room numbers ("5栋2单元301室"), English ones with a house number and a street word ("88 Jianguo Road"),
  and "Room 1201" / "Apt 5B".
- NOT detected: addresses without a number ("我住在人民路", "near the station"), landmarks, names of people or
  companies. Those stay as typed; an admin sees the masked text before labelling it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# One definition of what personal data looks like, shared with log redaction.
from core.redaction import (
    EMAIL,
    EN_ADDRESS,
    EN_ROOM,
    INTERNATIONAL,
    LANDLINE,
    LONG_NUMBER,
    MOBILE,
    ZH_ADDRESS,
    ZH_BUILDING,
)
from crm.waybills import candidate_spans

MOBILE_PLACEHOLDER = "13812345678"
LANDLINE_PLACEHOLDER = "021-12345678"
INTERNATIONAL_PLACEHOLDER = "+1 2025550123"
EMAIL_PLACEHOLDER = "name@example.com"
ZH_ADDRESS_PLACEHOLDER = "幸福路1号"
ZH_BUILDING_PLACEHOLDER = "1号楼101室"
EN_ADDRESS_PLACEHOLDER = "1 Example Road"
EN_ROOM_PLACEHOLDER = "Room 101"

_FULL_WIDTH = {
    code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
}


def _mobile(match: re.Match[str]) -> str:
    """A fake mobile number, keeping the country-code prefix if the customer wrote one."""
    return f"+86 {MOBILE_PLACEHOLDER}" if match.group("prefix") else MOBILE_PLACEHOLDER


# Order matters: e-mails before numbers (digits inside them), addresses before bare long numbers.
_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (EMAIL, EMAIL_PLACEHOLDER),
    (MOBILE, _mobile),
    (INTERNATIONAL, INTERNATIONAL_PLACEHOLDER),
    (LANDLINE, LANDLINE_PLACEHOLDER),
    (ZH_ADDRESS, ZH_ADDRESS_PLACEHOLDER),
    (ZH_BUILDING, ZH_BUILDING_PLACEHOLDER),
    (EN_ADDRESS, EN_ADDRESS_PLACEHOLDER),
    (EN_ROOM, EN_ROOM_PLACEHOLDER),
    (LONG_NUMBER, "12345678"),
)


def _mask_segment(segment: str) -> str:
    """Apply the rules to a piece of text that holds no waybill number; earlier rules win overlaps."""
    # Matches are found on the original text and replaced once, so a placeholder is never masked again.
    taken: list[tuple[int, int, str]] = []
    for pattern, replacement in _RULES:
        for match in pattern.finditer(segment):
            start, end = match.span()
            if start == end or any(start < t_end and t_start < end for t_start, t_end, _ in taken):
                continue
            value = replacement if isinstance(replacement, str) else replacement(match)
            taken.append((start, end, value))
    parts: list[str] = []
    position = 0
    for start, end, value in sorted(taken):
        parts.append(segment[position:start])
        parts.append(value)
        position = end
    parts.append(segment[position:])
    return "".join(parts)


def mask_personal_data(text: str) -> str:
    """The text with phone numbers, e-mails and detectable addresses replaced; waybill numbers kept as typed."""
    # Full-width digits and letters ("１３８…") count as the ASCII ones customers meant; punctuation stays.
    text = text.translate(_FULL_WIDTH)
    parts: list[str] = []
    position = 0
    for start, end in candidate_spans(text):
        if start < position:
            continue  # overlapping candidates (an XJ number is also S10-shaped text): keep the first
        parts.append(_mask_segment(text[position:start]))
        parts.append(text[start:end])
        position = end
    parts.append(_mask_segment(text[position:]))
    return "".join(parts)
