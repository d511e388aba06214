"""Settings that lock doors: webhook secret, explicit sandbox mode, per-service bind hosts, and shared tokens."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from core.settings import Settings
from core.tokens import TokenError, action_token, rasa_token, same_token, token_path


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No PARCELDESK_* or bot token from the caller's environment, and no .env (cwd is an empty folder)."""
    for name in list(os.environ):
        if (name.startswith("PARCELDESK_") and not name.startswith("PARCELDESK_TEST_")) or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_webhook_mode_needs_a_secret_telegram_accepts() -> None:
    """A webhook URL without a secret (or an empty one, or one Telegram would reject) is a settings error."""
    for secret in (None, ""):
        with pytest.raises(ValidationError, match="needs PARCELDESK_WEBHOOK_SECRET"):
            Settings(webhook_url="https://bot.example.com/hook", webhook_secret=secret)
    with pytest.raises(ValidationError, match="only A-Z, a-z, 0-9, _ and -"):
        Settings(webhook_url="https://bot.example.com/hook", webhook_secret="has spaces!")
    assert Settings(webhook_url="https://bot.example.com/hook", webhook_secret="s3cret_-OK").webhook_url


def test_validation_errors_never_echo_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot token from the environment does not appear in the error a bad setting raises."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "42:do-not-print-me")
    with pytest.raises(ValidationError) as failed:
        Settings(webhook_url="https://bot.example.com/hook")
    assert "do-not-print-me" not in str(failed.value)


def test_sandbox_mode_is_explicit_and_never_in_production() -> None:
    """Development without a token: the sandbox (the README's first run); production: never, and it says why."""
    assert Settings().uses_sandbox and Settings().bot_mode_error() is None
    real = SecretStr("42:real")
    assert not Settings(telegram_bot_token=real).uses_sandbox
    assert Settings(telegram_bot_token=real, sandbox=True).uses_sandbox  # `parceldesk run --sandbox`
    with pytest.raises(ValidationError, match="production refuses sandbox mode"):
        Settings(env="production", sandbox=True)
    empty_token = Settings(env="production", telegram_bot_token=SecretStr(""))
    assert not empty_token.uses_sandbox
    assert "production needs TELEGRAM_BOT_TOKEN" in (empty_token.bot_mode_error() or "")
    assert "needs TELEGRAM_BOT_TOKEN" in (Settings(sandbox=False).bot_mode_error() or "")
    assert Settings(env="production", telegram_bot_token=real).bot_mode_error() is None


def test_each_service_binds_its_own_host_loopback_by_default() -> None:
    """Loopback unless told; PARCELDESK_HOST stays the default of every service; one service can move alone."""
    default = Settings()
    assert {default.bind_host(name) for name in ("rasa", "action", "sandbox")} == {"127.0.0.1"}
    moved = Settings(host="10.0.0.5", action_host="127.0.0.1")
    assert (moved.bind_host("rasa"), moved.bind_host("action"), moved.bind_host("sandbox")) == (
        "10.0.0.5", "127.0.0.1", "10.0.0.5"
    )
    assert Settings(rasa_host="0.0.0.0").effective_rasa_url == "http://127.0.0.1:5005"


def test_generated_tokens_are_private_stable_and_distinct(tmp_path: Path) -> None:
    """Generated once into <cache>/secrets (folder 0700, file 0600), the same on every call, one per service."""
    settings = Settings(cache_dir=tmp_path / "cache")
    first = rasa_token(settings)
    assert rasa_token(Settings(cache_dir=tmp_path / "cache")) == first and len(first) >= 40
    assert action_token(settings) != first
    path = token_path(settings, "rasa-api")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # a careless copy of the cache: tightened, not trusted as is
    assert rasa_token(settings) == first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert rasa_token(Settings(cache_dir=tmp_path / "cache", rasa_token=SecretStr("configured"))) == "configured"
    path.write_text("")
    with pytest.raises(TokenError, match="is empty"):
        rasa_token(settings)
    assert same_token("abc", "abc") and not same_token("abd", "abc") and not same_token(None, "abc")


def test_a_webhook_deployment_never_falls_back_to_the_sandbox() -> None:
    """A webhook URL without a bot token is an error naming both, not a sandbox; explicitly sandboxed it is fine."""
    hook = {"webhook_url": "https://bot.example.com/hook", "webhook_secret": "s3cret"}
    without_token = Settings(**hook)  # type: ignore[arg-type]
    assert not without_token.uses_sandbox
    assert without_token.bot_api_base_url == "https://api.telegram.org/bot"
    problem = without_token.bot_mode_error() or ""
    assert "webhook mode (PARCELDESK_WEBHOOK_URL) needs TELEGRAM_BOT_TOKEN" in problem
    assert "never falls back to the sandbox" in problem
    assert Settings(**hook, telegram_bot_token=SecretStr("42:real")).bot_mode_error() is None  # type: ignore[arg-type]
    assert Settings(**hook, sandbox=True).uses_sandbox  # type: ignore[arg-type]


def test_parceldesk_run_in_webhook_mode_without_a_token_fails_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`parceldesk run` with a webhook URL and no token exits with the error; no service (sandbox or other) starts."""
    from typer.testing import CliRunner

    from parceldesk import system
    from parceldesk.cli import app

    started: list[object] = []
    monkeypatch.setattr(system, "run_system", lambda *args, **kwargs: started.append(args) or 0)
    monkeypatch.setenv("PARCELDESK_WEBHOOK_URL", "https://bot.example.com/hook")
    monkeypatch.setenv("PARCELDESK_WEBHOOK_SECRET", "s3cret")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1 and started == []
    assert "needs TELEGRAM_BOT_TOKEN" in result.output and "sandbox" in result.output
