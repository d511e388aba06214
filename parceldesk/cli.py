"""The `parceldesk` command: run the system, manage the database, staff, the engine and the model."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from parceldesk.cli_learn import learn_app
from parceldesk.cli_staff import desk_app
from parceldesk.settings import Settings, load_settings

app = typer.Typer(help="ParcelDesk — customer-service desk for express-delivery companies.", no_args_is_help=True)
db_app = typer.Typer(help="The customer database: migrations and demo data.", no_args_is_help=True)
staff_app = typer.Typer(help="Service-centre staff and their roles.", no_args_is_help=True)
nlu_app = typer.Typer(help="The intent model: train, validate, test.", no_args_is_help=True)
engine_app = typer.Typer(help="The Rasa engine environment (Python 3.10).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(nlu_app, name="nlu")
app.add_typer(engine_app, name="engine")
app.add_typer(desk_app, name="desk")
app.add_typer(learn_app, name="learn")

console = Console()
err = Console(stderr=True)


def settings_or_exit() -> Settings:
    """Load settings, or explain what is wrong and exit."""
    try:
        return load_settings()
    except ValidationError as exc:
        err.print("[red]Invalid settings[/] (environment variables PARCELDESK_* or .env):")
        for error in exc.errors():
            err.print(f"  • {'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
        raise typer.Exit(2) from exc


def fail(message: str) -> None:
    """Print an error and exit non-zero."""
    err.print(f"[red]✗[/] {message}")
    raise typer.Exit(1)


@app.command()
def run() -> None:
    """Set up what is missing and run everything: action server, Rasa, bot (and the sandbox without a token)."""
    from parceldesk.engine import EngineError
    from parceldesk.logs import configure_logging
    from parceldesk.processes import ServiceFailed
    from parceldesk.system import run_system

    settings = settings_or_exit()
    configure_logging("WARNING")
    try:
        code = run_system(settings, console)
    except (EngineError, ServiceFailed) as exc:
        fail(str(exc))
        return
    raise typer.Exit(code)


@app.command()
def setup(
    database: Annotated[bool, typer.Option(help="Also migrate the database and load the demo company")] = True,
) -> None:
    """Prepare without starting: database, engine environment and model."""
    from parceldesk.engine import EngineError, ensure_engine, ensure_model
    from parceldesk.system import prepare_database

    settings = settings_or_exit()
    if database:
        prepare_database(settings, console)
    try:
        with console.status("preparing the Rasa engine environment (once; a few minutes)…") as status:
            engine = ensure_engine(settings, progress=lambda line: status.update(line[:110]))
        console.print(f"[green]✓[/] engine environment: {engine.directory}")
        with console.status("checking the model…") as status:
            model = ensure_model(settings, engine, progress=lambda line: status.update(f"training: {line[:100]}"))
        console.print(f"[green]✓[/] model: {model}")
    except EngineError as exc:
        fail(str(exc))


@app.command()
def bot() -> None:
    """Run only the Telegram bot (expects Rasa and the action server to be running)."""
    from bot.main import run_bot
    from parceldesk.logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    run_bot(settings)


@app.command()
def sandbox(port: Annotated[int | None, typer.Option(help="Port (default: settings)")] = None) -> None:
    """Run only the local Telegram sandbox."""
    from sandbox.app import serve

    settings = settings_or_exit()
    port = port or settings.sandbox_port
    console.print(f"Telegram sandbox chat page: http://{settings.host}:{port}/")
    serve(settings.host, port)


@app.command()
def bench(
    samples: Annotated[int, typer.Option(help="Requests per latency measurement")] = 30,
    output: Annotated[str, typer.Option(help="Where to write the JSON results")] = ".data/benchmarks/latest.json",
) -> None:
    """Start the real system on free ports and report start-up times, memory (RSS) and latencies."""
    from pathlib import Path

    from parceldesk.benchmark import report, run_benchmark
    from parceldesk.engine import EngineError
    from parceldesk.processes import ServiceFailed

    settings = settings_or_exit()
    try:
        result = run_benchmark(settings, console, samples=samples)
    except (EngineError, ServiceFailed) as exc:
        fail(str(exc))
        return
    report(result, console, Path(output))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (to head by default)."""
    from crm.db import make_engine, upgrade

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    upgrade(engine, revision)
    console.print(f"[green]✓[/] migrated {engine.url.render_as_string(hide_password=True)} to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. base")]) -> None:
    """Roll migrations back to a revision."""
    from crm.db import downgrade, make_engine

    settings = settings_or_exit()
    downgrade(make_engine(settings.effective_database_url, schema=settings.database_schema), revision)
    console.print(f"[green]✓[/] downgraded to {revision}")


