"""`parceldesk run`: prepare everything, then start and supervise the whole system."""

from __future__ import annotations

import logging
import signal
import time
from datetime import date
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from core.db import open_database, transaction
from core.settings import Settings
from crm.models import Customer
from crm.schema import upgrade
from nlu.toolchain import ensure_engine, ensure_model, model_hash
from parceldesk.demostaff import (
    demo_staff_hint,
    open_demo_chats,
    register_demo_agent,
    wants_demo_staff,
    with_demo_staff,
)
from parceldesk.processes import (
    RestartBackoff,
    Service,
    ServiceFailed,
    Supervisor,
    action_server_service,
    bot_service,
    ingest_service,
    rasa_service,
    sandbox_service,
)

logger = logging.getLogger(__name__)


def prepare_database(settings: Settings, console: Console, *, demo: bool = True) -> None:
    """Apply migrations and load the demo company on first start (when the demo extra is installed)."""
    from demo import DEMO_EXTRA_MISSING, demo_available

    database = open_database(settings)
    engine = database.engine
    try:
        with console.status("applying database migrations…"):
            upgrade(engine)
        if demo and not demo_available():
            console.print(f"[yellow]![/] demo data not loaded: {DEMO_EXTRA_MISSING}")
        elif demo:
            from demo.company import demo_is_loaded, generate_demo

            with transaction(database.sessions) as session:
                # Only a brand-new database gets the demo company; real data is never mixed with it.
                empty = session.scalar(select(func.count()).select_from(Customer)) == 0
                if empty and not demo_is_loaded(session):
                    with console.status("loading the demo company (customers, shipments, tracking events)…"):
                        summary = generate_demo(session, today=date.today())
                    console.print(f"[green]✓[/] demo data loaded: {summary}")
        console.print(f"[green]✓[/] database ready ({engine.url.render_as_string(hide_password=True)})")
    finally:
        database.dispose()


def registry_live_model(settings: Settings) -> Path | None:
    """The model promoted through the learning loop, when there is one and its file is still cached."""
    from learning.retrain import live_model

    database = open_database(settings)
    try:
        return live_model(database.sessions)
    finally:
        database.dispose()


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def exposed_services(settings: Settings) -> list[str]:
    """The services this run would bind beyond loopback (each has its own *_HOST setting)."""
    names = ["rasa", "action", *(["sandbox"] if settings.uses_sandbox else [])]
    names += ["ingest"] if settings.ingest_token is not None else []
    return [f"{name} on {settings.bind_host(name)}" for name in names if settings.bind_host(name) not in LOOPBACK]


def restart_crashed(supervisor: Supervisor, dead: Service, backoff: RestartBackoff, console: Console) -> bool:
    """Restart a crashed service after its back-off; False when it is crash-looping and everything must stop."""
    code = dead.process.returncode if dead.process is not None else None
    delay = backoff.next_delay(dead.name)
    if delay is None:
        console.print(
            f"[red]✗ {dead.name} keeps crashing ({backoff.max_restarts} restarts in {backoff.window:.0f}s); "
            f"stopping everything.[/] Last lines of its log:\n{escape(dead.log_tail())}"
        )
        logger.error("%s is crash-looping; stopping the system", dead.name)
        return False
    console.print(
        f"[yellow]! {dead.name} stopped unexpectedly (exit code {code}); restarting in {delay:.0f}s.[/] "
        f"Its log: {dead.log_path}"
    )
    logger.warning("%s exited with code %s; restarting in %.0fs", dead.name, code, delay)
    time.sleep(delay)
    try:
        supervisor.restart(dead)
    except ServiceFailed as exc:
        console.print(f"[red]✗ restarting {dead.name} failed:[/] {escape(str(exc))}")
        return True  # the next pass sees it dead again and backs off further
    console.print(f"[green]✓[/] {dead.name} is back")
    return True


