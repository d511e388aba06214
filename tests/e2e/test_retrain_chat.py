"""End to end: admins finish the learning loop in the chat — /retrain, Promote / Keep current, /rollback.

The real bot (a process of its own) talks to the Telegram sandbox; it trains with the real engine on a scratch copy
of the project (PARCELDESK_LEARN_PROJECT_ROOT) with the fast pipeline of tests/e2e/learning/config.yml, models
cached by content hash as in test_learning_loop.py (the second backend reuses the first one's models), and
switches a Rasa server of this module's own. A database of its own per backend: the registry and the labels other
modules leave in the session's database would change what the gate sees.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.texts import command_menu, text
from core.db import make_sessionmaker, transaction
from core.settings import PROJECT_ROOT, Settings, load_settings
from crm import audit
from crm.chatlog import record_inbound, record_understanding
from crm.models import ModelStatus, StaffRole
from crm.staff import register_staff
from learning import registry
from learning.retrain import serving_model
from learning.review import Labeller, label_messages
from nlu.intents import labelling_intents
from nlu.toolchain import Engine, ensure_engine, ensure_model
from parceldesk.processes import Supervisor, rasa_service
from sandbox.client import SandboxClient
from tests.databases import BACKENDS, TestDatabase, create_database
from tests.e2e.harness import Stack, free_port, stack_settings, start_stack
from tests.e2e.test_learning_loop import COPIED, VARIANTS

# Up to two cold trainings of the fast pipeline (the fixture's first model, then the labelled one) and five scorings
# on two cores shared with other work: more than the suite's default per-test limit, which counts fixtures too.
pytestmark = pytest.mark.timeout(1800)

STAFF = "zh"  # the staff language (settings default)
# Cold training of the fast pipeline on two busy cores, plus scoring both models: minutes, not seconds.
RUN_TIMEOUT = 900.0
REPLY_TIMEOUT = 30.0


@dataclass(frozen=True)
class People:
    """Telegram ids: two admins, an agent, a customer."""

    ada: int
    bob: int
    alice: int
    customer: int


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The engine environment (no production model needed: this module trains the fast pipeline only)."""
    return ensure_engine(load_settings())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the training inputs and held-out set, with the fast pipeline as config.yml."""
    root = tmp_path_factory.mktemp("retrain-chat-project")
    for name in (*COPIED, "nlu/eval"):
        source, target = PROJECT_ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "learned"))
        else:
            shutil.copy2(source, target)
    shutil.copy2(PROJECT_ROOT / "tests" / "e2e" / "learning" / "config.yml", root / "config.yml")
    return root


@pytest.fixture(scope="module")
def chat_rasa(engine: Engine, project: Path, logs_dir: Path) -> Iterator[Settings]:
    """A Rasa server of this module's own, started on the model of the scratch project's hand-written data."""
    settings = Settings(rasa_port=free_port(), action_port=free_port(), cache_dir=engine.settings.cache_dir)
    first = ensure_model(settings, engine, root=project)
    supervisor = Supervisor()
    supervisor.start(rasa_service(settings, engine, first, logs_dir / "retrain-chat"))
    yield settings
    supervisor.stop_all()


@pytest.fixture(scope="module", params=BACKENDS)
def chat_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """An empty migrated database of this module's own, per backend."""
    yield from create_database(request.param, tmp_path_factory.mktemp(f"retrain-chat-{request.param}"))


