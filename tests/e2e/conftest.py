"""End-to-end fixtures: per test database (one per backend) a Rasa server keeping its conversations in that
database, and a stack (action server, sandbox, bot)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest

from core.clock import CLOCK_FILE_ENV, set_clock_offset
from core.db import make_sessionmaker, transaction
from core.settings import Settings
from demo.company import generate_demo
from nlu.toolchain import Engine
from parceldesk.processes import Supervisor, rasa_service
from sandbox.client import SandboxClient
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import RasaServer, Stack, free_port, stack_settings, start_stack
from tests.e2e.logscan import scan as scan_logs


@pytest.fixture(scope="session", autouse=True)
def test_clock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One clock file for the whole session: every process (and this one) reads its offset; tests move it forward."""
    path = tmp_path_factory.mktemp("clock") / "offset"
    set_clock_offset(path, 0)
    previous = os.environ.get(CLOCK_FILE_ENV)
    os.environ[CLOCK_FILE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(CLOCK_FILE_ENV, None)
    else:
        os.environ[CLOCK_FILE_ENV] = previous


@pytest.fixture(scope="session")
def action_port() -> int:
    """The action server port Rasa is configured with (each stack's action server takes it in turn)."""
    return free_port()


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the processes of the test session write their logs."""
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session", autouse=True)
def logs_without_personal_data(logs_dir: Path) -> Iterator[None]:
    """After the session (every process stopped), no log holds a phone number, a demo address or the bot token."""
    yield
    leaks = scan_logs(logs_dir)
    assert not leaks, "personal data or a token in the process logs:\n  " + "\n  ".join(leaks[:40])


@pytest.fixture(scope="session")
def rasa(
    e2e_database: TestDatabase, engine_model: tuple[Engine, Path], action_port: int, logs_dir: Path
) -> Iterator[RasaServer]:
    """A real Rasa server with the trained model, calling the test action server and keeping its conversations
    in the test database (as in production: the application's database, here its test file or schema)."""
    engine, model = engine_model
    settings = Settings(
        rasa_port=free_port(), action_port=action_port, cache_dir=engine.settings.cache_dir,
        database_url=e2e_database.url, database_schema=e2e_database.schema,
    )
    supervisor = Supervisor()
    service = supervisor.start(rasa_service(settings, engine, model, logs_dir / e2e_database.backend))
    yield RasaServer(settings, supervisor, service)
    supervisor.stop_all()


@pytest.fixture(scope="session")
def rasa_url(rasa: RasaServer) -> str:
    """The URL of the session's Rasa server for the current test database."""
    return rasa.url


@pytest.fixture(scope="session", params=BACKENDS)
def e2e_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A migrated database with the demo company loaded, per backend."""
    for database in create_database(request.param, tmp_path_factory.mktemp(f"e2e-{request.param}")):
        with transaction(make_sessionmaker(database.engine)) as session:
            generate_demo(session, today=date.today())
        yield database


@pytest.fixture(scope="session")
def stack(e2e_database: TestDatabase, rasa_url: str, action_port: int, logs_dir: Path) -> Iterator[Stack]:
    """The running system against one database."""
    settings = stack_settings(e2e_database, rasa_url=rasa_url, action_port=action_port)
    running = start_stack(settings, e2e_database, logs_dir / e2e_database.backend)
    yield running
    running.supervisor.stop_all()


@pytest.fixture()
async def sandbox(stack: Stack) -> AsyncIterator[SandboxClient]:
    """A control-API client for the stack's Telegram sandbox."""
    token = stack.settings.sandbox_control_token.get_secret_value()
    async with SandboxClient(stack.sandbox_url, token=token) as client:
        yield client
