"""Sandbox mode's demo staff: a staff group and an agent so the handoff works out of the box, never otherwise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import Settings
from crm.models import AuditEntry, Staff, StaffRole
from parceldesk.demostaff import (
    DEMO_AGENT_ID,
    DEMO_STAFF_GROUP,
    open_demo_chats,
    register_demo_agent,
    with_demo_staff,
)
from sandbox.app import create_app
from sandbox.client import SandboxClient
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import free_port
from tests.sandbox.sandbox_harness import serving


@pytest.fixture(params=BACKENDS)
def staff_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    """A migrated database of its own, per backend."""
    yield from create_database(request.param, tmp_path)


def test_only_sandbox_mode_without_a_staff_group_gets_the_demo_group() -> None:
    """Sandbox without a group: the demo group; a configured group, or Telegram itself: unchanged."""
    assert with_demo_staff(Settings(sandbox=True, staff_chat_id=None)).staff_chat_id == DEMO_STAFF_GROUP
    assert with_demo_staff(Settings(sandbox=True, staff_chat_id=-42)).staff_chat_id == -42
    telegram = Settings(sandbox=False, telegram_bot_token="123:abc", staff_chat_id=None)
    assert with_demo_staff(telegram).staff_chat_id is None


def test_the_demo_agent_is_registered_once(staff_db: TestDatabase) -> None:
    """An agent row on the first run; later runs change nothing (no new audit entries, a role given stays)."""
    settings = Settings(database_url=staff_db.url, database_schema=staff_db.schema, sandbox=True)
    register_demo_agent(settings)
    with Session(staff_db.engine) as session:
        agent = session.scalars(select(Staff).where(Staff.telegram_user_id == DEMO_AGENT_ID)).one()
        assert agent.role is StaffRole.AGENT and agent.active
        agent.role = StaffRole.SUPERVISOR
        session.commit()
        audits = len(session.scalars(select(AuditEntry)).all())
    register_demo_agent(settings)
    with Session(staff_db.engine) as session:
        agent = session.scalars(select(Staff).where(Staff.telegram_user_id == DEMO_AGENT_ID)).one()
        assert agent.role is StaffRole.SUPERVISOR
        assert len(session.scalars(select(AuditEntry)).all()) == audits


def serving_sandbox(port: int, control_token: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A sandbox served in this process; yields its URL."""
    return serving(create_app(control_token=control_token), port)


async def test_the_group_and_the_agents_chat_exist_in_the_sandbox() -> None:
    """The staff group is created and the agent has written to the bot (so the bot may write back)."""
    settings = Settings(sandbox=True, sandbox_port=free_port())
    token = settings.sandbox_control_token.get_secret_value()
    async with serving_sandbox(settings.sandbox_port, token) as url, SandboxClient(url, token=token) as client:
        await asyncio.to_thread(open_demo_chats, settings)
        state = await client.state()
        ids = {chat["id"] for chat in state["chats"]}
        assert {DEMO_STAFF_GROUP, DEMO_AGENT_ID} <= ids
        (opened,) = await client.messages(DEMO_AGENT_ID)
        assert opened["text"] == "/queue"
