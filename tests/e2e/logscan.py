"""The end-to-end suite's log check: after the session, no process log holds a phone number, a demo address,
a demo e-mail or the bot token.

The patterns are written here on purpose, not taken from core.redaction: a check that used the redactor's own
patterns could only find what the redactor already removes. Lines are read twice: as written, and with JSON
`\\uXXXX` escapes decoded (Rasa logs JSON with ensure_ascii, so a Chinese address may stand there escaped).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.settings import SANDBOX_TOKEN
from demo.company import SHOWCASE_COMPANY_PHONE, SHOWCASE_PERSON_PHONE

# Chinese mobile numbers as customers and the demo write them: 13800138000, 138 0013 8000, +86-138-0013-8000.
MOBILE = re.compile(r"(?<![\d.])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![\d.])")
# A street and house number in Chinese ("幸福路88弄3号", "建国路100号"), as the demo generates them.
ZH_STREET = re.compile(r"[\u4e00-\u9fff]{1,8}(?:路|街|大道)\d+(?:弄\d+)?号")
# The demo company's e-mail addresses.
DEMO_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.example\.com|[\w.+-]+@example\.com")
# One UTF-16 code unit of a JSON string escape.
ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def needles() -> list[str]:
    """Literal values that must never be logged: the bot tokens and the showcase customers' numbers."""
    values = [SANDBOX_TOKEN, SHOWCASE_PERSON_PHONE, SHOWCASE_COMPANY_PHONE, SHOWCASE_PERSON_PHONE[3:],
              SHOWCASE_COMPANY_PHONE[3:]]
    real = os.environ.get("TELEGRAM_BOT_TOKEN")
    if real:
        values.append(real)
    return values


def decoded(line: str) -> str:
    """The line with JSON \\uXXXX escapes read as characters (surrogate pairs joined)."""
    text = ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), line)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def scan(logs: Path) -> list[str]:
    """'file:line: what' for every log line holding personal data or a token (logs: a folder or one file)."""
    found: list[str] = []
    literal = needles()
    paths = [logs] if logs.is_file() else sorted(p for p in logs.rglob("*") if p.is_file())
    for path in paths:
        name = path.name if path == logs else str(path.relative_to(logs))
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            what: list[str] = []
            for variant in dict.fromkeys((line, decoded(line))):
                what += [value for value in literal if value in variant]
                what += [f"{kind} {match.group(0)!r}" for kind, pattern in
                         (("phone", MOBILE), ("address", ZH_STREET), ("e-mail", DEMO_EMAIL))
                         for match in pattern.finditer(variant)]
            if what:
                found.append(f"{name}:{number}: {', '.join(dict.fromkeys(what))}")
    return found
