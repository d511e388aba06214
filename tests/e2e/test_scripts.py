"""Scripted conversations (tests/e2e/scripts/*.yml) end to end: real bot, Rasa, action server and database.

Each file is one conversation with a new Telegram user: what the customer sends, the reply keys expected back
and the database effects at the end. The format is documented in tests/e2e/scripts/README.md.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.texts import TEXTS
from crm.models import (
    Complaint,
    Customer,
    Escalation,
    EscalationStatus,
    EventKind,
    Feedback,
    PickupOrder,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from crm.segments import customer_segment
from sandbox.client import SandboxClient
from tests.e2e.harness import Stack, new_user_id
from tests.e2e.replies import is_text, pattern, response_variants
from tests.e2e.test_handoff import body_of, has_button, last_id

SCRIPTS = Path(__file__).parent / "scripts"
TIMEOUT = 30.0
LANGUAGES = ("zh", "en")
STEP_KINDS = ("say", "command", "press", "photo", "contact")
STEP_KEYS = frozenset(STEP_KINDS) | {"expect", "quiet"}
GIVEN = ("parcel", "linked")
EXPECT_KEYS = frozenset({"text", "contains", "any", "button", "language"})


def script_files() -> list[Path]:
    """Every scripted conversation, by file name."""
    return sorted(SCRIPTS.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    """A script, checked for shape so a typo fails loudly instead of testing nothing."""
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(script, dict), f"{path.name}: a script is a mapping"
    assert isinstance(script.get("title"), str) and script["title"], f"{path.name}: needs a title"
    assert script.get("language") in LANGUAGES, f"{path.name}: language must be one of {LANGUAGES}"
    given = script.get("given") or {}
    assert set(given) <= set(GIVEN), f"{path.name}: unknown given {sorted(set(given) - set(GIVEN))}"
    steps = script.get("steps")
    assert isinstance(steps, list) and steps, f"{path.name}: needs steps"
    for number, step in enumerate(steps, 1):
        kinds = [kind for kind in STEP_KINDS if kind in step]
        assert len(kinds) == 1, f"{path.name} step {number}: exactly one of {STEP_KINDS}"
        assert set(step) <= STEP_KEYS, f"{path.name} step {number}: unknown keys {sorted(set(step) - STEP_KEYS)}"
        expect = step.get("expect")
        assert isinstance(expect, list), f"{path.name} step {number}: expect must be a list"
        assert expect or step.get("quiet"), f"{path.name} step {number}: an empty expect needs quiet: <seconds>"
        for item in expect:
            check_item(item, f"{path.name} step {number}")
    effects = script.get("effects") or {}
    assert set(effects) <= set(EFFECTS), f"{path.name}: unknown effects {sorted(set(effects) - set(EFFECTS))}"
    assert effects or any(s.get("expect") for s in steps), f"{path.name}: states nothing to check"
    return script


def check_item(item: Any, where: str) -> None:
    """An expect item is a reply key or a mapping of known keys."""
    if isinstance(item, str):
        assert item.startswith("utter_"), f"{where}: {item!r}: a bare item names a domain response (utter_*)"
        return
    assert isinstance(item, dict) and item, f"{where}: {item!r} is not an expect item"
    assert set(item) <= EXPECT_KEYS, f"{where}: unknown keys {sorted(set(item) - EXPECT_KEYS)}"
    if "text" in item:
        assert item["text"] in TEXTS, f"{where}: {item['text']!r} is not a bot text key"
    for choice in item.get("any", []):
        check_item(choice, where)


# ---------------------------------------------------------------------------------------------- replies


def reply_matches(message: dict[str, Any], item: str | dict[str, Any], language: str, values: dict[str, str]) -> bool:
    """Whether one bot message is what an expect item describes."""
    if isinstance(item, str):
        item = {"utter": item}
    language = item.get("language", language)
    body = body_of(message)
    if "button" in item and not has_button(message, substitute(item["button"], values)):
        return False
    if "utter" in item:
        return any(pattern(variant).match(body) for variant in response_variants(item["utter"], language))
    if "text" in item:
        return is_text(body, item["text"], language)
    if "contains" in item:
        return substitute(item["contains"], values) in body
    if "any" in item:
        return any(reply_matches(message, choice, language, values) for choice in item["any"])
    return "button" in item  # a button-only item


def describe(messages: list[dict[str, Any]]) -> str:
    """The replies as the failure message shows them."""
    return "\n".join(f"  [{m['message_id']}] {body_of(m)!r} buttons={buttons_of(m)}" for m in messages) or "  (none)"


def buttons_of(message: dict[str, Any]) -> list[str]:
    """The callback data of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button.get("callback_data", "") for row in rows for button in row]