def run_system(settings: Settings, console: Console) -> int:
    """Start the whole system and supervise it (crashed services restart with back-off) until Ctrl-C; an exit code."""
    started = time.monotonic()
    for exposed in exposed_services(settings):
        # Allowed (containers need it), but every one of them is a door: say so.
        console.print(f"[yellow]![/] {exposed}: reachable beyond this machine (token-protected, but put a firewall "
                      "or private network in front)")
    prepare_database(settings, console)
    demo_staff = wants_demo_staff(settings)
    if demo_staff:
        # Sandbox mode out of the box: a staff group and an agent in the sandbox, so a handoff has someone to see it.
        settings = with_demo_staff(settings)
        register_demo_agent(settings)

    def show(message: str) -> None:
        console.print(f"  [dim]{message}[/]")

    with console.status("preparing the Rasa engine environment…"):
        engine = ensure_engine(settings, progress=None)
    console.print(f"[green]✓[/] engine environment: {engine.directory}")
    model = registry_live_model(settings)
    if model is not None:
        # Once an admin has promoted a model, that one is served, whatever the data says now: new data goes
        # live only through the gate (`parceldesk learn retrain`).
        console.print(f"[green]✓[/] model: {model.name} (live in the model registry)")
        if model_hash() not in model.name:
            console.print("  [dim]the data or config changed since; `parceldesk learn retrain` gates a new model[/]")
    else:
        with console.status("checking the model (training if the data or config changed)…") as status:
            model = ensure_model(settings, engine, progress=lambda line: status.update(f"training: {line[:100]}"))
        console.print(f"[green]✓[/] model: {model.name}")

    log_dir = settings.data_dir / "logs"
    supervisor = Supervisor(progress=show)

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        # Unwind from wherever we are (even mid start-up); `finally` stops what was started.
        raise KeyboardInterrupt

    # Handle both explicitly: a shell that starts us in the background leaves SIGINT ignored.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with console.status("starting services…"):
            supervisor.start(action_server_service(settings, log_dir))
            supervisor.start(rasa_service(settings, engine, model, log_dir))
            if settings.uses_sandbox:
                supervisor.start(sandbox_service(settings, log_dir))
            supervisor.start(bot_service(settings, log_dir))
            if demo_staff:
                open_demo_chats(settings)
            # The ingestion API is a door into the customer database: it opens only when its token is set.
            if settings.ingest_token is not None:
                supervisor.start(ingest_service(settings, log_dir))
        table = Table(title=f"ParcelDesk is running (ready in {time.monotonic() - started:.0f}s)")
        table.add_column("service", no_wrap=True)
        table.add_column("address", no_wrap=True)
        table.add_column("log", overflow="fold")
        table.add_row("action server", settings.action_server_url, str(log_dir / "actions.log"))
        table.add_row("Rasa", settings.effective_rasa_url, str(log_dir / "rasa.log"))
        if settings.uses_sandbox:
            table.add_row("Telegram sandbox", settings.sandbox_url, str(log_dir / "sandbox.log"))
        table.add_row("bot", "sandbox" if settings.uses_sandbox else "Telegram", str(log_dir / "bot.log"))
        if settings.ingest_token is not None:
            ingest_url = f"http://{settings.connect_host('ingest')}:{settings.ingest_port}"
            table.add_row("ingestion API", f"{ingest_url}/openapi.json", str(log_dir / "ingest.log"))
        console.print(table)
        if settings.ingest_token is None:
            console.print("[dim]ingestion API not started: set PARCELDESK_INGEST_TOKEN to open it[/]")
        if settings.uses_sandbox:
            console.print(
                f"\nNo TELEGRAM_BOT_TOKEN set: chat with the bot at [bold]{settings.sandbox_url}/[/]\n"
                "Try: where is my parcel XJ202611180042  /  我的快递XJ202611180042到哪了"
            )
            if demo_staff:
                console.print(demo_staff_hint(settings))
        console.print("Press Ctrl-C to stop.")
        backoff = RestartBackoff()
        while True:
            dead = supervisor.first_exited()
            if dead is not None and not restart_crashed(supervisor, dead, backoff, console):
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not interrupt the orderly shutdown.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        console.print("stopping…")
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("[green]stopped cleanly[/]")
