"""Logging set-up: one format, tokens and personal data kept out of log files.

Redaction happens when a record is made (a log record factory), not only in our handlers, so records that
third-party code writes through its own handlers (rasa-sdk's, Sanic's) are scrubbed too. The formatted
message, the traceback (exc_info) and the stack are redacted; SQL parameters never reach a log in the first
place (core.db creates engines with hide_parameters=True), and if they did they would be scrubbed like any text.
This module and core/redaction.py use the standard library only: the Rasa process (engine/serve.py, in the
engine's own environment) installs the same redaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.redaction import redact

__all__ = ["RedactingFilter", "configure_logging", "install_redaction", "redact", "redact_record"]

_FORMATTER = logging.Formatter()


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub one record in place: its message (with arguments), traceback and stack; returns it."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: the logging module reports it later, with the raw text
        message = str(record.msg)
    cleaned = redact(message)
    if cleaned != message:
        # Arguments are dropped only when something was found: some formatters read record.args themselves.
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters print exc_text when it is set; the exception object itself is not kept for others to print.
        record.exc_text = redact(record.exc_text or _FORMATTER.formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """Scrubs every record passing a handler (for handlers in processes without the record factory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops one."""
        redact_record(record)
        return True


def install_redaction() -> None:
    """Make every log record of this process redacted at birth, whichever logger or handler writes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "parceldesk_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        """The previous factory's record, redacted."""
        return redact_record(previous(*args, **kwargs))

    marked: Callable[..., logging.LogRecord] = factory
    marked.parceldesk_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(marked)


def configure_logging(level: str = "INFO", file: Path | None = None) -> None:
    """Configure the root logger for a ParcelDesk process."""
    install_redaction()
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
