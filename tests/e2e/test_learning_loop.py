"""End to end: the learning loop through the running system — label, export, retrain, gate, promote, roll back.

A Rasa server of its own (the model is switched under it), a stack per database backend, and a copy of the
project's training data in a scratch folder, so exports never touch nlu/data. Models use the fast pipeline in
tests/e2e/learning/config.yml and are cached by content hash: the second backend reuses the first's models.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_sessionmaker, transaction
from core.settings import PROJECT_ROOT, Settings
from core.tokens import rasa_token
from crm.chatlog import record_inbound, record_understanding
from crm.models import ChatMessage, Direction, ModelStatus
from learning import registry as model_registry
from learning.export import entity_patterns, export_paths, plan_export, write_export
from learning.retrain import retrain, rollback, serving_model
from learning.review import Labeller, ReviewPolicy, label_group, label_messages, review_queue
from nlu.examples import load_examples
from nlu.intents import labelling_intents
from nlu.toolchain import Engine, ensure_model
from parceldesk.processes import Supervisor, rasa_service
from sandbox.client import SandboxClient
from tests.databases import TestDatabase
from tests.e2e.harness import Stack, eventually, free_port, new_user_id, stack_settings, start_stack
from tests.e2e.replies import domain_text
from tests.e2e.test_conversations import say, texts

# Texts no training example resembles: the first model cannot know they ask whether it is a bot.
PROBE = "zindle blorp, are you a zindle?"
VARIANTS = ("zindle blorp, are you a zindle?", "zindle blorp are u a zindle", "hey zindle blorp, you a zindle??")
MARGIN = 2.0  # F1 points: the default
ADMIN = Labeller("test admin")
COPIED = ("domain.yml", "nlu/data", "nlu/jieba", "nlu/components", "engine/constraints.txt")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the training inputs with the fast pipeline as config.yml."""
    root = tmp_path_factory.mktemp("learning-project")
    for name in COPIED:
        source, target = PROJECT_ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "learned"))
        else:
            shutil.copy2(source, target)
    shutil.copy2(PROJECT_ROOT / "tests" / "e2e" / "learning" / "config.yml", root / "config.yml")
    return root


@pytest.fixture(scope="module")
def learning_rasa(engine_model: tuple[Engine, Path], project: Path, logs_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, int]]:
    """A Rasa server of this module's own, started on the first model of the scratch project (serving both
    backends' stacks, it keeps its conversations in a scratch SQLite database of its own)."""
    engine, _ = engine_model
    action_port = free_port()
    settings = Settings(rasa_port=free_port(), action_port=action_port, cache_dir=engine.settings.cache_dir,
                        data_dir=tmp_path_factory.mktemp("learning-rasa"), database_url="")
    first = ensure_model(settings, engine, root=project)
    supervisor = Supervisor()
    supervisor.start(rasa_service(settings, engine, first, logs_dir / "learning"))
    yield settings, action_port
    supervisor.stop_all()


@pytest.fixture(scope="module")
def learning_stack(e2e_database: TestDatabase, learning_rasa: tuple[Settings, int], logs_dir: Path) -> Iterator[Stack]:
    """Bot, sandbox and action server against one database, talking to this module's Rasa."""
    rasa_settings, action_port = learning_rasa
    settings = stack_settings(e2e_database, rasa_url=rasa_settings.effective_rasa_url, action_port=action_port)
    running = start_stack(settings, e2e_database, logs_dir / f"learning-{e2e_database.backend}")
    yield running
    running.supervisor.stop_all()


def logged_intent(sessions: sessionmaker[Session], user: int, text: str) -> tuple[str | None, str | None]:
    """(intent, model version) the bot logged for the user's latest message with this text."""
    with sessions() as session:
        row = session.scalars(
            select(ChatMessage)
            .where(
                ChatMessage.telegram_user_id == user,
                ChatMessage.text == text,
                ChatMessage.direction == Direction.INBOUND,
            )
            .order_by(ChatMessage.id.desc())
            .limit(1)
        ).one()
        assert row.intent is not None, "the bot has not logged the understanding yet"
        return row.intent, row.model_version


def export_to(project: Path, sessions: sessionmaker[Session]) -> Path:
    """Export every active label into the scratch project's nlu/data/learned; return that folder."""
    from learning.review import labelled_texts

    with sessions() as session:
        labelled = labelled_texts(session)
    hand_written, held_out, _learned, regex = export_paths(PROJECT_ROOT)
    plan = plan_export(labelled, hand_written=hand_written, held_out=held_out, patterns=entity_patterns(regex))
    assert not plan.conflicts, plan.conflicts
    learned = project / "nlu" / "data" / "learned"
    write_export(plan, learned)
    return learned


