"""Child processes inherit system variables and non-secret settings only; each gets just the secrets it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from core.environment import inherited_environment, secret_names
from core.settings import Settings
from nlu.toolchain import Engine
from parceldesk.processes import action_server_service, bot_service, child_env, sandbox_service

SECRET_VALUES = {
    "TELEGRAM_BOT_TOKEN": "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "PARCELDESK_DATABASE_URL": "postgresql+psycopg://desk:s3cret@db/desk",
    "PARCELDESK_WEBHOOK_SECRET": "webhook-s3cret",
    "AWS_SECRET_ACCESS_KEY": "not-ours-at-all",
}


@pytest.fixture()
def leaky_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell with secrets exported, next to ordinary variables."""
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("PARCELDESK_LOG_LEVEL", "DEBUG")


def test_every_secret_setting_is_known_as_secret() -> None:
    """SecretStr settings (and the token's alias) are secrets by type: a new one is covered by itself."""
    names = secret_names()
    assert {"TELEGRAM_BOT_TOKEN", "PARCELDESK_TELEGRAM_BOT_TOKEN", "PARCELDESK_DATABASE_URL",
            "PARCELDESK_WEBHOOK_SECRET"} <= names
    assert "PARCELDESK_LOG_LEVEL" not in names


def test_inherited_environment_keeps_system_and_settings_drops_secrets(leaky_environment: None) -> None:
    """LANG and a non-secret setting pass; tokens, the database URL and unrelated variables do not."""
    env = inherited_environment()
    assert env["LANG"] == "C.UTF-8" and env["PARCELDESK_LOG_LEVEL"] == "DEBUG" and "PATH" in env
    assert not set(SECRET_VALUES) & set(env)
    assert not any(value in env.values() for value in SECRET_VALUES.values())


def test_each_process_gets_only_its_own_secrets(leaky_environment: None, tmp_path: Path) -> None:
    """The sandbox sees no database; the action server and Rasa no bot token; only the bot gets the token."""
    settings = Settings(database_url="sqlite:///x.sqlite3", telegram_bot_token=SecretStr("42:" + "a" * 30),
                        sandbox=False, cache_dir=tmp_path)
    sandbox = sandbox_service(settings, tmp_path).env
    actions = action_server_service(settings, tmp_path).env
    bot = bot_service(settings, tmp_path).env
    rasa = Engine(tmp_path / "engine", settings).env()
    assert "PARCELDESK_DATABASE_URL" not in sandbox
    assert actions["PARCELDESK_DATABASE_URL"] == "sqlite:///x.sqlite3"
    for env in (sandbox, actions, rasa):
        assert "TELEGRAM_BOT_TOKEN" not in env and not any("42:aaa" in value for value in env.values())
    assert "PARCELDESK_DATABASE_URL" not in rasa
    assert bot["TELEGRAM_BOT_TOKEN"] == "42:" + "a" * 30
    assert not any(value in env.values() for env in (sandbox, actions, bot, rasa)
                   for value in SECRET_VALUES.values())
    assert child_env(settings, database=False).get("PARCELDESK_DATABASE_URL") is None


def test_the_database_url_is_a_secret_in_settings() -> None:
    """Printing settings never shows the database password."""
    settings = Settings(database_url="postgresql+psycopg://desk:s3cret@db/desk")
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    assert settings.effective_database_url.get_secret_value().endswith("@db/desk")
