"""Sandbox mode out of the box: a demo staff group and a demo agent, so the human handoff can be tried at once.

`parceldesk run` without a Telegram token (and without PARCELDESK_STAFF_CHAT_ID) would otherwise leave the queue with
nobody to see it, and the bot then says how to reach the company instead of promising an agent. In sandbox mode
the run command instead configures a staff group that lives in the sandbox, registers a demo agent in the database
and opens the agent's private chat with the bot; the chat page shows either (`?user=` and `?chat=`, see README).
Never in production: the sandbox is development only, and a configured staff group is always left alone.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.db import open_database, transaction
from core.settings import Settings
from crm.models import Staff, StaffRole
from crm.staff import register_staff
from sandbox.client import SandboxClient

# Ids no real Telegram account has in the sandbox (a group's id is negative, like Telegram's).
DEMO_STAFF_GROUP = -1009000000001
DEMO_AGENT_ID = 900000001
DEMO_AGENT_NAME = "Lin (demo agent)"
DEMO_GROUP_TITLE = "迅捷速运客服群 / XunJie staff (demo)"


def wants_demo_staff(settings: Settings) -> bool:
    """Sandbox mode with no staff group of its own."""
    return settings.uses_sandbox and settings.staff_chat_id is None


def with_demo_staff(settings: Settings) -> Settings:
    """The settings the services start with: the demo staff group in sandbox mode without a staff group."""
    if not wants_demo_staff(settings):
        return settings
    return settings.model_copy(update={"staff_chat_id": DEMO_STAFF_GROUP})


def register_demo_agent(settings: Settings) -> None:
    """Register the demo agent once (an existing staff row, whatever its role, is left as it is)."""
    database = open_database(settings)
    try:
        with transaction(database.sessions) as session:
            known = session.scalars(select(Staff).where(Staff.telegram_user_id == DEMO_AGENT_ID)).one_or_none()
            if known is None:
                register_staff(session, DEMO_AGENT_ID, DEMO_AGENT_NAME, StaffRole.AGENT)
    finally:
        database.dispose()


def open_demo_chats(settings: Settings) -> None:
    """Create the staff group in the (running) sandbox and the agent's private chat with the bot."""

    async def work() -> None:
        token = settings.sandbox_control_token.get_secret_value()
        async with SandboxClient(settings.sandbox_url, token=token) as client:
            await client.create_group(DEMO_STAFF_GROUP, DEMO_GROUP_TITLE)
            # As in Telegram, the bot can only write to someone who has written to it: /queue opens the chat.
            await client.send_text(DEMO_AGENT_ID, "/queue", first_name=DEMO_AGENT_NAME)

    asyncio.run(work())


def demo_staff_hint(settings: Settings) -> str:
    """What the run command prints: where to play the agent and where the staff group is."""
    base = settings.sandbox_url
    return (
        f"Demo staff: the agent's chat {base}/?user={DEMO_AGENT_ID} · the staff group "
        f"{base}/?user={DEMO_AGENT_ID}&chat={DEMO_STAFF_GROUP}\n"
        "Say 转人工 / \"talk to an agent\" as a customer, press Claim in the staff group, reply in the agent's chat."
    )
