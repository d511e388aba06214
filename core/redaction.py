"""What personal data and secrets look like in free text, and how log lines are scrubbed of them.

The patterns are shared: log redaction (core.logs) replaces matches with markers like `<phone>`, the learning
loop's masking (learning.masking) with well-formed fake values. Limits are listed in learning/masking.py:
numbers, e-mails and addresses with a house number are found; names of people and companies are not.

Log lines may carry JSON written with `ensure_ascii` (Rasa logs events and trackers that way): a Chinese address is
then `\\u5357\\u4eac\\u897f\\u8def1266\\u53f7`, and a phone number right after an escaped character
(`\\u8bdd13912345678`) follows a hex digit, which the number patterns take for part of a longer token. `redact`
decodes such escapes before matching, and writes the line back escaped when it was plain ASCII before.
"""

from __future__ import annotations

import re

# --- personal data --------------------------------------------------------------------------------------------

MOBILE = re.compile(r"(?<![0-9A-Za-z+])(?P<prefix>(?:\+|00)?86[\s\-]?)?1[3-9][0-9](?:[\s\-]?[0-9]){8}(?![0-9])")
LANDLINE = re.compile(r"(?<![0-9A-Za-z])\(?0[0-9]{2,3}\)?[\s\-]?[0-9]{7,8}(?![0-9])")
INTERNATIONAL = re.compile(r"(?<![0-9A-Za-z])\+[0-9]{1,3}(?:[\s\-]?[0-9]){6,14}(?![0-9])")
LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{8,}[Xx]?(?![0-9A-Za-z])")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")

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
# A lane between road and house number is the Shanghai way ("幸福路88弄3号").
ZH_ADDRESS = re.compile(
    rf"{_DIVISION}*{_NAME}{{1,6}}?(?:大道|路|街|巷|胡同|弄)\s*[0-9]+\s*(?:弄\s*[0-9]+\s*)?(?:号|號){_EXTRA}"
)
ZH_BUILDING = re.compile(
    rf"(?:{_NAME}{{2,8}}?(?:小区|花园|大厦|公寓|新村|家园|苑))?\s*{_DIGITS}\s*(?:号楼|栋|幢|座)"
    rf"(?:\s*{_DIGITS}\s*(?:单元|层|楼|室|号))*"
)
_EN_WORD = r"(?!(?:the|a|an|my|your|our|on|in|at|of|to|for|and|is|was|parcels?|packages?)\b)[A-Za-z]+\.?"
EN_ADDRESS = re.compile(
    rf"(?<![0-9A-Za-z])[0-9]+[A-Za-z]?,?\s+(?:{_EN_WORD}\s+){{1,4}}"
    r"(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|drive|dr|way|lu|jie|dadao)\b\.?",
    re.IGNORECASE,
)
EN_ROOM = re.compile(r"\b(?:room|rm|apt|apartment|unit|flat|suite)\.?\s*#?\s*[0-9]+[A-Za-z]?\b", re.IGNORECASE)

# --- secrets --------------------------------------------------------------------------------------------------

# A Telegram bot token: the bot's numeric id, a colon, 30-odd URL-safe characters (the sandbox's fake one too).
BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,}:[A-Za-z0-9_-]{20,}")
# Credentials inside a URL (postgresql+psycopg://user:password@host/db): the password goes.
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]+:)[^\s@'\"]+(?=@)")
# Secrets passed as URL query parameters or key=value pairs (Rasa's ?token=…, secret_token=…, password=…).
KEY_VALUE_SECRET = re.compile(
    r"(?P<head>\b(?:token|auth_token|secret|secret_token|password|api_key)=)[^\s&'\",;]+", re.IGNORECASE
)
# The same as an HTTP header (Authorization: Bearer …, X-Telegram-Bot-Api-Secret-Token: …).
HEADER_SECRET = re.compile(
    r"(?P<head>\b(?:authorization|x-telegram-bot-api-secret-token|x-[a-z-]*token)['\"]?\s*[:=]\s*['\"]?"
    r"(?:bearer\s+)?)[^\s'\",;]+",
    re.IGNORECASE,
)

# Log redaction, in order: secrets first (a token holds digits that look like a phone), then personal data.
# Long bare numbers are left alone here: chat, update and escalation ids are what make a log useful.
_LOG_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (BOT_TOKEN, "<token>"),
    (URL_PASSWORD, r"\g<head><secret>"),
    (KEY_VALUE_SECRET, r"\g<head><secret>"),
    (HEADER_SECRET, r"\g<head><secret>"),
    (EMAIL, "<email>"),
    (MOBILE, "<phone>"),
    (INTERNATIONAL, "<phone>"),
    (LANDLINE, "<phone>"),
    (ZH_ADDRESS, "<address>"),
    (ZH_BUILDING, "<address>"),
    (EN_ADDRESS, "<address>"),
    (EN_ROOM, "<address>"),
)


# A JSON string escape of one UTF-16 code unit; `\\u5357` (an escaped backslash, then text) is decoded too, which
# can only make redaction find more.
JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def unescape_json(text: str) -> str:
    """The text with JSON \\uXXXX escapes (surrogate pairs included) turned back into their characters."""
    decoded = JSON_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    # Characters outside the BMP are escaped as surrogate pairs: join them (a lone surrogate becomes U+FFFD).
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def escape_non_ascii(text: str) -> str:
    """Every non-ASCII character as a JSON \\uXXXX escape (a surrogate pair beyond the BMP), as ensure_ascii does."""
    return "".join(char if char.isascii() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    """One character as JSON escapes of its UTF-16 code units."""
    units = char.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[at : at + 2], 'big'):04x}" for at in range(0, len(units), 2))


def _redact_plain(text: str) -> str:
    """Apply the log rules to text as it is."""
    for pattern, replacement in _LOG_RULES:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str) -> str:
    """A log line with secrets, phone numbers, e-mails and street addresses replaced by <markers>.

    JSON escapes are read as the characters they stand for; a line that was pure ASCII stays pure ASCII.
    """
    if "\\u" in text:
        decoded = unescape_json(text)
        if decoded != text:
            cleaned = _redact_plain(decoded)
            if cleaned != decoded:
                return escape_non_ascii(cleaned) if text.isascii() else cleaned
    return _redact_plain(text)
