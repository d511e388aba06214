"""Start the real system for end-to-end tests: Rasa, action server, Telegram sandbox and bot as processes."""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core.clock import CLOCK_FILE_ENV
from core.settings import Settings
from parceldesk.processes import (
    Service,
    Supervisor,
    action_server_service,
    bot_service,
    sandbox_service,
)
from tests.databases import TestDatabase

# The staff group of every test stack (group chat ids are negative).
STAFF_CHAT_ID = -1001000000001

T = TypeVar("T")

_user_ids = itertools.count(random.randint(10_000_000, 90_000_000))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def new_user_id() -> int:
    """A Telegram user id no other test uses (Rasa keeps every conversation in the test database)."""
    return next(_user_ids)


@contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers (a hung Rasa)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@dataclass
class RasaServer:
    """The session's Rasa server for one test database: its settings, its supervised process."""

    settings: Settings
    supervisor: Supervisor
    service: Service

    @property
    def url(self) -> str:
        """Where Rasa answers."""
        return self.settings.effective_rasa_url

    def crash_and_restart(self) -> None:
        """SIGKILL Rasa's whole process group (a crash: nothing flushed, nothing closed), then start it again with
        the same command and environment, as `parceldesk run`'s supervisor does; returns once it is healthy."""
        process = self.service.process
        assert process is not None and process.poll() is None, "Rasa is not running"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.supervisor.restart(self.service)


@dataclass
class Stack:
    """A running bot with its sandbox and action server, against one test database."""

    settings: Settings
    database: TestDatabase
    supervisor: Supervisor
    log_dir: Path

    @property
    def sandbox_url(self) -> str:
        """Root URL of this stack's sandbox."""
        return self.settings.sandbox_url

    def service(self, name: str) -> Service:
        """A running service by name."""
        return next(s for s in self.supervisor.services if s.name == name)

    def stop_bot(self) -> None:
        """Stop the bot process (SIGTERM, as a deployment would)."""
        self.supervisor.stop(self.service("bot"))
        self.supervisor.services = [s for s in self.supervisor.services if s.name != "bot"]

    def start_bot(self) -> None:
        """Start a fresh bot process against the same database and sandbox."""
        self.supervisor.start(bot_service(self.settings, self.log_dir))

    def restart_action_server(self) -> None:
        """Start the action server again after a test stopped it."""
        self.supervisor.services = [s for s in self.supervisor.services if s.name != "actions"]
        self.supervisor.start(action_server_service(self.settings, self.log_dir))


def stack_settings(database: TestDatabase, *, rasa_url: str, action_port: int, **overrides: object) -> Settings:
    """Settings for a test stack: its own sandbox port, the given Rasa (usually the database's own), the database."""
    values: dict[str, object] = {
        "database_url": database.url,
        "database_schema": database.schema,
        "sandbox_port": free_port(),
        "action_port": action_port,
        "rasa_url": rasa_url,
        "telegram_bot_token": None,
        "rasa_timeout_seconds": 8.0,
        # The human queue: a staff group, jobs every second, always staffed (tests must not depend on the
        # hour they run at; the after-hours path has its own tests), the shared test clock.
        "staff_chat_id": STAFF_CHAT_ID,
        "handoff_job_interval_seconds": 1.0,
        "staffed_hours": "00:00-24:00",
        "clock_file": os.environ.get(CLOCK_FILE_ENV) or None,
        # Proactive care: notices go out at once whatever the hour (quiet hours have their own tests, tests/bot).
        "quiet_hours": "off",
        "notice_job_interval_seconds": 1.0,
        # The sandbox is not Telegram: the staff group may take more than Telegram's 20 messages a minute.
        "telegram_group_messages_per_minute": 6000.0,
        # The outbox retries quickly, so a test's injected Telegram failures are over in seconds.
        "outbox_retry_seconds": 0.5,
        "outbox_max_retry_seconds": 2.0,
        # Each stack (and each bot it starts) spools to its own directory, never the project's .data/.
        "spool_dir": Path(tempfile.mkdtemp(prefix="parceldesk-spool-")),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def start_stack(settings: Settings, database: TestDatabase, log_dir: Path, *, with_actions: bool = True) -> Stack:
    """Start (action server), sandbox and bot; the caller stops them with stack.supervisor.stop_all()."""
    supervisor = Supervisor()
    stack = Stack(settings, database, supervisor, log_dir)
    try:
        if with_actions:
            supervisor.start(action_server_service(settings, log_dir))
        supervisor.start(sandbox_service(settings, log_dir))
        supervisor.start(bot_service(settings, log_dir))
    except Exception:
        supervisor.stop_all()
        raise
    return stack


def eventually(check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.2) -> T:
    """Retry a check until it passes (the bot writes its log just after Telegram accepted a message)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)
