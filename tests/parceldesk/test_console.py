"""parceldesk/console.py: settings loading with a clear exit, the failure exit, and opening the database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from sqlalchemy import text

from core.settings import PROJECT_ROOT, Settings
from parceldesk.console import database_or_exit, fail, settings_or_exit


def test_settings_or_exit_reads_the_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid PARCELDESK_* variables come back as validated Settings."""
    monkeypatch.setenv("PARCELDESK_RASA_PORT", "6123")
    monkeypatch.setenv("PARCELDESK_LOG_LEVEL", "debug")
    settings = settings_or_exit()
    assert isinstance(settings, Settings)
    assert settings.rasa_port == 6123 and settings.log_level == "DEBUG"
    assert settings.effective_rasa_url == "http://127.0.0.1:6123"


def test_settings_or_exit_explains_and_exits_2(
    clean_env: Path, wide_consoles: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid settings: exit code 2 and one line per problem on stderr, naming the setting."""
    monkeypatch.setenv("PARCELDESK_RASA_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("PARCELDESK_LEARN_SIMILARITY", "1.5")
    with pytest.raises(typer.Exit) as exited:
        settings_or_exit()
    assert exited.value.exit_code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == "Invalid settings (environment variables PARCELDESK_* or .env):"
    assert sorted(line.split(":")[0] for line in lines[1:]) == ["  • learn_similarity", "  • rasa_timeout_seconds"]


def test_fail_prints_to_stderr_and_exits_1(wide_consoles: None, capsys: pytest.CaptureFixture[str]) -> None:
    """fail(): a ✗ line on stderr, nothing on stdout, exit code 1."""
    with pytest.raises(typer.Exit) as exited:
        fail("the engine is missing")
    assert exited.value.exit_code == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "✗ the engine is missing\n"


def test_database_or_exit_opens_the_configured_database(sqlite_url: str) -> None:
    """The settings' database URL becomes a working engine and sessionmaker (the SQLite file is created)."""
    settings, database = database_or_exit()
    try:
        assert settings.effective_database_url.get_secret_value() == sqlite_url
        assert database.engine.url.render_as_string() == sqlite_url
        with database.sessions() as session:
            assert session.execute(text("select 41 + 1")).scalar_one() == 42
        assert Path(sqlite_url.removeprefix("sqlite:///")).exists()
    finally:
        database.dispose()


def _example_lines() -> dict[str, str]:
    """NAME=value of every variable in .env.example, commented out or not."""
    found: dict[str, str] = {}
    for line in (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]+)=(.*)", line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def test_env_example_names_every_setting_and_nothing_else() -> None:
    """.env.example documents each Settings field under the variable the settings read, and no stale names."""
    expected = {"TELEGRAM_BOT_TOKEN"} | {
        f"PARCELDESK_{name.upper()}" for name in Settings.model_fields if name != "telegram_bot_token"
    }
    assert set(_example_lines()) == expected


def test_env_example_values_are_valid_settings(clean_env: Path) -> None:
    """Uncommenting every example value (those that have one) gives settings that validate."""
    lines = {name: value for name, value in _example_lines().items() if value}
    (clean_env / ".env").write_text("".join(f"{k}={v}\n" for k, v in lines.items()), encoding="utf-8")
    settings = settings_or_exit()
    assert settings.database_url.get_secret_value() == lines["PARCELDESK_DATABASE_URL"]
    assert settings.staffed_hours == lines["PARCELDESK_STAFFED_HOURS"]
    assert settings.cache_dir.is_absolute()
