"""What every `parceldesk` sub-command shares: the consoles, settings loading and the exit on failure."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from core.db import Database, open_database
from core.settings import Settings, load_settings

console = Console()
err = Console(stderr=True)


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings (overrides win over the environment), or explain what is wrong and exit."""
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        err.print("[red]Invalid settings[/] (environment variables PARCELDESK_* or .env):")
        for error in exc.errors():
            err.print(f"  • {'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
        raise typer.Exit(2) from exc


def fail(message: str) -> None:
    """Print an error and exit non-zero."""
    # Messages carry user input and paths like .[demo]: never read them as Rich markup.
    err.print(f"[red]✗[/] {escape(message)}")
    raise typer.Exit(1)


def database_or_exit() -> tuple[Settings, Database]:
    """Settings and the configured database (engine and sessionmaker), or a clear exit."""
    settings = settings_or_exit()
    return settings, open_database(settings)
