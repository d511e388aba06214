"""nlu/trackerstore.py read by Rasa's own code: the endpoints we write make Rasa's SQLTrackerStore open the
application's database (the SQLite file, or the PostgreSQL database, login and schema) and create its table there,
which our schema check then ignores. The Rasa process (engine/serve.py) hides the store's SQL parameters and
redacts its log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from bot.rasa import CHANNEL_WEBHOOK
from core.redaction import unescape_json
from core.settings import PROJECT_ROOT, Settings
from core.tokens import rasa_token
from crm.schema import RASA_EVENTS, schema_differences
from nlu.toolchain import Engine, rasa_endpoint_env, write_endpoints
from parceldesk.processes import Supervisor, rasa_service
from tests.databases import create_database
from tests.e2e.harness import free_port
from tests.e2e.logscan import scan as scan_logs
from tests.privacy.search import search_rasa_events

# Rasa's own reading of an endpoints file (rasa run does the same at start), printing what it connected to.
PROBE = """
import json, sys
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
store = TrackerStore.create(AvailableEndpoints.read_endpoints(sys.argv[1]).tracker_store)
store = getattr(store, "_tracker_store", store)
url = store.engine.url
with store.engine.connect() as connection:
    events = connection.exec_driver_sql("SELECT count(*) FROM events").scalar()
print(json.dumps({"store": type(store).__name__, "database": url.database, "password": url.password,
                  "events": events}))
"""


def test_rasa_opens_the_application_database(engine_model: tuple[Engine, Path], database_backend: str,
                                             tmp_path: Path) -> None:
    """Rasa's SQLTrackerStore, given our endpoints file, connects to the test database (with the password from
    its environment only), creates `events` in it (in the test schema on PostgreSQL), and our schema is unchanged."""
    engine, _ = engine_model
    for database in create_database(database_backend, tmp_path):
        url = database.url
        if database.backend == "postgresql":  # the server trusts local logins: a password is sent, not checked
            url = make_url(url).set(password="s3cret-pw").render_as_string(hide_password=False)
        settings = Settings(database_url=url, database_schema=database.schema, cache_dir=tmp_path / "cache")
        endpoints = write_endpoints(settings)
        assert "s3cret-pw" not in endpoints.read_text(encoding="utf-8")
        result = subprocess.run(
            [str(engine.python), "-c", PROBE, str(endpoints)],
            env={**engine.env(), **rasa_endpoint_env(settings), "PARCELDESK_ACTION_TOKEN": "not-used-here"},
            capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        opened = json.loads(result.stdout.strip().splitlines()[-1])
        assert opened["store"] == "SQLTrackerStore" and opened["events"] == 0
        assert opened["database"] == make_url(database.url).database
        assert opened["password"] == ("s3cret-pw" if database.backend == "postgresql" else None)
        assert inspect(database.engine).has_table(RASA_EVENTS)  # in our database, where our engine looks
        assert schema_differences(database.engine) == []


# engine/serve.py's protection, as `rasa run` gets it: the tracker store (opened from our endpoints file) hides SQL
# parameters, and records written through a plain handler without any filter of ours come out redacted.
PROTECTED_PROBE = """
import io, json, logging, sys
sys.path.insert(0, "engine")
import serve
serve.protect_logs()
from sqlalchemy import text
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
store = TrackerStore.create(AvailableEndpoints.read_endpoints(sys.argv[1]).tracker_store)
store = getattr(store, "_tracker_store", store)
said = sys.argv[2]
buffer = io.StringIO()
handler = logging.StreamHandler(buffer)
for name in ("sqlalchemy.engine", "rasa.probe"):
    logging.getLogger(name).addHandler(handler)
    logging.getLogger(name).setLevel(logging.INFO)
error = ""
with store.engine.connect() as connection:
    connection.execute(text("SELECT :said AS echo"), {"said": said})
    try:
        connection.execute(text("INSERT INTO no_such_table VALUES (:said)"), {"said": said})
    except Exception as exc:
        error = str(exc)
        logging.getLogger("rasa.probe").exception("could not save the tracker")
logging.getLogger("rasa.probe").info("tracker %s", json.dumps({"event": "user", "text": said}))
print(json.dumps({"hidden": store.engine.hide_parameters, "error": error, "log": buffer.getvalue()}))
"""
SAID = "我住上海市徐汇区幸福路88弄3号，电话13800138000"


def test_rasa_process_hides_sql_parameters_and_redacts_its_log(engine_model: tuple[Engine, Path],
                                                               database_backend: str, tmp_path: Path) -> None:
    """In the engine environment, engine/serve.py's protect_logs makes Rasa's tracker-store engine hide parameters
    (statement log and exception) and scrubs every record, JSON-escaped Chinese included."""
    engine, _ = engine_model
    for database in create_database(database_backend, tmp_path):
        settings = Settings(database_url=database.url, database_schema=database.schema, cache_dir=tmp_path / "cache")
        result = subprocess.run(
            [str(engine.python), "-c", PROTECTED_PROBE, str(write_endpoints(settings)), SAID],
            env={**engine.env(), **rasa_endpoint_env(settings), "PARCELDESK_ACTION_TOKEN": "not-used-here"},
            capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["hidden"] is True
        assert "SELECT" in seen["log"] and "no_such_table" in seen["log"] and "parameters hidden" in seen["error"]
        assert "\\u" in seen["log"]  # the JSON line is still written the way Rasa writes it: escaped
        for text in (seen["error"], seen["log"], unescape_json(seen["log"])):
            assert "13800138000" not in text and "幸福路88弄3号" not in text, text
        assert "<address>" in unescape_json(seen["log"]) and "<phone>" in unescape_json(seen["log"])


def test_rasa_run_in_debug_logs_no_personal_data(engine_model: tuple[Engine, Path], database_backend: str,
                                                 tmp_path: Path) -> None:
    """The real server as the supervisor starts it (engine/serve.py), with Rasa's debug logging on: a customer's
    message with a phone number and an address goes through the channel and the tracker store, and Rasa's log
    (its own records, SQLAlchemy's statements and any escaped JSON) holds neither."""
    engine, model = engine_model
    for database in create_database(database_backend, tmp_path):
        settings = Settings(
            rasa_port=free_port(), action_port=free_port(), cache_dir=engine.settings.cache_dir,
            database_url=database.url, database_schema=database.schema,
        )
        logs = tmp_path / f"logs-{database.backend}"
        service = rasa_service(settings, engine, model, logs)
        service.command.append("--debug")
        supervisor = Supervisor()
        try:
            supervisor.start(service)
            response = httpx.post(
                f"{settings.effective_rasa_url}{CHANNEL_WEBHOOK}", params={"token": rasa_token(settings)},
                json={"sender": "tg-770001", "message": SAID, "metadata": {"language": "zh"}}, timeout=60,
            )
            assert response.status_code == 200, response.text
        finally:
            supervisor.stop_all()
        with database.engine.connect() as connection:
            assert search_rasa_events(connection, ["幸福路88弄3号"], ["13800138000"])  # it did go through the store
        log = (logs / "rasa.log").read_text(encoding="utf-8")
        assert "DEBUG" in log and "<phone>" in log and "<address>" in log  # debug records named them, redacted
        assert scan_logs(logs) == []
