"""Tokens our processes share (Rasa's HTTP API token, the action server's secret): from settings, else generated once.

A generated token lives in `<cache_dir>/secrets/<name>.token`, readable by its owner only (file 0600, folder 0700),
so the supervisor, the bot and the CLI (`parceldesk learn …`) of one machine find the same token without passing it
on a command line. Set the setting instead (PARCELDESK_RASA_TOKEN, PARCELDESK_ACTION_TOKEN) when a service runs
somewhere else, e.g. in its own container.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

from pydantic import SecretStr

from core.settings import Settings

RASA_API = "rasa-api"
ACTION_SERVER = "action-server"
# The header Rasa sends with every action call (endpoints.yml `headers`), checked by actions/server.py.
ACTION_TOKEN_HEADER = "X-ParcelDesk-Action-Token"
# The environment variables the supervisor hands a token to its children in (never the command line: ps shows it).
RASA_TOKEN_ENV = "PARCELDESK_RASA_TOKEN"
ACTION_TOKEN_ENV = "PARCELDESK_ACTION_TOKEN"


class TokenError(RuntimeError):
    """A token file exists but cannot be used; the message says which and what to do."""


def token_path(settings: Settings, name: str) -> Path:
    """Where a generated token is kept."""
    return settings.cache_dir / "secrets" / f"{name}.token"


def _read(path: Path) -> str:
    """A token file's content, after making sure nobody but its owner can read it."""
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        # Someone copied the cache with loose permissions: tighten rather than refuse to start.
        os.chmod(path, 0o600)
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise TokenError(f"{path} is empty; delete it and a new token is generated on the next start")
    return token


def shared_token(settings: Settings, name: str, configured: SecretStr | None) -> str:
    """The configured token, else the one generated into the cache dir (created atomically on first use)."""
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    path = token_path(settings, name)
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    # mkstemp creates the file 0600; link() publishes it only if no other process got there first.
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass  # another process won the race: everyone uses its token
    finally:
        os.unlink(scratch)
    return _read(path)


def rasa_token(settings: Settings) -> str:
    """The token of Rasa's HTTP API and of the bot's Rasa channel."""
    return shared_token(settings, RASA_API, settings.rasa_token)


def action_token(settings: Settings) -> str:
    """The secret Rasa presents to the action server."""
    return shared_token(settings, ACTION_SERVER, settings.action_token)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison (no timing hints about how much of a guess was right)."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
