"""The sandbox application factory and a blocking server entry point."""

from __future__ import annotations

import contextlib
import html
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox import botapi, control
from sandbox.guard import Guard
from sandbox.webhook import WebhookSender
from sandbox.world import World

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_PLACEHOLDER = "__SANDBOX_CONTROL_TOKEN__"
# Names a browser may use for a loopback sandbox; anything else (a rebinding attacker's domain) is refused.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
ANY_ADDRESS = ("0.0.0.0", "", "::")
# The page carries the control token: never cached, never framed by another site, no referrer with ?token=.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
}


async def healthz(request: Request) -> Response:
    """Liveness check."""
    return JSONResponse({"ok": True})


async def chat_page(request: Request) -> Response:
    """The web chat page, with this run's control token written into it (the page's only way to learn it)."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    token = html.escape(request.app.state.control_token, quote=True)
    return HTMLResponse(page.replace(TOKEN_PLACEHOLDER, token), headers=PAGE_HEADERS)


def create_app(
    *,
    bot_token: str | None = None,
    control_token: str | None = None,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
) -> Starlette:
    """Build a sandbox app with fresh in-memory state.

    With bot_token only that token is accepted on /bot<token>/...; with None any well-formed
    token (<digits>:<text>) is. The control API needs control_token (a random one when None; read it
    back from ``app.state.control_token``); requests naming another host than allowed_hosts are refused.
    The app's state holds ``world`` (the fake Telegram's data) and
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
    token = control_token or secrets.token_urlsafe(24)
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        Middleware(Guard, control_token=token),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.world = world
    app.state.webhook_sender = sender
    app.state.bot_token = bot_token
    app.state.control_token = token
    return app


def hosts_for(bind: str) -> list[str]:
    """The host names a sandbox bound to `bind` answers to: loopback names plus the address itself."""
    if bind in ANY_ADDRESS:
        # Reachable under names we cannot know (LAN address, hostname): the token and Guard remain.
        return ["*"]
    return list(dict.fromkeys([*LOOPBACK_HOSTS, bind]))


def quiet_loggers() -> None:
    """Keep request-URL loggers (which would print bot tokens) at WARNING."""
    for name in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


def serve(
    host: str = "127.0.0.1", port: int = 8081, bot_token: str | None = None, control_token: str | None = None
) -> None:
    """Run the sandbox with uvicorn until interrupted (log level warning, no access log)."""
    quiet_loggers()
    uvicorn.run(
        create_app(bot_token=bot_token, control_token=control_token, allowed_hosts=hosts_for(host)),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
