"""One retrain at a time: the lock refuses a second holder (naming the first), frees itself when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, Settings
from learning.runlock import Holder, RetrainBusy, ensure_free, exclusive, lock_path, take_interrupted

ADA = Holder("Ada", datetime(2026, 12, 1, 9, 30, tzinfo=UTC), 1234, chat_id=77, message_id=5)


def test_a_second_retrain_is_refused_with_the_first_ones_holder(tmp_path: Path) -> None:
    """While Ada's run holds the lock, Bob's is refused and told who runs and since when; afterwards it is free."""
    path = tmp_path / "locks" / "retrain.lock"
    ensure_free(path)
    with exclusive(path, ADA):
        with pytest.raises(RetrainBusy) as busy, exclusive(path, Holder("Bob", ADA.started_at, 99)):
            pass
        assert busy.value.holder == ADA and "Ada" in str(busy.value)
        with pytest.raises(RetrainBusy) as asked:
            ensure_free(path)
        assert asked.value.holder == ADA
    ensure_free(path)
    assert take_interrupted(path) is None, "a run that ended is not an interrupted one"


def test_a_failing_run_releases_the_lock(tmp_path: Path) -> None:
    """An exception inside the run frees the lock and clears the record."""
    path = tmp_path / "retrain.lock"
    with pytest.raises(ZeroDivisionError), exclusive(path, ADA):
        _ = 1 / 0
    ensure_free(path)
    assert path.read_text(encoding="utf-8") == ""


def test_a_holder_that_dies_frees_the_lock_and_leaves_its_record(tmp_path: Path) -> None:
    """A process killed mid-run (a restarted bot) leaves no stale lock; its record is read back once."""
    path = tmp_path / "retrain.lock"
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime, UTC
        from pathlib import Path
        from learning.runlock import Holder, exclusive
        holder = Holder("Ada", datetime(2026, 12, 1, 9, 30, tzinfo=UTC), os.getpid(), chat_id=77, message_id=5)
        with exclusive(Path({str(path)!r}), holder):
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    died = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, check=False)
    assert died.returncode == -9
    ensure_free(path)  # the operating system released the dead process's lock
    found = take_interrupted(path)
    assert found is not None and (found.actor, found.chat_id, found.message_id) == ("Ada", 77, 5)
    assert take_interrupted(path) is None, "the record is cleared once read"


def test_one_lock_per_database(tmp_path: Path) -> None:
    """The bot and the command line of one deployment share a lock; another database (or schema) has its own."""
    def path(url: str, schema: str | None = None) -> Path:
        return lock_path(Settings(database_url=url, database_schema=schema, cache_dir=tmp_path))

    shop = "postgresql+psycopg://desk:secret@db.example/parceldesk"
    assert path(shop) == path(shop.replace("secret", "rotated")), "the password is not part of the name"
    assert path(shop) != path(shop, "test_a") != path(shop, "test_b")
    assert path(shop) != path(f"sqlite:///{tmp_path / 'desk.db'}")
    assert path(shop).parent == tmp_path / "locks" and "secret" not in path(shop).name
