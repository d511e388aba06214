"""End to end: the database goes away while a customer writes; nothing is lost, every message is answered in order.

PostgreSQL is cut with a TCP proxy between the bot and the server (connections dropped, new ones refused);
SQLite is locked by another writer holding BEGIN IMMEDIATE. Only the bot's database is cut: Rasa's own
conversation store is elsewhere, and the messages used need no custom action.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.texts import TEXTS
from crm.models import ChatMessage, Direction
from sandbox.client import SandboxClient
from tests.databases import TestDatabase
from tests.e2e.harness import Stack, eventually, new_user_id, stack_settings, start_stack

# Answered by Rasa alone (responses, FAQ): the outage stack runs no action server.
TEXTS_SENT = ["thank you", "are you a bot?", "what are your opening hours", "how much does shipping cost", "bye"]


class Outage(Protocol):
    """A way to make the database unreachable for the bot and bring it back."""

    def cut(self) -> None:
        """Make the database unreachable."""

    def restore(self) -> None:
        """Make it reachable again."""

    def close(self) -> None:
        """Release everything."""


class TcpProxy:
    """A TCP proxy to PostgreSQL that can drop every connection and refuse new ones (a database outage)."""

    def __init__(self, host: str, port: int) -> None:
        """Listen on a free local port and forward to host:port."""
        self.target = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = int(self.server.getsockname()[1])
        self.accepting = True
        self.closed = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        """Accept clients; while cut, close them at once (the client sees the server go away)."""
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.accepting:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        """Copy bytes one way until either side closes."""
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.close()
            except OSError:
                pass

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.accepting = False
        with self.lock:
            for open_socket in self.sockets:
                try:
                    open_socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                open_socket.close()
            self.sockets.clear()

    def restore(self) -> None:
        """Accept connections again."""
        self.accepting = True

    def close(self) -> None:
        """Stop the proxy."""
        self.cut()
        self.closed = True
        self.server.close()


class SqliteLock:
    """Another writer holding SQLite's write lock (BEGIN IMMEDIATE): the bot's writers time out."""

    def __init__(self, path: str) -> None:
        """Open a connection of our own to the database file."""
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def cut(self) -> None:
        """Take the write lock and keep it."""
        self.connection.execute("BEGIN IMMEDIATE")

    def restore(self) -> None:
        """Let go of the lock."""
        self.connection.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection."""
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")
        self.connection.close()


@pytest.fixture()
def outage_stack(
    e2e_database: TestDatabase, rasa_url: str, action_port: int, logs_dir: Path
) -> Iterator[tuple[Stack, Outage]]:
    """A bot whose database can be cut: through a proxy (PostgreSQL) or by a lock (SQLite)."""
    outage: Outage
    overrides: dict[str, object] = {"sqlite_busy_timeout_seconds": 1.0, "spool_retry_seconds": 1.0}
    if e2e_database.backend == "postgresql":
        url = make_url(e2e_database.url)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        overrides["database_url"] = url.set(port=proxy.port).render_as_string(hide_password=False)
        outage = proxy
    else:
        outage = SqliteLock(str(make_url(e2e_database.url).database))
    settings = stack_settings(e2e_database, rasa_url=rasa_url, action_port=action_port, **overrides)
    running = start_stack(settings, e2e_database, logs_dir / f"outage-{e2e_database.backend}", with_actions=False)
    try:
        yield running, outage
    finally:
        running.supervisor.stop_all()
        outage.close()


def inbound_texts(stack: Stack, chat_id: int) -> list[tuple[str | None, bool]]:
    """The chat's logged customer messages, in the order they were stored, with their handled flag."""
    with Session(stack.database.engine) as session:
        rows = session.scalars(
            select(ChatMessage)
            .where(ChatMessage.chat_id == chat_id, ChatMessage.direction == Direction.INBOUND)
            .order_by(ChatMessage.id)
        ).all()
        return [(row.text, row.handled) for row in rows]


def assert_all_handled(stack: Stack, chat_id: int, count: int) -> None:
    """The chat has `count` logged customer messages, all handled."""
    logged = inbound_texts(stack, chat_id)
    assert len(logged) == count and all(handled for _, handled in logged), logged


async def test_messages_during_a_database_outage_are_kept_and_answered_in_order(
    outage_stack: tuple[Stack, Outage],
) -> None:
    """Five messages while the database is down: one holding reply each, then all five answered, in order."""
    stack, outage = outage_stack
    async with SandboxClient(stack.sandbox_url) as sandbox:
        user = new_user_id()
        await sandbox.send_text(user, "thanks a lot")
        (first,) = await sandbox.wait_for_bot_messages(user, count=1, timeout=30)
        await asyncio.to_thread(eventually, lambda: assert_all_handled(stack, user, 1))

        outage.cut()
        try:
            for body in TEXTS_SENT:
                await sandbox.send_text(user, body)
            held = await sandbox.wait_for_bot_messages(
                user, count=len(TEXTS_SENT), after_message_id=first["message_id"], timeout=60
            )
            assert [m["text"] for m in held] == [TEXTS["holding_stored"]["en"]] * len(TEXTS_SENT)
        finally:
            outage.restore()

        answers = await sandbox.wait_for_bot_messages(
            user, count=len(TEXTS_SENT), after_message_id=held[-1]["message_id"], timeout=60
        )
        assert all(m["text"] != TEXTS["holding_stored"]["en"] for m in answers)
    await asyncio.to_thread(eventually, lambda: assert_all_handled(stack, user, 1 + len(TEXTS_SENT)))
    assert inbound_texts(stack, user) == [("thanks a lot", True)] + [(body, True) for body in TEXTS_SENT]