@pytest.fixture(scope="module")
def desk(chat_db: TestDatabase, chat_rasa: Settings, project: Path, logs_dir: Path) -> Iterator[tuple[Stack, People]]:
    """Bot, sandbox and action server training from the scratch project; two admins and an agent registered."""
    shutil.rmtree(project / "nlu" / "data" / "learned", ignore_errors=True)
    people = People(*random.sample(range(10**7, 9 * 10**7), 4))
    with transaction(make_sessionmaker(chat_db.engine)) as session:
        register_staff(session, people.ada, "Ada", StaffRole.ADMIN)
        register_staff(session, people.bob, "Bob", StaffRole.ADMIN)
        register_staff(session, people.alice, "Alice", StaffRole.AGENT)
    settings = stack_settings(chat_db, rasa_url=chat_rasa.effective_rasa_url, action_port=chat_rasa.action_port,
                              learn_project_root=project)
    running = start_stack(settings, chat_db, logs_dir / f"retrain-chat-{chat_db.backend}")
    yield running, people
    running.supervisor.stop_all()


async def reply(sandbox: SandboxClient, user: int, body: str, *, count: int = 1) -> list[dict[str, Any]]:
    """A user writes; returns the bot's next messages in that chat."""
    sent = await sandbox.send_text(user, body)
    return await sandbox.wait_for_bot_messages(user, after_message_id=sent["message_id"], count=count,
                                               timeout=REPLY_TIMEOUT)


async def press(sandbox: SandboxClient, user: int, message: dict[str, Any], caption: str) -> dict[str, Any] | None:
    """A user presses the button with this caption; returns the bot's answer to the press."""
    keys = {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}
    pressed = await sandbox.press_button(user, message["chat"]["id"], message["message_id"], keys[caption])
    return await sandbox.callback_answer(pressed["callback_query_id"], wait=REPLY_TIMEOUT)


async def watch(sandbox: SandboxClient, chat: int, message_id: int, until: Callable[[dict[str, Any]], bool],
                timeout: float = RUN_TIMEOUT) -> tuple[dict[str, Any], list[str]]:
    """Follow one bot message until `until` holds; returns it and every text it showed on the way."""
    deadline = time.monotonic() + timeout
    shown: list[str] = []
    while True:
        found = [m for m in await sandbox.bot_messages(chat, after_message_id=message_id - 1)
                 if m["message_id"] == message_id]
        assert found, f"message {message_id} is not in chat {chat}"
        message = found[0]
        if not shown or shown[-1] != message["text"]:
            shown.append(message["text"])
        if until(message):
            return message, shown
        assert time.monotonic() < deadline, f"message {message_id} stopped at:\n{message['text']}"
        await asyncio.sleep(0.1)


def finished(message: dict[str, Any]) -> bool:
    """The progress message was replaced by the retrain's result."""
    return not message["text"].startswith("🔄")


def stage_line(mark: str, stage: str) -> str:
    """A progress line as the bot writes it."""
    return f"{mark} {text(f'model_stage_{stage}', STAFF)}"


def live(sessions: sessionmaker[Session]) -> str | None:
    """The registry's live version."""
    with sessions() as session:
        current = registry.live(session)
        return current.version if current else None


def candidate_accuracy(sessions: sessionmaker[Session], version: str) -> float:
    """A registered model's held-out accuracy (what the gate compared)."""
    with sessions() as session:
        return float((registry.get(session, version).metrics or {})["accuracy"])


def label_probe(sessions: sessionmaker[Session]) -> None:
    """Customers' texts the first model does not know, logged and labelled bot_challenge by an admin."""
    with transaction(sessions) as session:
        ids = []
        for n, body in enumerate(VARIANTS):
            record = record_inbound(session, bot_id=1, update_id=800_000_000 + n, chat_id=7_800_001 + n,
                                    telegram_user_id=7_800_001 + n, kind="text", text=body)
            record_understanding(session, record.message_id, intent="out_of_scope", confidence=0.3, fell_back=True)
            ids.append(record.message_id)
        label_messages(session, ids, "bot_challenge", source="review", labeller=Labeller("Ada"),
                       valid=labelling_intents(PROJECT_ROOT))