@db_app.command("status")
def db_status() -> None:
    """Show the database URL, its migration revision and row counts."""
    from sqlalchemy import func, select

    from crm import models
    from crm.db import current_revision, head_revision, make_engine, make_sessionmaker

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    current, head = current_revision(engine), head_revision()
    console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    console.print(f"revision: {current or 'not migrated'} (code head: {head})")
    if current is None:
        return
    table = Table("table", "rows")
    with make_sessionmaker(engine)() as session:
        for model in (
            models.Customer,
            models.Shipment,
            models.TrackingEvent,
            models.Complaint,
            models.Escalation,
            models.Staff,
            models.ChatMessage,
        ):
            table.add_row(model.__tablename__, str(session.scalar(select(func.count()).select_from(model))))
    console.print(table)


@db_app.command("demo")
def db_demo(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and date give the same data")] = 20261118,
    today: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD (default: today)")] = None,
    customers: int = 240,
    shipments: int = 1200,
) -> None:
    """Load the deterministic demo company into an empty database."""
    from crm.db import make_engine, make_sessionmaker, transaction, upgrade
    from crm.demo import demo_is_loaded, generate_demo

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        if demo_is_loaded(session):
            fail("the database already has shipments; use a fresh database (or `parceldesk db downgrade base`)")
        reference = date.fromisoformat(today) if today else date.today()
        with console.status("generating the demo company…"):
            summary = generate_demo(session, today=reference, seed=seed, customers=customers, shipments=shipments)
    console.print(f"[green]✓[/] {summary}")


@staff_app.command("add")
def staff_add(
    telegram_user_id: Annotated[int, typer.Argument(help="The person's numeric Telegram user id")],
    name: Annotated[str, typer.Argument(help="Display name")],
    role: Annotated[str, typer.Option(help="agent, supervisor, manager or admin")] = "agent",
) -> None:
    """Register (or update) a staff member."""
    from crm.db import make_engine, make_sessionmaker, transaction
    from crm.models import StaffRole
    from crm.staff import register_staff

    try:
        staff_role = StaffRole(role)
    except ValueError:
        fail(f"unknown role {role!r}; choose one of: {', '.join(r.value for r in StaffRole)}")
        return
    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    with transaction(make_sessionmaker(engine)) as session:
        member = register_staff(session, telegram_user_id, name, staff_role)
        console.print(f"[green]✓[/] {member.name} ({member.telegram_user_id}) is {member.role.value}")


@staff_app.command("list")
def staff_list(all_: Annotated[bool, typer.Option("--all", help="Include deactivated staff")] = False) -> None:
    """List staff and their roles."""
    from crm.db import make_engine, make_sessionmaker
    from crm.staff import list_staff

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    table = Table("telegram id", "name", "role", "active")
    with make_sessionmaker(engine)() as session:
        for member in list_staff(session, include_inactive=all_):
            table.add_row(
                str(member.telegram_user_id), member.name, member.role.value, "yes" if member.active else "no"
            )
    console.print(table)


@staff_app.command("remove")
def staff_remove(telegram_user_id: int) -> None:
    """Deactivate a staff member (their history stays)."""
    from crm.db import make_engine, make_sessionmaker, transaction
    from crm.staff import deactivate_staff

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url, schema=settings.database_schema)
    with transaction(make_sessionmaker(engine)) as session:
        if not deactivate_staff(session, telegram_user_id):
            fail(f"no staff member with Telegram id {telegram_user_id}")
    console.print(f"[green]✓[/] {telegram_user_id} deactivated")


