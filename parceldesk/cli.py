"""The `parceldesk` command: run the system; each sub-command group lives in its own module."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from parceldesk.cli_complaints import complaints_app
from parceldesk.cli_db import db_app
from parceldesk.cli_import import import_app
from parceldesk.cli_learn import learn_app
from parceldesk.cli_nlu import engine_app, nlu_app
from parceldesk.cli_privacy import privacy_app
from parceldesk.cli_report import report_app
from parceldesk.cli_staff import desk_app, staff_app
from parceldesk.console import console, fail, settings_or_exit

app = typer.Typer(help="ParcelDesk — customer-service desk for express-delivery companies.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(nlu_app, name="nlu")
app.add_typer(engine_app, name="engine")
app.add_typer(desk_app, name="desk")
app.add_typer(learn_app, name="learn")
app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")
app.add_typer(complaints_app, name="complaints")
app.add_typer(privacy_app, name="privacy")


@app.command()
def run(
    sandbox: Annotated[
        bool | None,
        typer.Option("--sandbox/--telegram", help="Use the local Telegram sandbox (development) or Telegram itself"),
    ] = None,
) -> None:
    """Set up what is missing and run everything: action server, Rasa, bot (and the sandbox without a token)."""
    from core.logs import configure_logging
    from nlu.toolchain import EngineError
    from parceldesk.processes import ServiceFailed
    from parceldesk.system import run_system

    # Sandbox mode is chosen explicitly here or by PARCELDESK_SANDBOX; settings refuse it in production.
    settings = settings_or_exit() if sandbox is None else settings_or_exit(sandbox=sandbox)
    problem = settings.bot_mode_error()
    if problem is not None:
        fail(problem)
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
    from nlu.toolchain import EngineError, ensure_engine, ensure_model
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
    from core.logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    run_bot(settings)


@app.command()
def sandbox(port: Annotated[int | None, typer.Option(help="Port (default: settings)")] = None) -> None:
    """Run only the local Telegram sandbox."""
    from sandbox.app import serve

    settings = settings_or_exit()
    port = port or settings.sandbox_port
    console.print(f"Telegram sandbox chat page: http://{settings.connect_host('sandbox')}:{port}/")
    serve(settings.bind_host("sandbox"), port, control_token=settings.sandbox_control_token.get_secret_value())


@app.command()
def bench(
    samples: Annotated[int, typer.Option(min=1, help="Requests per latency measurement and one-customer series")] = 30,
    warmup: Annotated[
        int | None, typer.Option(min=0, help="Untimed messages opening each one-customer series (default: each text)")
    ] = None,
    output: Annotated[
        str | None, typer.Option(help="Where to write the JSON results (default .data/benchmarks/latest.json, "
                                      "load.json with --load)")
    ] = None,
    load: Annotated[
        int | None, typer.Option(min=1, help="Load benchmark: this many simulated customers at once (closed loop)")
    ] = None,
    seconds: Annotated[float, typer.Option(min=1, help="Load benchmark: seconds per series")] = 60.0,
    rate: Annotated[
        list[float] | None,
        typer.Option(min=0.1, help="Load benchmark: also an open-loop series at this rate (msgs/s); repeatable"),
    ] = None,
    hung: Annotated[
        bool, typer.Option(help="Load benchmark: the N customers without and with one chat's action hung, and /help "
                                "latency (writes hung.json)")
    ] = False,
) -> None:
    """Start the real system on free ports; report start-up, memory (RSS), latencies and what the bot adds to Rasa.

    With --load N: N customers through the sandbox, raw Rasa /model/parse and raw Rasa through the channel at the
    same concurrency, then each --rate open loop; msgs/s, p50/p95/p99, errors, each process's RSS and CPU seconds.
    With --load N --hung: the N customers without and with one chat's action hung, and /help latency.
    """
    from pathlib import Path

    from nlu.toolchain import EngineError
    from parceldesk.bench import load_report, report, run_benchmark, run_load
    from parceldesk.processes import ServiceFailed

    settings = settings_or_exit()
    if rate and load is None:
        fail("--rate needs --load (the closed-loop series run first, at that concurrency)")
        return
    if hung and (load is None or rate):
        fail("--hung needs --load N (the customers around the hung chat) and takes no --rate")
        return
    try:
        if hung and load is not None:
            from parceldesk.hungbench import hung_report, run_hung

            measured = run_hung(settings, console, concurrency=load, seconds=seconds)
            hung_report(measured, console, Path(output or ".data/benchmarks/hung.json"))
            return
        if load is not None:
            loaded = run_load(settings, console, concurrency=load, seconds=seconds, rates=rate or [])
            load_report(loaded, console, Path(output or ".data/benchmarks/load.json"))
            return
        result = run_benchmark(settings, console, samples=samples, warmup=warmup)
    except (EngineError, ServiceFailed) as exc:
        fail(str(exc))
        return
    report(result, console, Path(output or ".data/benchmarks/latest.json"))


def main() -> None:
    """Entry point for `python -m parceldesk`."""
    app(prog_name="parceldesk")


if __name__ == "__main__":
    sys.exit(main())