def substitute(value: str, values: dict[str, str]) -> str:
    """${name} placeholders filled from the script's given values."""
    def fill(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"${{{match.group(1)}}} is not given (have {sorted(values)})"
        return values[match.group(1)]

    return re.sub(r"\$\{([a-z_]+)\}", fill, value)


# ---------------------------------------------------------------------------------------------- given


@dataclass
class Conversation:
    """One script's run: its user, its given values and the last bot message seen."""

    user: int
    language: str
    values: dict[str, str] = field(default_factory=dict)
    replies: list[dict[str, Any]] = field(default_factory=list)


def fresh_parcel(stack: Stack, status: ShipmentStatus) -> tuple[str, str]:
    """(number, owner's phone) of a parcel in this status whose complaint would not be serious: low value, owner
    not top tier, never complained about, owner not linked to any chat."""
    with Session(stack.database.engine) as session:
        complained = select(Complaint.customer_id).where(Complaint.customer_id.is_not(None))
        # A complaint from an unlinked chat names only the parcel: a second one about it would be a serious repeat.
        complained_parcels = select(Complaint.shipment_id).where(Complaint.shipment_id.is_not(None))
        candidates = session.scalars(
            select(Shipment)
            .join(Customer, Shipment.customer_id == Customer.id)
            .where(Shipment.status == status)
            # The company's own waybills: partner-carrier numbers (EE…CN) are a tracking script's topic, not these.
            .where(Shipment.tracking_number.like("XJ%"))
            .where((Shipment.declared_value.is_(None)) | (Shipment.declared_value < Decimal(500)))
            .where(Shipment.customer_id.not_in(complained))
            .where(Shipment.id.not_in(complained_parcels))
            .where(Customer.telegram_user_id.is_(None))
            .order_by(Shipment.id)
        ).all()
        for shipment in candidates:
            if customer_segment(session, shipment.customer_id).tier != "A":
                return shipment.tracking_number, shipment.customer.phone
    raise AssertionError(f"the demo has no unused plain {status.value} parcel left")


async def set_up(stack: Stack, sandbox: SandboxClient, script: dict[str, Any]) -> Conversation:
    """A new user, with the script's given parcel and link."""
    conversation = Conversation(user=new_user_id(), language=script["language"])
    given = script.get("given") or {}
    if "parcel" in given:
        number, phone = fresh_parcel(stack, ShipmentStatus(given["parcel"]))
        conversation.values.update(parcel=number, phone=phone)
    if given.get("linked"):
        assert "phone" in conversation.values, "linked: true needs a given parcel (its owner is linked)"
        # A first message fixes the chat's language before the contact is shared.
        await exchange(sandbox, conversation, "你好" if conversation.language == "zh" else "hello", count=None)
        after = await last_id(sandbox, conversation.user)
        await sandbox.send_contact(conversation.user, conversation.values["phone"].removeprefix("+"))
        await sandbox.wait_for_bot_messages(conversation.user, after_message_id=after, timeout=TIMEOUT)
        with Session(stack.database.engine) as session:
            linked = session.scalar(select(Customer).where(Customer.telegram_user_id == conversation.user))
            assert linked is not None and linked.phone == conversation.values["phone"], "the link did not take"
    return conversation


async def exchange(sandbox: SandboxClient, conversation: Conversation, message: str, *, count: int | None) -> list[
    dict[str, Any]
]:
    """Send a text; wait for `count` replies (None: at least one, then a short settle)."""
    after = await last_id(sandbox, conversation.user)
    await sandbox.send_text(conversation.user, message)
    received = await sandbox.wait_for_bot_messages(conversation.user, count=count or 1, after_message_id=after,
                                                   timeout=TIMEOUT)
    if count is None:
        await asyncio.sleep(1.0)
        received = await sandbox.bot_messages(conversation.user, after_message_id=after)
    conversation.replies.extend(received)
    return received


# ---------------------------------------------------------------------------------------------- steps


async def perform(sandbox: SandboxClient, conversation: Conversation, step: dict[str, Any]) -> int:
    """Do what a step says; return the message id after which its replies come."""
    after = await last_id(sandbox, conversation.user)
    values = conversation.values
    if "say" in step or "command" in step:
        await sandbox.send_text(conversation.user, substitute(str(step.get("say", step.get("command"))), values))
    elif "press" in step:
        data = substitute(str(step["press"]), values)
        carrier = next((m for m in reversed(conversation.replies) if has_button(m, data)), None)
        assert carrier is not None, f"no earlier bot message has a button {data!r}:\n{describe(conversation.replies)}"
        await sandbox.press_button(conversation.user, conversation.user, carrier["message_id"], data)
    elif "photo" in step:
        photo = step["photo"] or {}
        caption = photo.get("caption") if isinstance(photo, dict) else None
        await sandbox.send_photo(conversation.user, caption=substitute(caption, values) if caption else None)
    elif "contact" in step:
        await sandbox.send_contact(conversation.user, substitute(str(step["contact"]), values).removeprefix("+"))
    return after


async def run_step(sandbox: SandboxClient, conversation: Conversation, step: dict[str, Any], where: str) -> None:
    """One step: act, collect exactly the expected number of replies, match them in order."""
    expect = step["expect"]
    after = await perform(sandbox, conversation, step)
    if not expect:
        await asyncio.sleep(float(step["quiet"]))
        extra = await sandbox.bot_messages(conversation.user, after_message_id=after)
        assert not extra, f"{where}: expected silence, got:\n{describe(extra)}"
        return
    try:
        received = await sandbox.wait_for_bot_messages(
            conversation.user, count=len(expect), after_message_id=after, timeout=TIMEOUT
        )
    except AssertionError as error:
        raise AssertionError(f"{where}: expected {expect}\n{error}") from None
    # Replies that arrive a moment later than the expected count (one too many) fail the step too.
    await asyncio.sleep(0.3)
    received = await sandbox.bot_messages(conversation.user, after_message_id=after)
    conversation.replies.extend(received)
    assert len(received) == len(expect), f"{where}: expected {len(expect)} replies {expect}, got:\n{describe(received)}"
    for number, (message, item) in enumerate(zip(received, expect, strict=True), 1):
        assert reply_matches(message, item, conversation.language, conversation.values), (
            f"{where}: reply {number} is not {item!r}:\n{describe(received)}"
        )


# ---------------------------------------------------------------------------------------------- effects


def _count(session: Session, statement: Any) -> int:
    """A count query's value."""
    return int(session.scalar(statement) or 0)


EFFECTS: dict[str, Callable[[Session, Conversation], int]] = {
    "complaints": lambda s, c: _count(s, select(func.count(Complaint.id)).where(Complaint.chat_id == c.user)),
    "escalations": lambda s, c: _count(s, select(func.count(Escalation.id)).where(Escalation.chat_id == c.user)),
    "open_escalations": lambda s, c: _count(s, select(func.count(Escalation.id)).where(
        Escalation.chat_id == c.user, Escalation.status != EscalationStatus.RESOLVED)),
    "pickups": lambda s, c: _count(s, select(func.count(PickupOrder.id)).where(PickupOrder.chat_id == c.user)),
    "feedback": lambda s, c: _count(s, select(func.count(Feedback.id)).where(Feedback.chat_id == c.user)),
    "delivery_changes": lambda s, c: _count(s, select(func.count(TrackingEvent.id)).join(
        Shipment, TrackingEvent.shipment_id == Shipment.id).where(
        Shipment.tracking_number == c.values.get("parcel", ""), TrackingEvent.kind == EventKind.DELIVERY_CHANGED)),
}


def check_effects(stack: Stack, conversation: Conversation, effects: dict[str, int], name: str) -> None:
    """The database holds what the script says it should, for this chat."""
    with Session(stack.database.engine) as session:
        found = {key: EFFECTS[key](session, conversation) for key in effects}
    assert found == effects, f"{name}: database effects {found}, expected {effects}"


# ---------------------------------------------------------------------------------------------- tests


def test_the_suite_is_large_and_half_repair() -> None:
    """At least 40 conversations, in both languages, half of them about repair; every file loads."""
    scripts = [load(path) for path in script_files()]
    assert len(scripts) >= 40, f"only {len(scripts)} scripted conversations"
    assert {s["language"] for s in scripts} == set(LANGUAGES)
    repair = [s for s in scripts if "repair" in (s.get("tags") or [])]
    assert len(repair) * 2 >= len(scripts), f"{len(repair)} of {len(scripts)} scripts are about repair"


@pytest.mark.parametrize("path", script_files(), ids=lambda p: p.stem)
async def test_script(path: Path, sandbox: SandboxClient, stack: Stack) -> None:
    """One scripted conversation: every reply as expected, then the database effects."""
    script = load(path)
    conversation = await set_up(stack, sandbox, script)
    for number, step in enumerate(script["steps"], 1):
        await run_step(sandbox, conversation, step, f"{path.name} step {number}")
    check_effects(stack, conversation, script.get("effects") or {}, path.name)
