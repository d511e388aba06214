"""Logging set-up: one format, tokens and personal data kept out of log files."""

from __future__ import annotations

import logging
import re
from pathlib import Path

# Phone numbers (Chinese mobiles with or without +86, and other international numbers).
_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)|\+\d[\d\s-]{8,}\d")
_BOT_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}")


def redact(message: str) -> str:
    """Mask phone numbers and bot tokens in a log line."""
    return _BOT_TOKEN.sub("<token>", _PHONE.sub("<phone>", message))


class RedactingFilter(logging.Filter):
    """Rewrites every record's message with personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the formatted message in place; never drops a record."""
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def configure_logging(level: str = "INFO", file: Path | None = None) -> None:
    """Configure the root logger for a ParcelDesk process."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    for handler in handlers:
        handler.addFilter(RedactingFilter())
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    # Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
