"""The sandbox application factory and a blocking server entry point."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox import botapi, control
from sandbox.webhook import WebhookSender
from sandbox.world import World

STATIC_DIR = Path(__file__).parent / "static"


async def healthz(request: Request) -> Response:
    """Liveness check."""
    return JSONResponse({"ok": True})


async def chat_page(request: Request) -> Response:
    """The web chat page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")


def create_app(*, bot_token: str | None = None) -> Starlette:
    """Build a sandbox app with fresh in-memory state.

    With bot_token only that token is accepted on /bot<token>/...; with None any well-formed
    token (<digits>:<text>) is. The app's state holds ``world`` (the fake Telegram's data) and
    ``webhook_sender`` (started and stopped with the app's lifespan).
    """
    world = World()
    sender = WebhookSender(world)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Run the webhook sender while the app serves."""
        sender.start()
        try:
            yield
        finally:
            await sender.stop()

    routes = [
        Route("/", chat_page, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        *botapi.routes(),
        *control.routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.world = world
    app.state.webhook_sender = sender
    app.state.bot_token = bot_token
    return app


def quiet_loggers() -> None:
    """Keep request-URL loggers (which would print bot tokens) at WARNING."""
    for name in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


def serve(host: str = "127.0.0.1", port: int = 8081, bot_token: str | None = None) -> None:
    """Run the sandbox with uvicorn until interrupted (log level warning, no access log)."""
    quiet_loggers()
    uvicorn.run(
        create_app(bot_token=bot_token),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
