"""Test harness for the sandbox: serve an ASGI app in-process on a free port, and PTB clients for it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from sandbox.client import SandboxClient
from sandbox.world import World

TOKEN = "123456789:sandbox-test-token"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: Starlette, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn in a background task (on `port`, else a free one); yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Sandbox:
    """A running sandbox: its URL, app, state and a control client."""

    base_url: str
    app: Starlette
    client: SandboxClient
    token: str = TOKEN

    @property
    def world(self) -> World:
        """The sandbox's in-memory state."""
        return self.app.state.world

    def bot(self, token: str = TOKEN) -> Bot:
        """A PTB Bot talking to this sandbox (use with ``async with``)."""
        return Bot(token, base_url=f"{self.base_url}/bot", base_file_url=f"{self.base_url}/file/bot")

    def application(self, token: str = TOKEN) -> Application:
        """A PTB Application talking to this sandbox (not yet initialised)."""
        return (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{self.base_url}/bot")
            .base_file_url(f"{self.base_url}/file/bot")
            .build()
        )


StartPolling = Callable[[Application], Awaitable[Application]]
