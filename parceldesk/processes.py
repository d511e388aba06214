"""Starting, health-checking and stopping the system's processes (used by `parceldesk run` and the tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.environment import ENV_PREFIX, inherited_environment, secret_names
from core.settings import NO_ENV_FILE_ENV, PROJECT_ROOT, Settings
from core.tokens import ACTION_TOKEN_ENV, RASA_TOKEN_ENV, action_token, rasa_token
from nlu.toolchain import Engine, rasa_endpoint_env, write_endpoints


class ServiceFailed(RuntimeError):
    """A process exited or never became healthy; the message carries the tail of its log."""


@dataclass
class Service:
    """One supervised process."""

    name: str
    command: list[str]
    env: dict[str, str] = field(repr=False)  # holds tokens: never in a repr, a log line or an error
    log_path: Path
    health_url: str | None = None
    health_check: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200
    startup_timeout: float = 60.0
    # Query parameters of the health check (Rasa's /status wants its API token); kept out of repr and logs.
    health_params: dict[str, str] = field(default_factory=dict, repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the service's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


HANDOFF_SETTINGS = (
    "staff_chat_id",
    "staff_language",
    "staffed_hours",
    "staffed_timezone",
    "handoff_job_interval_seconds",
    "sla_claim_minutes",
    "sla_reply_minutes",
    "sla_supervisor_minutes",
    "handle_minutes",
    "queue_notice_seconds",
    "contact_phone",
    "contact_email",
    "clock_file",
)
# Proactive care: the ingestion API writes notices (max age), the bot sends them (interval, quiet hours).
NOTICE_SETTINGS = ("quiet_hours", "notice_job_interval_seconds", "notice_max_age_hours")
# Load and faults: concurrency, Telegram's limits, the spool and SQLite's lock wait (every process agrees).
LOAD_SETTINGS = (
    "max_working_updates",
    "telegram_messages_per_second",
    "telegram_group_messages_per_minute",
    "telegram_retries",
    "outbox_retry_seconds",
    "outbox_max_retry_seconds",
    "outbox_give_up_minutes",
    "spool_dir",
    "spool_retry_seconds",
    "sqlite_busy_timeout_seconds",
)


# Webhook mode is the bot's alone (bot_service adds these): another child given the URL without the secret would
# fail the settings' webhook check.
WEBHOOK_NAMES = frozenset({"PARCELDESK_WEBHOOK_URL", "PARCELDESK_WEBHOOK_LISTEN", "PARCELDESK_WEBHOOK_PORT"})


def _env_value(value: object) -> str:
    """A setting's value as the child's settings read it back from the environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def given_settings(settings: Settings) -> dict[str, str]:
    """Every non-secret setting this process was given (environment, `.env`, arguments), as environment variables.

    Children do not read `.env` (NO_ENV_FILE_ENV): what was configured there reaches them this way, resolved,
    secrets excepted.
    """
    secrets = secret_names()
    given: dict[str, str] = {}
    for name in sorted(settings.model_fields_set):
        key, value = f"{ENV_PREFIX}{name.upper()}", getattr(settings, name)
        if key not in secrets and key not in WEBHOOK_NAMES and value is not None:
            given[key] = _env_value(value)
    return given


