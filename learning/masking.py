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

from crm.waybills import candidate_spans

MOBILE_PLACEHOLDER = "13812345678"
LANDLINE_PLACEHOLDER = "021-12345678"
INTERNATIONAL_PLACEHOLDER = "+1 2025550123"
EMAIL_PLACEHOLDER = "name@example.com"
ZH_ADDRESS_PLACEHOLDER = "幸福路1号"
ZH_BUILDING_PLACEHOLDER = "1号楼101室"
EN_ADDRESS_PLACEHOLDER = "1 Example Road"
EN_ROOM_PLACEHOLDER = "Room 101"

_MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?P<prefix>(?:\+|00)?86[\s\-]?)?1[3-9][0-9](?:[\s\-]?[0-9]){8}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])\(?0[0-9]{2,3}\)?[\s\-]?[0-9]{7,8}(?![0-9])")
_INTERNATIONAL = re.compile(r"(?<![0-9A-Za-z])\+[0-9]{1,3}(?:[\s\-]?[0-9]){6,14}(?![0-9])")
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{8,}[Xx]?(?![0-9A-Za-z])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")

# Chinese characters that end the words before an address ("送到", "改成", "住在"): a road name never
# starts with them, so "请送到建国路88号" keeps "请送到".
_STOP = "到在送寄改成往是为址去至的从把我你他她家地请帮给和跟向于了吗呢吧啊放住搬收取发：:，,。 "
_NAME = rf"(?:(?![{_STOP}])[\u4e00-\u9fff])"
_DIGITS = r"[0-9一二三四五六七八九十百]+"
_DIVISION = rf"(?:{_NAME}{{1,8}}?(?:自治区|省|市|区|县|镇|乡|街道))"
_EXTRA = (
    rf"(?:\s*(?:{_DIGITS}\s*(?:号楼|栋|幢|座|单元|楼|层|室|号|[Ff])"
    rf"|{_NAME}{{2,8}}?(?:小区|花园|大厦|公寓|广场|新村|家园|苑)))*"
)
_ZH_ADDRESS = re.compile(
    rf"{_DIVISION}*{_NAME}{{1,6}}?(?:大道|路|街|巷|胡同|弄)\s*[0-9]+\s*(?:号|號){_EXTRA}"
)
_ZH_BUILDING = re.compile(
    rf"(?:{_NAME}{{2,8}}?(?:小区|花园|大厦|公寓|新村|家园|苑))?\s*{_DIGITS}\s*(?:号楼|栋|幢|座)"
    rf"(?:\s*{_DIGITS}\s*(?:单元|层|楼|室|号))*"
)
_EN_WORD = r"(?!(?:the|a|an|my|your|our|on|in|at|of|to|for|and|is|was|parcels?|packages?)\b)[A-Za-z]+\.?"
_EN_ADDRESS = re.compile(
    rf"(?<![0-9A-Za-z])[0-9]+[A-Za-z]?,?\s+(?:{_EN_WORD}\s+){{1,4}}"
    r"(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|drive|dr|way|lu|jie|dadao)\b\.?",
    re.IGNORECASE,
)
_EN_ROOM = re.compile(r"\b(?:room|rm|apt|apartment|unit|flat|suite)\.?\s*#?\s*[0-9]+[A-Za-z]?\b", re.IGNORECASE)


_FULL_WIDTH = {
    code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
}


def _mobile(match: re.Match[str]) -> str:
    """A fake mobile number, keeping the country-code prefix if the customer wrote one."""
    return f"+86 {MOBILE_PLACEHOLDER}" if match.group("prefix") else MOBILE_PLACEHOLDER


# Order matters: e-mails before numbers (digits inside them), addresses before bare long numbers.
_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, EMAIL_PLACEHOLDER),
    (_MOBILE, _mobile),
    (_INTERNATIONAL, INTERNATIONAL_PLACEHOLDER),
    (_LANDLINE, LANDLINE_PLACEHOLDER),
    (_ZH_ADDRESS, ZH_ADDRESS_PLACEHOLDER),
    (_ZH_BUILDING, ZH_BUILDING_PLACEHOLDER),
    (_EN_ADDRESS, EN_ADDRESS_PLACEHOLDER),
    (_EN_ROOM, EN_ROOM_PLACEHOLDER),
    (_LONG_NUMBER, "12345678"),
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
