"""parceldesk/processes.py: the children's environment, the service definitions and the supervisor (real processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from core.db import CONNECT_TIMEOUT_SECONDS
from core.settings import NO_ENV_FILE_ENV, PROJECT_ROOT, SANDBOX_TOKEN, Settings
from core.tokens import ACTION_TOKEN_ENV, RASA_TOKEN_ENV, action_token, rasa_token
from nlu.toolchain import Engine
from nlu.trackerstore import TRACKER_PASSWORD_ENV, TrackerStoreError
from parceldesk.processes import (
    HANDOFF_SETTINGS,
    Service,
    ServiceFailed,
    Supervisor,
    action_server_service,
    bot_service,
    child_env,
    rasa_service,
    sandbox_service,
)

# A child that answers HTTP on the port given, optionally ignoring SIGTERM first, optionally with a grandchild.
SERVER = textwrap.dedent(
    """
    import http.server, signal, subprocess, sys
    port, ignore_term, grandchild = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1"
    if ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if grandchild:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(f"grandchild {child.pid}", flush=True)
    print("serving", flush=True)
    http.server.HTTPServer(("127.0.0.1", port), http.server.BaseHTTPRequestHandler).serve_forever()
    """
)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_child(log_dir: Path, *, ignore_term: bool = False, grandchild: bool = False) -> Service:
    """A service that is healthy once it answers HTTP (any status: BaseHTTPRequestHandler answers 501)."""
    port = free_port()
    return Service(
        name="web",
        command=[sys.executable, "-c", SERVER, str(port), str(int(ignore_term)), str(int(grandchild))],
        env=dict(os.environ),
        log_path=log_dir / "web.log",
        health_url=f"http://127.0.0.1:{port}/",
        health_check=lambda response: response.status_code == 501,
        startup_timeout=20,
    )


def gone(pid: int) -> bool:
    """True when a process no longer runs (reaped, or a zombie waiting for its new parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture()
def supervisor() -> Iterator[Supervisor]:
    """A supervisor whose services are stopped even when a test fails."""
    messages: list[str] = []
    running = Supervisor(progress=messages.append)
    yield running
    running.stop_all()


@pytest.fixture()
def settings(clean_env: Path, tmp_path: Path) -> Settings:
    """Non-default settings, independent of the caller's environment."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        database_schema="desk",
        host="127.0.0.2",
        rasa_port=6000,
        action_port=6001,
        sandbox_port=6002,
        cache_dir=tmp_path / "cache",
        staff_chat_id=-100123,
        clock_file=tmp_path / "clock",
        rasa_timeout_seconds=2.5,
    )


# --- environment and service definitions ------------------------------------------------------------------------


def test_child_env_carries_the_resolved_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Children get the resolved URLs, ports, schema and queue knobs, the caller's system variables and extras."""
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("SOMETHING_ELSE", "not for children")  # only system variables and settings are inherited
    env = child_env(settings, PARCELDESK_HOST="overridden", EXTRA="1")
    assert env["LANG"] == "C.UTF-8" and "SOMETHING_ELSE" not in env and env["EXTRA"] == "1"
    assert env["PARCELDESK_HOST"] == "overridden"
    assert env["PARCELDESK_DATABASE_URL"] == settings.effective_database_url.get_secret_value()
    assert env["PARCELDESK_DATABASE_SCHEMA"] == "desk"
    assert env["PARCELDESK_RASA_URL"] == "http://127.0.0.2:6000"
    assert (env["PARCELDESK_RASA_PORT"], env["PARCELDESK_ACTION_PORT"], env["PARCELDESK_SANDBOX_PORT"]) == (
        "6000", "6001", "6002"
    )
    assert env["PARCELDESK_TELEGRAM_API_URL"] == "http://127.0.0.2:6002/bot"  # no token: the sandbox
    assert env["PARCELDESK_RASA_TIMEOUT_SECONDS"] == "2.5"
    assert env["PARCELDESK_CACHE_DIR"] == str(settings.cache_dir)
    assert env["PARCELDESK_STAFF_CHAT_ID"] == "-100123"
    assert env["PARCELDESK_CLOCK_FILE"] == str(settings.clock_file)
    assert env["PARCELDESK_STAFFED_HOURS"] == "08:00-22:00" and env["PYTHONUNBUFFERED"] == "1"
    assert all(f"PARCELDESK_{name.upper()}" in env for name in HANDOFF_SETTINGS)


def test_child_env_leaves_out_unset_optional_settings(clean_env: Path) -> None:
    """Settings that are None (staff chat, clock file, schema) are not passed as empty strings."""
    env = child_env(Settings())
    for name in ("PARCELDESK_STAFF_CHAT_ID", "PARCELDESK_CLOCK_FILE", "PARCELDESK_DATABASE_SCHEMA"):
        assert name not in env
    assert env["PARCELDESK_DATABASE_URL"].startswith("sqlite:///")


def test_a_child_reads_child_env_back_as_the_same_settings(settings: Settings) -> None:
    """What child_env writes, load_settings in a child process reads back unchanged."""
    probe = (
        "import json; from core.settings import load_settings; s = load_settings(); "
        "print(json.dumps([s.effective_database_url.get_secret_value(), s.database_schema, s.rasa_port, "
        "s.effective_rasa_url, s.staff_chat_id, s.bot_api_base_url, s.rasa_timeout_seconds]))"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=child_env(settings), cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [settings.effective_database_url.get_secret_value(), "desk", 6000, "http://127.0.0.2:6000",
                                         -100123, "http://127.0.0.2:6002/bot", 2.5]


DOTENV_PROBE = (
    "import json; from core.settings import load_settings; s = load_settings(); "
    "print(json.dumps([s.telegram_bot_token is not None, s.ingest_token is not None, s.webhook_secret is not None, "
    "s.webhook_url, s.brand_name_en, s.retention_chat_days, s.weekly_report]))"
)


def test_children_do_not_read_dotenv(clean_env: Path, tmp_path: Path) -> None:
    """Children run in the folder holding `.env` (the project root): they do not read it, so a secret only there
    stays with the parent; the non-secret settings written there reach them through child_env, and webhook mode only
    through bot_service."""
    (clean_env / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=42:only-in-dotenv\n"
        "PARCELDESK_INGEST_TOKEN=ingest-token-only-in-dotenv\n"
        "PARCELDESK_WEBHOOK_URL=https://bot.example.com/hook\n"
        "PARCELDESK_WEBHOOK_SECRET=hook-secret-only-in-dotenv\n"
        "PARCELDESK_BRAND_NAME_EN=Dotenv Express\n"
        "PARCELDESK_RETENTION_CHAT_DAYS=90\n"
        "PARCELDESK_WEEKLY_REPORT=false\n"
        f"PARCELDESK_DATABASE_URL=sqlite:///{tmp_path / 'x.sqlite3'}\n"
        f"PARCELDESK_CACHE_DIR={tmp_path / 'cache'}\n",
        encoding="utf-8",
    )
    parent = Settings()
    assert parent.telegram_bot_token is not None and parent.brand_name_en == "Dotenv Express"

    def child_sees(env: dict[str, str]) -> list[object]:
        result = subprocess.run([sys.executable, "-c", DOTENV_PROBE], env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
                                cwd=clean_env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return list(json.loads(result.stdout))

    env = child_env(parent)
    assert "42:only-in-dotenv" not in env.values() and "PARCELDESK_WEBHOOK_URL" not in env
    assert child_sees(env) == [False, False, False, None, "Dotenv Express", 90, False]
    # The bot alone gets its token and webhook mode, by name.
    bot = bot_service(parent, tmp_path)
    assert child_sees(bot.env) == [True, False, True, "https://bot.example.com/hook", "Dotenv Express", 90, False]
    # The probe is sound: the same environment without the flag does read .env.
    unflagged = {key: value for key, value in env.items() if key != NO_ENV_FILE_ENV}
    assert child_sees(unflagged)[:3] == [True, True, True]


def test_bot_service_passes_secrets_by_environment_only(settings: Settings) -> None:
    """The real token and the webhook secret reach the bot in its environment, never on its command line."""
    real = settings.model_copy(update={
        "telegram_bot_token": SecretStr("42:real-token"),
        "webhook_url": "https://bot.example.com/telegram",
        "webhook_secret": SecretStr("s3cret"),
        "webhook_port": 9443,
    })
    service = bot_service(real, Path("/tmp/logs"), EXTRA_FLAG="on")
    assert service.command == [sys.executable, "-m", "bot"]
    assert service.env["TELEGRAM_BOT_TOKEN"] == "42:real-token"
    assert service.env["PARCELDESK_WEBHOOK_SECRET"] == "s3cret"
    assert service.env["PARCELDESK_WEBHOOK_URL"] == "https://bot.example.com/telegram"
    assert service.env["PARCELDESK_WEBHOOK_PORT"] == "9443" and service.env["EXTRA_FLAG"] == "on"
    assert "s3cret" not in " ".join(service.command) and "real-token" not in " ".join(service.command)
    assert service.log_path == Path("/tmp/logs/bot.log") and service.health_url is None

    sandboxed = bot_service(settings, Path("/tmp/logs"))
    assert "TELEGRAM_BOT_TOKEN" not in sandboxed.env and "PARCELDESK_WEBHOOK_URL" not in sandboxed.env
    assert settings.bot_token == SANDBOX_TOKEN


def test_action_server_and_sandbox_bind_the_configured_host(settings: Settings, tmp_path: Path) -> None:
    """The action server (our guarded rasa-sdk server) and the sandbox listen on their hosts, secrets by environment."""
    actions = action_server_service(settings, tmp_path)
    assert actions.command[1:] == ["-m", "actions.server", "--actions", "actions", "--port", "6001"]
    assert actions.env["PARCELDESK_ACTION_HOST"] == "127.0.0.2"
    assert actions.health_url == "http://127.0.0.2:6001/health"
    assert actions.env[ACTION_TOKEN_ENV] == action_token(settings)
    assert action_token(settings) not in " ".join(actions.command)
    sandbox = sandbox_service(settings, tmp_path)
    assert sandbox.command[1:] == ["-m", "sandbox", "--host", "127.0.0.2", "--port", "6002"]
    assert sandbox.health_url == "http://127.0.0.2:6002/healthz"
    assert sandbox.env["SANDBOX_CONTROL_TOKEN"] == settings.sandbox_control_token.get_secret_value()


def test_each_service_has_its_own_bind_host(settings: Settings, tmp_path: Path) -> None:
    """PARCELDESK_<SERVICE>_HOST overrides PARCELDESK_HOST for that service alone; 0.0.0.0 is reached on loopback."""
    split = settings.model_copy(update={"host": "127.0.0.1", "rasa_host": "0.0.0.0", "sandbox_host": "127.0.0.3"})
    assert [split.bind_host(name) for name in ("rasa", "action", "sandbox")] == ["0.0.0.0", "127.0.0.1", "127.0.0.3"]
    assert split.effective_rasa_url == "http://127.0.0.1:6000"
    assert split.action_server_url == "http://127.0.0.1:6001/webhook"
    assert split.sandbox_url == "http://127.0.0.3:6002"
    assert sandbox_service(split, tmp_path).command[-3] == "127.0.0.3"
    command = rasa_service(split, Engine(tmp_path / "engine", split), tmp_path / "m.tar.gz", tmp_path).command
    assert command[command.index("-i") + 1] == "0.0.0.0"


def test_rasa_service_keeps_conversations_in_the_application_database(settings: Settings, tmp_path: Path) -> None:
    """Rasa runs the model with the API on, our endpoints and credentials; its tracker store is the application's
    SQLite file (by absolute path, with our busy timeout), which starting Rasa leaves as it was."""
    database = tmp_path / "x.sqlite3"
    database.write_text("old conversations")
    orphan = settings.cache_dir / "run" / "trackers-6000.db"  # this Rasa's private store in earlier versions
    orphan.parent.mkdir(parents=True)
    orphan.write_text("conversations erasure no longer reaches")
    engine = Engine(tmp_path / "engine", settings)
    service = rasa_service(settings, engine, tmp_path / "model.tar.gz", tmp_path / "logs")
    assert database.read_text() == "old conversations"
    assert not orphan.exists()
    command = service.command
    # engine/serve.py adds --auth-token from the environment: the token is never on the command line.
    assert command[:4] == [str(engine.python), str(PROJECT_ROOT / "engine" / "serve.py"), "run", "--enable-api"]
    assert service.env[RASA_TOKEN_ENV] == rasa_token(settings) and rasa_token(settings) not in " ".join(command)
    assert service.env[ACTION_TOKEN_ENV] == action_token(settings)
    assert command[command.index("--model") + 1] == str(tmp_path / "model.tar.gz")
    assert command[command.index("--credentials") + 1] == str(PROJECT_ROOT / "credentials.yml")
    assert (command[command.index("-i") + 1], command[command.index("-p") + 1]) == ("127.0.0.2", "6000")
    path = Path(command[command.index("--endpoints") + 1])
    endpoints = path.read_text(encoding="utf-8")
    assert "X-ParcelDesk-Action-Token: ${PARCELDESK_ACTION_TOKEN}" in endpoints
    assert action_token(settings) not in endpoints  # Rasa expands the variable from its environment
    assert yaml.safe_load(endpoints)["tracker_store"] == {
        "type": "SQL", "dialect": "sqlite", "db": str(database.resolve()),
        "query": {"timeout": str(settings.sqlite_busy_timeout_seconds)},
    }
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0  # owner only
    assert TRACKER_PASSWORD_ENV not in service.env
    assert service.health_url == "http://127.0.0.2:6000/status"
    assert service.health_params == {"token": rasa_token(settings)} and rasa_token(settings) not in repr(service)


def test_rasa_tracker_store_on_postgresql_is_our_database_and_schema(settings: Settings, tmp_path: Path) -> None:
    """PostgreSQL: Rasa (psycopg2) gets our host, port, database, login, libpq options and schema; the password
    travels by environment only, never in the endpoints file, the command line or a repr."""
    url = "postgresql+psycopg://desk:s3cret-pw@db.example:6543/parcels?sslmode=require&options=-cother"
    postgres = settings.model_copy(update={"database_url": SecretStr(url), "database_schema": "desk_a"})
    service = rasa_service(postgres, Engine(tmp_path / "engine", postgres), tmp_path / "m.tar.gz", tmp_path / "logs")
    endpoints = Path(service.command[service.command.index("--endpoints") + 1]).read_text(encoding="utf-8")
    assert yaml.safe_load(endpoints)["tracker_store"] == {
        "type": "SQL", "dialect": "postgresql", "url": "db.example", "port": 6543, "db": "parcels",
        "username": "desk", "password": f"${{{TRACKER_PASSWORD_ENV}}}",
        # core/db.py sets the search_path from the schema setting (replacing the URL's options): so does Rasa.
        "query": {"sslmode": "require", "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
                  "options": "-csearch_path=desk_a"},
    }
    assert "s3cret-pw" not in endpoints and "s3cret-pw" not in " ".join(service.command)
    assert service.env[TRACKER_PASSWORD_ENV] == "s3cret-pw" and "s3cret-pw" not in repr(service)
    assert int(service.env["SQL_POOL_SIZE"]) + int(service.env["SQL_MAX_OVERFLOW"]) <= 10  # not Rasa's 150
    assert "s3cret-pw" not in json.dumps(child_env(postgres, database=False))


def test_rasa_cannot_share_an_in_memory_database(settings: Settings, tmp_path: Path) -> None:
    """An in-memory SQLite (or another backend) cannot hold Rasa's conversations: a clear error, not a lost store."""
    for url in ("sqlite://", "mysql://u@h/db"):
        other = settings.model_copy(update={"database_url": SecretStr(url)})
        with pytest.raises(TrackerStoreError):
            rasa_service(other, Engine(tmp_path / "engine", other), tmp_path / "m.tar.gz", tmp_path / "logs")


# --- the supervisor with real child processes -------------------------------------------------------------------


def test_supervisor_starts_waits_for_health_and_stops_the_whole_process_group(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """start() returns once the health URL answers; stop_all() ends the child and the child's own children."""
    service = supervisor.start(http_child(tmp_path, grandchild=True))
    assert service.running and supervisor.services == [service]
    assert supervisor.first_exited() is None
    log = service.log_path.read_text(encoding="utf-8")
    assert "serving" in log
    grandchild = int(log.split("grandchild ")[1].split()[0])
    assert not gone(grandchild)

    supervisor.stop_all()
    assert not service.running and supervisor.services == []
    deadline = time.monotonic() + 5
    while not gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(grandchild)


def test_a_child_that_ignores_sigterm_is_killed(supervisor: Supervisor, tmp_path: Path) -> None:
    """stop() waits for SIGTERM, then sends SIGKILL to a child that will not go."""
    service = supervisor.start(http_child(tmp_path, ignore_term=True))
    started = time.monotonic()
    supervisor.stop(service, timeout=0.5)
    assert service.process is not None and service.process.returncode == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - started < 10


def test_a_child_that_exits_during_start_up_raises_with_its_log(supervisor: Supervisor, tmp_path: Path) -> None:
    """A process that dies before it is healthy: ServiceFailed naming it, with the tail of its log."""
    service = Service(
        name="crashy",
        command=[sys.executable, "-c", "import sys; print('cannot bind: address in use', flush=True); sys.exit(3)"],
        env=dict(os.environ),
        log_path=tmp_path / "logs" / "crashy.log",
        health_url=f"http://127.0.0.1:{free_port()}/",
    )
    with pytest.raises(ServiceFailed) as failed:
        supervisor.start(service)
    assert str(failed.value).startswith("crashy exited during start-up:")
    assert "cannot bind: address in use" in str(failed.value)
    assert not service.running


def test_a_child_that_never_becomes_healthy_times_out(supervisor: Supervisor, tmp_path: Path) -> None:
    """No answer on the health URL within the start-up timeout: ServiceFailed; stop_all still ends the child."""
    service = Service(
        name="silent",
        command=[sys.executable, "-c", "import time; print('starting…', flush=True); time.sleep(60)"],
        env=dict(os.environ),
        log_path=tmp_path / "silent.log",
        health_url=f"http://127.0.0.1:{free_port()}/",
        startup_timeout=1.0,
    )
    with pytest.raises(ServiceFailed, match=r"^silent was not healthy within 1s:\nstarting…"):
        supervisor.start(service)
    assert service.running and supervisor.services == [service]
    supervisor.stop_all()
    assert not service.running


def test_without_a_health_url_a_child_that_stays_up_counts_as_started(supervisor: Supervisor, tmp_path: Path) -> None:
    """Liveness only (the bot): started after a few seconds alive; first_exited() reports it once it dies."""
    service = Service(
        name="quiet",
        command=[sys.executable, "-c", "import time; time.sleep(60)"],
        env=dict(os.environ),
        log_path=tmp_path / "quiet.log",
    )
    assert service.log_tail() == "(no log)"
    started = time.monotonic()
    supervisor.start(service)
    assert time.monotonic() - started >= 2.5 and service.running
    assert service.process is not None
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(timeout=5)
    assert supervisor.first_exited() is service
