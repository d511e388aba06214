"""No personal data or secrets in logs: messages, arguments, tracebacks and SQL parameters are scrubbed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.db import make_engine
from core.logs import RedactingFilter, configure_logging, install_redaction, redact
from core.redaction import unescape_json
from core.settings import SANDBOX_TOKEN
from demo.company import SHOWCASE_PERSON_PHONE
from tests.e2e.logscan import scan

DEMO_ADDRESS = "上海市徐汇区幸福路88弄3号1202室"
REAL_LOOKING_TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRETS = (SHOWCASE_PERSON_PHONE, "13800138000", "138 0013 8000", DEMO_ADDRESS, SANDBOX_TOKEN, REAL_LOOKING_TOKEN,
           "wang.xiaoming@example.com", "s3cret-password")


def leaked(output: str) -> list[str]:
    """The secrets or personal data a log output still contains."""
    return [secret for secret in SECRETS if secret in output]


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    """A logger writing through a plain handler with the redacting filter into a buffer (with tracebacks)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.privacy.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)


def test_redact_masks_phones_addresses_emails_and_tokens() -> None:
    """Each kind is replaced by a marker; ids and parcel numbers stay readable."""
    line = (f"chat 20056585 said call {SHOWCASE_PERSON_PHONE} or 138 0013 8000, deliver to {DEMO_ADDRESS}, "
            f"mail wang.xiaoming@example.com, bot{REAL_LOOKING_TOKEN}/getMe, parcel XJ202611180042")
    cleaned = redact(line)
    assert leaked(cleaned) == []
    assert "<phone>" in cleaned and "<address>" in cleaned and "<email>" in cleaned and "<token>" in cleaned
    assert "chat 20056585" in cleaned and "XJ202611180042" in cleaned
    assert redact("postgresql+psycopg://desk:s3cret-password@db/desk") == "postgresql+psycopg://desk:<secret>@db/desk"
    assert redact("GET /tracker?token=abc123 401") == "GET /tracker?token=<secret> 401"


def test_arguments_and_tracebacks_are_scrubbed(captured: io.StringIO) -> None:
    """A message argument and an exception (with the data in its message and in a local's repr) are redacted."""
    logger = logging.getLogger("tests.privacy.logs")
    logger.info("customer %s at %s", SHOWCASE_PERSON_PHONE, DEMO_ADDRESS)
    try:
        raise ValueError(f"could not reach {SHOWCASE_PERSON_PHONE} with token {SANDBOX_TOKEN}")
    except ValueError:
        logger.exception("sending failed for %s", "wang.xiaoming@example.com")
    logger.warning("stack", stack_info=True, extra={"note": DEMO_ADDRESS})
    output = captured.getvalue()
    assert "Traceback (most recent call last)" in output and "ValueError: could not reach <phone>" in output
    assert leaked(output) == []


def test_sql_parameters_never_reach_the_log(tmp_path: Path, captured: io.StringIO) -> None:
    """SQLAlchemy's echo and its exceptions show no parameters (hide_parameters), and a traceback is scrubbed."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    sql_logger = logging.getLogger("sqlalchemy.engine.Engine")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactingFilter())
    sql_logger.addHandler(handler)
    sql_logger.setLevel(logging.INFO)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE people (phone TEXT UNIQUE, address TEXT)"))
            connection.execute(text("INSERT INTO people VALUES (:phone, :address)"),
                               {"phone": SHOWCASE_PERSON_PHONE, "address": DEMO_ADDRESS})
        with pytest.raises(IntegrityError) as duplicate, engine.begin() as connection:
            connection.execute(text("INSERT INTO people VALUES (:phone, :address)"),
                               {"phone": SHOWCASE_PERSON_PHONE, "address": DEMO_ADDRESS})
        assert "parameters hidden" in str(duplicate.value)
        logging.getLogger("tests.privacy.logs").error("insert failed", exc_info=duplicate.value)
    finally:
        sql_logger.removeHandler(handler)
        sql_logger.setLevel(logging.WARNING)
        engine.dispose()
    assert "INSERT INTO people" in buffer.getvalue()
    assert leaked(buffer.getvalue()) == [] and leaked(captured.getvalue()) == []
    assert "IntegrityError" in captured.getvalue()


def test_the_record_factory_scrubs_records_for_any_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """After install_redaction, a third-party handler without our filter (rasa-sdk's, Sanic's) gets clean records."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())  # restored afterwards
    install_redaction()
    install_redaction()  # idempotent: one layer only
    stream = io.StringIO()
    foreign = logging.StreamHandler(stream)
    logger = logging.getLogger("sanic.error.test")
    logger.addHandler(foreign)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"row {SHOWCASE_PERSON_PHONE} {DEMO_ADDRESS}")
        except RuntimeError:
            logger.exception("Exception occurred while handling uri: '/bot%s/getUpdates'", REAL_LOOKING_TOKEN)
    finally:
        logger.removeHandler(foreign)
    assert "RuntimeError: row <phone> <address>" in stream.getvalue()
    assert leaked(stream.getvalue()) == []


def test_configure_logging_writes_a_scrubbed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process's log file (configure_logging) holds no demo phone, address or token."""
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    log_file = tmp_path / "bot.log"
    try:
        configure_logging("INFO", log_file)
        logging.getLogger("bot.test").warning("chat 1 %s %s %s", SHOWCASE_PERSON_PHONE, DEMO_ADDRESS, SANDBOX_TOKEN)
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    content = log_file.read_text(encoding="utf-8")
    assert "chat 1 <phone> <address> <token>" in content and leaked(content) == []


def test_json_escaped_chinese_and_phones_are_redacted(tmp_path: Path) -> None:
    """Rasa logs JSON with ensure_ascii: an escaped address, and a phone right after an escaped character, are
    found; the line stays ASCII and valid JSON. The end-to-end log scan decodes escapes too, so it sees such leaks."""
    payload = json.dumps({"text": f"电话13800138000，送到{DEMO_ADDRESS}", "sender": "tg-20056585"})
    assert payload.isascii() and "13800138000" in payload and DEMO_ADDRESS not in payload
    cleaned = redact(f"Received user message {payload}")
    assert cleaned.isascii() and leaked(unescape_json(cleaned)) == [] and "13800138000" not in cleaned
    assert json.loads(cleaned.removeprefix("Received user message ")) == {
        "text": "电话<phone>，送到<address>", "sender": "tg-20056585"
    }
    assert redact("nothing here \\u4f60\\u597d") == "nothing here \\u4f60\\u597d"  # untouched when nothing is found
    log = tmp_path / "rasa.log"
    log.write_text(f"raw {payload}\nclean {cleaned}\n", encoding="utf-8")
    (found,) = scan(log)
    assert found.startswith("rasa.log:1:") and "phone" in found and "address" in found