async def retrain(sandbox: SandboxClient, admin: int) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """An admin sends /retrain; returns the progress message as first sent, as finished, and what it showed."""
    started = (await reply(sandbox, admin, "/retrain"))[0]
    assert started["text"].startswith("🔄") and stage_line("·", "export") in started["text"]
    final, shown = await watch(sandbox, admin, started["message_id"], finished)
    return started, final, shown


async def test_admins_retrain_promote_keep_and_roll_back_in_the_chat(
    desk: tuple[Stack, People], chat_rasa: Settings, project: Path
) -> None:
    """Refusals, a run killed with its bot, one run at a time, an edited progress message, Promote, Keep, /rollback."""
    stack, people = desk
    sessions = make_sessionmaker(stack.database.engine)
    token = stack.settings.sandbox_control_token.get_secret_value()
    async with SandboxClient(stack.sandbox_url, token=token) as sandbox:
        # Only admins: an agent is told (both languages), a customer gets the unknown-command answer.
        for command in ("/retrain", "/rollback"):
            assert (await reply(sandbox, people.alice, command))[0]["text"] == text("model_admin_only", STAFF)
            assert (await reply(sandbox, people.customer, command))[0]["text"] == text(
                "unknown_command", "zh", commands=command_menu("zh"))
        helped = await reply(sandbox, people.ada, "/help", count=3)
        assert "/retrain" in helped[2]["text"] and "/rollback" in helped[2]["text"]
        nothing = await reply(sandbox, people.ada, "/rollback")
        assert nothing[0]["text"] == text("model_refused_nothing_live", STAFF)

        # 0. The bot dies mid-retrain: the restarted bot finds the lock free and marks the run interrupted.
        doomed = (await reply(sandbox, people.ada, "/retrain"))[0]
        await watch(sandbox, people.ada, doomed["message_id"], lambda m: stage_line("⏳", "score") in m["text"])
        bot = stack.service("bot")
        assert bot.process is not None
        os.killpg(bot.process.pid, signal.SIGKILL)  # the bot and its engine subprocess, as a crash or `kill -9`
        stack.supervisor.restart(bot)
        await watch(sandbox, people.ada, doomed["message_id"],
                    lambda m: m["text"].endswith(text("model_interrupted", STAFF)), timeout=REPLY_TIMEOUT)
        assert live(sessions) is None

        # 1. Ada's first retrain: no live model, the gate passes; Bob's /retrain meanwhile is refused, and
        #    customers are answered while the engine trains and scores.
        started = (await reply(sandbox, people.ada, "/retrain"))[0]
        scoring, _ = await watch(sandbox, people.ada, started["message_id"],
                                 lambda m: stage_line("⏳", "score") in m["text"] or finished(m))
        assert not finished(scoring), "the run ended before Bob could ask: scoring is the long stage"
        assert stage_line("✓", "export") in scoring["text"] and stage_line("✓", "train") in scoring["text"]
        busy = (await reply(sandbox, people.bob, "/retrain"))[0]["text"]
        assert busy.startswith(text("model_busy", STAFF, actor="Ada", started="").split("Ada")[0]) and "Ada" in busy
        assert (await reply(sandbox, people.customer, "你好"))[0]["text"]
        first_run, _ = await watch(sandbox, people.ada, started["message_id"], finished)
        assert first_run["edited"] and first_run["message_id"] == started["message_id"]
        assert text("model_gate_passed", STAFF) in first_run["text"], first_run["text"]
        with sessions() as session:
            first = registry.history(session, limit=1)[0].version
        accuracy = candidate_accuracy(sessions, first)
        assert f"{text('model_gate_accuracy', STAFF)}: – → {accuracy * 100:.1f} (–)" in first_run["text"]
        # Bob's refusal made no second run: no other message in Ada's chat.
        ada_after = await sandbox.bot_messages(people.ada, after_message_id=started["message_id"])
        assert ada_after == []
        # The agent's press is refused; Ada's promotes the candidate and switches the running Rasa.
        refused = await press(sandbox, people.alice, first_run, text("model_promote_button", STAFF))
        assert refused is not None and "only admins" in (refused.get("text") or "")
        await press(sandbox, people.ada, first_run, text("model_promote_button", STAFF))
        promoted, _ = await watch(sandbox, people.ada, started["message_id"],
                                  lambda m: text("model_switched", STAFF) in m["text"], timeout=120)
        assert promoted["text"].endswith(text("model_promoted", STAFF, actor="Ada", version=first, replaced="-",
                                              where=text("model_switched", STAFF)))
        assert not promoted.get("reply_markup"), "the buttons go once pressed"
        assert live(sessions) == first and serving_model(chat_rasa) == Path(f"{first}.tar.gz")

        # 2. Labels make a new candidate; it passes the gate against the first model, Ada keeps the current one.
        label_probe(sessions)
        _, second_run, _ = await retrain(sandbox, people.ada)
        assert text("model_exported", STAFF, written=len(VARIANTS), conflicts=0) in second_run["text"]
        assert text("model_gate_passed", STAFF) in second_run["text"], second_run["text"]
        assert "bot_challenge" in (project / "nlu" / "data" / "learned" / "review.yml").read_text(encoding="utf-8")
        with sessions() as session:
            second = registry.history(session, limit=1)[0].version
        assert second != first
        old, new = candidate_accuracy(sessions, first), candidate_accuracy(sessions, second)
        assert (f"{text('model_gate_accuracy', STAFF)}: {old * 100:.1f} → {new * 100:.1f} "
                f"({(new - old) * 100:+.1f})") in second_run["text"]
        await press(sandbox, people.ada, second_run, text("model_keep_button", STAFF))
        kept, _ = await watch(sandbox, people.ada, second_run["message_id"],
                              lambda m: text("model_kept", STAFF, actor="Ada", live=first, version=second) in m["text"],
                              timeout=REPLY_TIMEOUT)
        assert not kept.get("reply_markup")
        with sessions() as session:
            assert registry.get(session, second).status == ModelStatus.CANDIDATE
        assert live(sessions) == first and serving_model(chat_rasa) == Path(f"{first}.tar.gz")

        # 3. Bob retrains the same data (the cached model, gated again) and promotes it this time.
        _, third_run, _ = await retrain(sandbox, people.bob)
        assert text("model_gate_passed", STAFF) in third_run["text"] and second in third_run["text"]
        await press(sandbox, people.bob, third_run, text("model_promote_button", STAFF))
        await watch(sandbox, people.bob, third_run["message_id"],
                    lambda m: text("model_switched", STAFF) in m["text"], timeout=120)
        assert live(sessions) == second and serving_model(chat_rasa) == Path(f"{second}.tar.gz")

        # 4. /rollback shows both models; Ada confirms; the first model is back, in the registry and in Rasa.
        offer = (await reply(sandbox, people.ada, "/rollback"))[0]
        assert first in offer["text"] and second in offer["text"] and "Bob" in offer["text"]
        await press(sandbox, people.ada, offer, text("model_rollback_button", STAFF))
        await watch(sandbox, people.ada, offer["message_id"], lambda m: "✓ Ada" in m["text"], timeout=120)
        assert live(sessions) == first and serving_model(chat_rasa) == Path(f"{first}.tar.gz")
        again = (await reply(sandbox, people.ada, "/rollback"))[0]["text"]
        assert again == text("model_refused_no_previous", STAFF, version=first)

    # The registry and the audit trail say who did what, as for the command line.
    with sessions() as session:
        entries = audit.entries(session, action=audit.MODEL_CHANGE)
        trail = [(e.subject_id, (e.details or {})["change"], e.actor_telegram_user_id) for e in reversed(entries)]
    assert trail == [(first, "promoted", people.ada), (second, "promoted", people.bob),
                     (first, "rolled_back", people.ada)]
    shutil.rmtree(project / "nlu" / "data" / "learned", ignore_errors=True)