def wrong_labels(sessions: sessionmaker[Session], bot_id: int) -> int:
    """Log two prefixed copies of every tracking question in the training data, all labelled `goodbye`.

    A candidate trained on them must be rejected. As many as the real tracking examples (not a fixed 120): with
    ~300 of them in the data, 120 wrong labels no longer moved goodbye enough for the gate to notice.
    """
    originals = [e.text for e in load_examples([PROJECT_ROOT / "nlu" / "data" / "nlu"]) if e.intent == "track_shipment"]
    prefixes = ("ok so ", "嗯 ")
    made = [f"{prefix}{text}" for prefix in prefixes for text in originals]
    with transaction(sessions) as session:
        ids = []
        for n, text in enumerate(made):
            record = record_inbound(
                session,
                bot_id=bot_id,
                update_id=900_000_000 + n,
                chat_id=7_700_001,
                telegram_user_id=7_700_001,
                kind="text",
                text=text,
            )
            record_understanding(session, record.message_id, intent="track_shipment", confidence=0.9)
            ids.append(record.message_id)
        label_messages(session, ids, "goodbye", source="review", labeller=ADMIN, valid=labelling_intents(PROJECT_ROOT))
    return len(made)


def live_version(sessions: sessionmaker[Session]) -> str | None:
    """The registry's live version."""
    with sessions() as session:
        current = model_registry.live(session)
        return current.version if current else None


async def test_label_export_retrain_gate_promote_rollback(
    learning_stack: Stack, learning_rasa: tuple[Settings, int], engine_model: tuple[Engine, Path], project: Path
) -> None:
    """A misunderstood message is labelled, exported, learned and promoted; wrong labels are rejected; rollback."""
    settings, _ = learning_rasa
    engine, _ = engine_model
    sessions = make_sessionmaker(learning_stack.database.engine)
    learned = project / "nlu" / "data" / "learned"
    shutil.rmtree(learned, ignore_errors=True)
    sandbox = SandboxClient(learning_stack.sandbox_url)

    # 1. The first retrain has no live model to beat: it is promoted and becomes the registry's first entry.
    first = retrain(settings, engine, sessions, actor="test admin", margin=MARGIN, root=project)
    assert first.promoted and first.gate is not None and first.gate.live_accuracy is None
    assert serving_model(settings) == Path(first.model.name) and live_version(sessions) == first.version

    # 2. A customer asks something the model does not understand; the bot logs intent and model version.
    user = new_user_id()
    for variant in VARIANTS:
        await say(sandbox, user, variant)
    before, version = eventually(lambda: logged_intent(sessions, user, PROBE))
    assert before != "bot_challenge", "the first model already understands the probe: pick a stranger text"
    assert version == first.version

    # 3. The admin labels the group from the review queue; 4. the export is valid Rasa data.
    with transaction(sessions) as session:
        groups = [
            g for g in review_queue(session, ReviewPolicy(include_all=True)) if PROBE in [m.text for m in g.members]
        ]
        assert len(groups) == 1, "the three variants should be one near-duplicate group"
        label_group(session, groups[0], "bot_challenge", labeller=ADMIN, valid=labelling_intents(PROJECT_ROOT))
    export_to(project, sessions)
    exported = "\n".join(p.read_text(encoding="utf-8") for p in learned.glob("*.yml"))
    assert PROBE in exported and "intent: bot_challenge" in exported
    engine.run(
        ["data", "validate", "--domain", "domain.yml", "--data", "nlu/data", "--config", "config.yml"], cwd=project
    )

    # 5. Retrain: the candidate passes the gate and the running Rasa switches to it, conversations kept.
    better = retrain(settings, engine, sessions, actor="test admin", margin=MARGIN, root=project)
    assert better.promoted and better.switched, better.gate.reasons if better.gate else "no gate"
    assert serving_model(settings) == Path(better.model.name) and live_version(sessions) == better.version
    replies = await say(sandbox, user, PROBE)
    assert any(body in domain_text("utter_bot_challenge", "en") for body in texts(replies)), texts(replies)
    after, version = eventually(lambda: logged_intent(sessions, user, PROBE))
    assert (after, version) == ("bot_challenge", better.version)

    # 6. A candidate trained on deliberately wrong labels is rejected; the live model stays.
    wrong_labels(sessions, bot_id=1)
    export_to(project, sessions)
    worse = retrain(settings, engine, sessions, actor="test admin", margin=MARGIN, root=project)
    assert not worse.promoted and worse.gate is not None and not worse.gate.promote
    # Tracking questions labelled `goodbye` wreck goodbye's precision on the held-out set.
    assert any("goodbye" in reason for reason in worse.gate.reasons), worse.gate.reasons
    assert serving_model(settings) == Path(better.model.name) and live_version(sessions) == better.version
    with sessions() as session:
        assert model_registry.get(session, worse.version).status == ModelStatus.REJECTED

    # 7. Rollback restores the first model and its answers.
    undone = rollback(settings, sessions, actor="test admin")
    assert (undone.live, undone.replaced, undone.switched) == (first.version, better.version, True)
    assert serving_model(settings) == Path(first.model.name)
    await say(sandbox, user, PROBE)
    assert eventually(lambda: logged_intent(sessions, user, PROBE)) == (before, first.version)

    # The Rasa HTTP API still knows the customer's conversation after three model switches.
    tracker = httpx.get(f"{settings.effective_rasa_url}/conversations/tg-{user}/tracker",
                        params={"token": rasa_token(settings)}, timeout=10).json()
    assert sum(e.get("event") == "user" and e.get("text") == PROBE for e in tracker["events"]) >= 3
    shutil.rmtree(learned, ignore_errors=True)
