"""Fixtures: a sandbox served in-process on a free port, a PTB Bot pointed at it, and a control client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sandbox_harness import TOKEN, Sandbox, StartPolling, serving
from telegram import Bot
from telegram.ext import Application

from sandbox.app import create_app, quiet_loggers
from sandbox.client import SandboxClient


def pytest_configure(config: pytest.Config) -> None:
    """Bot API URLs carry the token: keep request loggers quiet."""
    quiet_loggers()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A fresh sandbox accepting only TOKEN."""
    app = create_app(bot_token=TOKEN)
    app.state.world.webhook_retry_delays = (0.05, 0.1)
    async with serving(app) as base_url, SandboxClient(base_url) as client:
        yield Sandbox(base_url=base_url, app=app, client=client)


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    """An initialised PTB Bot for the sandbox."""
    async with sandbox.bot() as instance:
        yield instance


@pytest.fixture
async def start_polling(sandbox: Sandbox) -> AsyncIterator[StartPolling]:
    """A function running a PTB Application with long polling (as run_polling would); stopped at teardown."""
    started: list[Application] = []

    async def start(application: Application) -> Application:
        """Initialise and start the application and its polling updater."""
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        started.append(application)
        return application

    yield start
    for application in reversed(started):
        assert application.updater is not None
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
