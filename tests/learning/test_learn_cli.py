"""`parceldesk learn`: list the queue, label it with the keyboard or a batch file, export (real database)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import make_sessionmaker, transaction
from crm import chatlog
from crm.models import TrainingLabel
from parceldesk import cli_learn
from parceldesk.cli import app
from tests.databases import BACKENDS, TestDatabase, create_database

_updates = itertools.count(random.randint(10**9, 2 * 10**9))


@pytest.fixture(scope="module", params=BACKENDS)
def learn_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """A database of its own (the CLI commits), per backend."""
    yield from create_database(request.param, tmp_path_factory.mktemp(f"learn-{request.param}"))


@pytest.fixture()
def runner(learn_db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner pointed at the test database, printing wide (no wrapped table cells)."""
    for name, value in learn_db.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli_learn, "console", Console(width=250, color_system=None))
    return CliRunner()


def log(db: TestDatabase, text: str, intent: str | None, confidence: float, fell_back: bool = False) -> int:
    """Log a customer text the way the bot does; returns its row id."""
    with transaction(make_sessionmaker(db.engine)) as session:
        chat = random.randint(10**6, 10**7)
        row = chatlog.record_inbound(session, bot_id=1, update_id=next(_updates), chat_id=chat,
                                     telegram_user_id=chat, kind="text", text=text)
        chatlog.record_understanding(session, row.message_id, intent=intent, confidence=confidence,
                                     fell_back=fell_back)
        return row.message_id


def labels(db: TestDatabase) -> dict[int, str]:
    """Active labels: message id -> intent."""
    with Session(db.engine) as session:
        return dict(session.execute(
            select(TrainingLabel.message_id, TrainingLabel.intent).where(TrainingLabel.active.is_(True))
        ).all())


def test_list_review_batch_and_export(learn_db: TestDatabase, runner: CliRunner, tmp_path: Path) -> None:
    """The whole admin path: list (masked), label by keyboard, correct by batch file, export files."""
    fee = [log(learn_db, "寄个10kg的箱子去成都多少钱呀", "faq/delivery_time", 0.41) for _ in range(3)]
    phone = log(learn_db, "打我电话13800138000 我的箱子呢", "nlu_fallback", 0.3, fell_back=True)
    skipped = log(learn_db, "asdf qwer", "out_of_scope", 0.2)

    listed = runner.invoke(app, ["learn", "list", "--csv", str(tmp_path / "queue.csv")])
    assert listed.exit_code == 0, listed.output
    assert "寄个10kg的箱子去成都多少钱呀" in listed.output and "13800138000" not in listed.output
    assert "13812345678" in listed.output
    assert "text,intent" in (tmp_path / "queue.csv").read_text(encoding="utf-8")

    # Keyboard: group 1 (3 messages) pick by name; group 2: bad input, then a number; group 3: skip.
    intents = cli_learn._intents()
    number = intents.index("complain_loss") + 1
    reviewed = runner.invoke(app, ["learn", "review", "--by", "Ada"],
                             input=f"faq/shipping_fee\nnonsense\n{number}\ns\n")
    assert reviewed.exit_code == 0, reviewed.output
    assert "not a valid choice" in reviewed.output
    assert labels(learn_db) == {**{i: "faq/shipping_fee" for i in fee}, phone: "complain_loss"}
    assert skipped not in labels(learn_db)

    # A batch file corrects one label (with --replace) and labels the skipped text; bad lines exit non-zero.
    batch = tmp_path / "batch.csv"
    batch.write_text("text,intent\nasdf qwer,out_of_scope\n打我电话13812345678 我的箱子呢,track_shipment\n",
                     encoding="utf-8")
    refused = runner.invoke(app, ["learn", "review", "--batch", str(batch)])
    assert refused.exit_code == 1 and "conflict" in refused.output
    assert labels(learn_db)[phone] == "complain_loss" and labels(learn_db)[skipped] == "out_of_scope"
    corrected = runner.invoke(app, ["learn", "review", "--batch", str(batch), "--replace"])
    assert corrected.exit_code == 0, corrected.output
    assert labels(learn_db)[phone] == "track_shipment"

    out = tmp_path / "learned"
    exported = runner.invoke(app, ["learn", "export", "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    files = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in out.glob("*.yml")}
    assert set(files) == {"fallbacks.yml", "low_confidence.yml"}
    written = {item["intent"]: item["examples"] for doc in files.values() for item in doc["nlu"]}
    assert written["track_shipment"] == "- 打我电话13812345678 我的箱子呢\n"
    assert "faq/shipping_fee" in written and "out_of_scope" in written

    models = runner.invoke(app, ["learn", "models"])
    assert models.exit_code == 0, models.output


def test_batch_file_that_cannot_be_read(runner: CliRunner, tmp_path: Path) -> None:
    """A missing or malformed batch file: a clear message and exit code 2."""
    result = runner.invoke(app, ["learn", "review", "--batch", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "cannot read the batch file" in result.output