@engine_app.command("setup")
def engine_setup() -> None:
    """Create the engine environment (cached by the hash of engine/constraints.txt)."""
    from parceldesk.engine import EngineError, ensure_engine

    settings = settings_or_exit()
    try:
        engine = ensure_engine(settings, progress=lambda line: console.print(f"  [dim]{line[:150]}[/]"))
    except EngineError as exc:
        fail(str(exc))
        return
    console.print(f"[green]✓[/] engine environment: {engine.directory}")


@engine_app.command("path")
def engine_path() -> None:
    """Print the engine environment's directory (creating it if needed)."""
    from parceldesk.engine import EngineError, ensure_engine

    try:
        print(ensure_engine(settings_or_exit()).directory)
    except EngineError as exc:
        fail(str(exc))


@nlu_app.command("train")
def nlu_train(
    force: Annotated[bool, typer.Option(help="Train even if a model for this content exists")] = False,
) -> None:
    """Train the model for the current data and config (cached by content hash)."""
    from parceldesk.engine import EngineError, ensure_engine, ensure_model

    settings = settings_or_exit()
    try:
        engine = ensure_engine(settings)
        model = ensure_model(
            settings, engine, progress=lambda line: console.print(f"  [dim]{line[:150]}[/]"), force=force
        )
    except EngineError as exc:
        fail(str(exc))
        return
    console.print(f"[green]✓[/] model: {model}")


@nlu_app.command("parse")
def nlu_parse(
    model: Annotated[str | None, typer.Option(help="Model .tar.gz (default: the one for the current data)")] = None,
) -> None:
    """Read utterances (one per line) on stdin; write one JSON object per line: text, intent, confidence, entities."""
    import json
    from pathlib import Path

    from parceldesk.engine import EngineError, ensure_engine, ensure_model, parse_texts

    settings = settings_or_exit()
    texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    try:
        engine = ensure_engine(settings)
        model_path = Path(model) if model else ensure_model(settings, engine)
        for record in parse_texts(engine, model_path, texts):
            print(json.dumps(record, ensure_ascii=False))
    except EngineError as exc:
        fail(str(exc))


@nlu_app.command("evaluate")
def nlu_evaluate(
    output: Annotated[str, typer.Option(help="Results path (writes .json and .md)")] = "nlu/results/heldout",
    baseline: Annotated[bool, typer.Option(help="Also train and score the comparison pipelines")] = True,
    pipeline: Annotated[
        list[str] | None,
        typer.Option(
            "--pipeline",
            "-p",
            help="Score only these: a known name (parceldesk, parceldesk-sparse, rasa-stock) or a config file "
            "inside the project (e.g. nlu/experiments/use_logreg.yml). Repeatable.",
        ),
    ] = None,
) -> None:
    """Score the intent model and the comparison pipelines (ours without the encoder, Rasa stock) on nlu/eval/."""
    from pathlib import Path

    from nlu.benchmark import EVAL_DIR, PIPELINES, evaluate, heldout_examples, select_pipelines, write_report
    from parceldesk.engine import EngineError

    settings = settings_or_exit()
    try:
        if pipeline:
            pipelines = select_pipelines(pipeline)
        else:
            pipelines = PIPELINES if baseline else {"parceldesk": PIPELINES["parceldesk"]}
        results = evaluate(settings, console, eval_paths=[EVAL_DIR], pipelines=pipelines)
    except (EngineError, ValueError) as exc:
        fail(str(exc))
        return
    console.print(write_report(results, len(heldout_examples([EVAL_DIR])), Path(output)))


@nlu_app.command("validate")
def nlu_validate() -> None:
    """Run `rasa data validate` on the domain, data and config."""
    from parceldesk.engine import EngineError, ensure_engine

    settings = settings_or_exit()
    try:
        ensure_engine(settings).run(
            [
                "data",
                "validate",
                "--domain",
                "domain.yml",
                "--data",
                "nlu/data",
                "--config",
                "config.yml",
                "--fail-on-warnings",
            ],
            progress=lambda line: console.print(f"  {line[:200]}"),
        )
    except EngineError as exc:
        fail(str(exc))
    console.print("[green]✓[/] training data valid")


def main() -> None:
    """Entry point for `python -m parceldesk`."""
    app(prog_name="parceldesk")


if __name__ == "__main__":
    sys.exit(main())