def child_env(settings: Settings, *, database: bool = True, **extra: str) -> dict[str, str]:
    """Environment for our own processes: resolved settings so every process agrees on them.

    Only system variables and non-secret settings are inherited (core/environment.py), plus the non-secret settings
    this process read from `.env`; children never read `.env` themselves (NO_ENV_FILE_ENV). Secrets are added by
    name for the processes that need them: the database URL here unless database=False, the rest by the caller.
    """
    env = {key: value for key, value in inherited_environment().items() if key not in WEBHOOK_NAMES}
    env.update(given_settings(settings))
    env.update(
        {
            # The settings are all here: the project's .env (with every secret in it) stays unread.
            NO_ENV_FILE_ENV: "1",
            "PARCELDESK_HOST": settings.host,
            "PARCELDESK_RASA_HOST": settings.bind_host("rasa"),
            "PARCELDESK_ACTION_HOST": settings.bind_host("action"),
            "PARCELDESK_SANDBOX_HOST": settings.bind_host("sandbox"),
            "PARCELDESK_ENV": settings.env,
            # The mode is decided once, here: a child must not guess it again from a token in .env.
            "PARCELDESK_SANDBOX": "true" if settings.uses_sandbox else "false",
            "PARCELDESK_RASA_PORT": str(settings.rasa_port),
            "PARCELDESK_ACTION_PORT": str(settings.action_port),
            "PARCELDESK_SANDBOX_PORT": str(settings.sandbox_port),
            "PARCELDESK_RASA_URL": settings.effective_rasa_url,
            "PARCELDESK_CACHE_DIR": str(settings.cache_dir),
            "PARCELDESK_TELEGRAM_API_URL": settings.bot_api_base_url,
            "PARCELDESK_RASA_TIMEOUT_SECONDS": str(settings.rasa_timeout_seconds),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if database:
        env["PARCELDESK_DATABASE_URL"] = settings.effective_database_url.get_secret_value()
        if settings.database_schema:
            env["PARCELDESK_DATABASE_SCHEMA"] = settings.database_schema
    # The bot's /retrain trains where `parceldesk learn` would.
    env["PARCELDESK_LEARN_PROJECT_ROOT"] = str(settings.learn_project_root)
    # The human queue's knobs: the bot runs the jobs, the action server answers with positions and hours.
    for name in (*HANDOFF_SETTINGS, *NOTICE_SETTINGS, *LOAD_SETTINGS):
        value = getattr(settings, name)
        if value is not None:
            env[f"PARCELDESK_{name.upper()}"] = str(value)
    env.update(extra)
    return env


def action_server_service(settings: Settings, log_dir: Path) -> Service:
    """The rasa-sdk action server (actions/server.py: refuses calls without the shared secret), on its host only."""
    return Service(
        name="actions",
        command=[sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(settings.action_port)],
        # The secret travels by environment, never on the command line (visible in ps).
        env=child_env(settings, **{ACTION_TOKEN_ENV: action_token(settings)}),
        log_path=log_dir / "actions.log",
        health_url=f"http://{settings.connect_host('action')}:{settings.action_port}/health",
        startup_timeout=60,
    )


def rasa_service(settings: Settings, engine: Engine, model: Path, log_dir: Path) -> Service:
    """The Rasa server with its token-protected HTTP API and the bot's channel, on its host only."""
    token = rasa_token(settings)
    # engine/serve.py turns the API token into --auth-token inside the process (not on the command line);
    # the channel checks the same token, and Rasa expands the action server's secret into the endpoints file.
    # The tracker store is the application's database (nlu/trackerstore.py): its password, if any, goes by
    # environment too. It is kept: a restart (or a crash and the supervisor's restart) continues every
    # conversation where it was, half-filled forms included. Erasure and retention delete from it (privacy/).
    endpoints = write_endpoints(settings)
    env = {
        **engine.env(), **rasa_endpoint_env(settings), RASA_TOKEN_ENV: token, ACTION_TOKEN_ENV: action_token(settings)
    }
    return Service(
        name="rasa",
        command=[
            str(engine.python), str(PROJECT_ROOT / "engine" / "serve.py"), "run",
            "--enable-api",
            "--model", str(model),
            "--endpoints", str(endpoints),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"),
            "-i", settings.bind_host("rasa"),
            "-p", str(settings.rasa_port),
        ],
        env=env,
        log_path=log_dir / "rasa.log",
        health_url=f"{settings.effective_rasa_url}/status",
        health_params={"token": token},
        health_check=lambda response: response.status_code == 200 and bool(response.json().get("model_file")),
        startup_timeout=240,
    )


def sandbox_service(settings: Settings, log_dir: Path) -> Service:
    """The local Telegram sandbox; its control API and chat page need this run's control token."""
    return Service(
        name="sandbox",
        command=[
            sys.executable, "-m", "sandbox",
            "--host", settings.bind_host("sandbox"), "--port", str(settings.sandbox_port),
        ],
        # The sandbox stands in for Telegram: it never sees the customer database.
        env=child_env(
            settings, database=False, SANDBOX_CONTROL_TOKEN=settings.sandbox_control_token.get_secret_value()
        ),
        log_path=log_dir / "sandbox.log",
        health_url=f"{settings.sandbox_url}/healthz",
        startup_timeout=30,
    )


def bot_service(settings: Settings, log_dir: Path, **extra_env: str) -> Service:
    """The Telegram bot (with Rasa's API token: its channel and API refuse calls without it)."""
    env = child_env(settings, **{RASA_TOKEN_ENV: rasa_token(settings)}, **extra_env)
    if not settings.uses_sandbox and settings.telegram_bot_token is not None:
        env["TELEGRAM_BOT_TOKEN"] = settings.telegram_bot_token.get_secret_value()
    if settings.webhook_url:
        # Secrets travel by environment, never on the command line (visible in ps).
        env["PARCELDESK_WEBHOOK_URL"] = settings.webhook_url
        env["PARCELDESK_WEBHOOK_LISTEN"] = settings.webhook_listen
        env["PARCELDESK_WEBHOOK_PORT"] = str(settings.webhook_port)
        if settings.webhook_secret is not None:
            env["PARCELDESK_WEBHOOK_SECRET"] = settings.webhook_secret.get_secret_value()
    return Service(
        name="bot", command=[sys.executable, "-m", "bot"], env=env, log_path=log_dir / "bot.log", startup_timeout=20
    )


def ingest_service(settings: Settings, log_dir: Path) -> Service:
    """The HTTP ingestion API (ingest/), on its own host and port; only started with an ingest token."""
    if settings.ingest_token is None:
        raise ValueError("the ingestion API needs PARCELDESK_INGEST_TOKEN")
    env = child_env(
        settings,
        # The token travels by environment, never on the command line (visible in ps).
        PARCELDESK_INGEST_TOKEN=settings.ingest_token.get_secret_value(),
        PARCELDESK_INGEST_HOST=settings.bind_host("ingest"),
        PARCELDESK_INGEST_PORT=str(settings.ingest_port),
        PARCELDESK_INGEST_MAX_ITEMS=str(settings.ingest_max_items),
        PARCELDESK_INGEST_MAX_BODY_BYTES=str(settings.ingest_max_body_bytes),
    )
    return Service(
        name="ingest",
        command=[sys.executable, "-m", "ingest"],
        env=env,
        log_path=log_dir / "ingest.log",
        health_url=f"http://{settings.connect_host('ingest')}:{settings.ingest_port}/healthz",
        startup_timeout=30,
    )


class Supervisor:
    """Starts services in order, waits for each to be healthy, and stops them all in reverse order."""

    def __init__(self, progress: Callable[[str], None] | None = None) -> None:
        """Create an empty supervisor."""
        self.services: list[Service] = []
        self.progress = progress or (lambda _message: None)

    def start(self, service: Service) -> Service:
        """Start a service and block until it is healthy (or raise ServiceFailed)."""
        service.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = service.log_path.open("ab")
        service.process = subprocess.Popen(
            service.command,
            cwd=PROJECT_ROOT,
            env=service.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop children in order.
        )
        log.close()
        self.services.append(service)
        self.progress(f"starting {service.name} (log: {service.log_path})")
        self._wait_healthy(service)
        self.progress(f"{service.name} is up")
        return service

    def _wait_healthy(self, service: Service) -> None:
        """Poll the health URL (or just liveness) until the startup timeout."""
        deadline = time.monotonic() + service.startup_timeout
        settle = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            if not service.running:
                raise ServiceFailed(f"{service.name} exited during start-up:\n{service.log_tail()}")
            if service.health_url is None:
                if time.monotonic() >= settle:
                    return
            else:
                try:
                    response = httpx.get(service.health_url, params=service.health_params or None, timeout=2.0)
                    if service.health_check(response):
                        return
                except (httpx.HTTPError, ValueError):
                    pass
            time.sleep(0.5)
        raise ServiceFailed(
            f"{service.name} was not healthy within {service.startup_timeout:.0f}s:\n{service.log_tail()}"
        )

    def stop(self, service: Service, timeout: float = 15.0) -> None:
        """Stop one service: SIGTERM to its process group, SIGKILL if it lingers."""
        process = service.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def kill_leftovers(self, service: Service) -> None:
        """Kill what a crashed service left in its process group (e.g. Sanic workers still holding its port)."""
        process = service.process
        if process is None:
            return
        self.stop(service)  # a leader still alive gets the orderly SIGTERM first
        try:
            # stop() returns early when the leader is dead, but its children may live on in its group.
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(process.pid):
            time.sleep(0.1)

    def stop_all(self) -> None:
        """Stop every service, newest first."""
        for service in reversed(self.services):
            if service.running:
                self.progress(f"stopping {service.name}")
            self.kill_leftovers(service)  # stop(), and whatever a crashed leader left in its group
        self.services.clear()

    def first_exited(self) -> Service | None:
        """A service that has exited on its own, if any."""
        return next((service for service in self.services if not service.running), None)

    def restart(self, service: Service) -> None:
        """Start a crashed service again with the same command and environment (raises ServiceFailed)."""
        self.kill_leftovers(service)
        self.services = [s for s in self.services if s is not service]
        try:
            self.start(service)
        except ServiceFailed:
            # Leave it dead (not half-up) so the next supervision pass sees it and backs off further.
            self.stop(service)
            raise


def _group_alive(pgid: int) -> bool:
    """True while any process of the group still exists."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@dataclass
class RestartBackoff:
    """When to restart a crashed service: exponential back-off, and a crash loop gives up.

    `delay` doubles from `first_delay` up to `max_delay` while crashes keep coming; more than `max_restarts`
    restarts of one service within `window` seconds is a crash loop (restarting would only hide it).
    """

    first_delay: float = 1.0
    max_delay: float = 30.0
    max_restarts: int = 5
    window: float = 300.0
    history: dict[str, list[float]] = field(default_factory=dict)

    def next_delay(self, name: str, now: float | None = None) -> float | None:
        """Seconds to wait before restarting `name`, or None when it is crash-looping (give up)."""
        now = time.monotonic() if now is None else now
        recent = [at for at in self.history.get(name, []) if now - at < self.window]
        if len(recent) >= self.max_restarts:
            self.history[name] = recent
            return None
        recent.append(now)
        self.history[name] = recent
        return min(self.first_delay * 2 ** (len(recent) - 1), self.max_delay)
