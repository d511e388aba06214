"""What keeps web pages out of the sandbox: the control token, JSON-only writes, and no cross-site browser requests.

The sandbox listens on the developer's machine, where any web page open in their browser can send it requests
(cross-site request forgery) or, with DNS rebinding, even read its answers. Three checks, all in one ASGI middleware
in front of every route:

* Browsers mark each request with Fetch Metadata (`Sec-Fetch-Site`) and, on writes, `Origin`; python-telegram-bot,
  httpx and curl send neither. A request another site started is refused (403), except following a link to the chat
  page itself; an `Origin` that is not this server's is refused too. This also covers the Bot API, whose sandbox
  token is public.
* The control API (/sandbox/api) needs this run's token, in the `X-Sandbox-Token` header, or as `?token=` on GET
  (the chat page's <img> tags cannot send headers). The chat page gets it written into its HTML by the server;
  a page on another site cannot read that page.
* Control API writes must be `application/json`: an HTML form can only post form encodings or text/plain.

Host names are checked separately (Starlette's TrustedHostMiddleware, see sandbox/app.py) against DNS rebinding.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/sandbox/api"
TOKEN_HEADER = "x-sandbox-token"
# Fetch Metadata values of requests the page itself makes ("same-origin") or the user typed/bookmarked ("none").
TRUSTED_SITES = frozenset({"same-origin", "none"})


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers, lower-case names (the last value wins)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


async def _refuse(send: Send, status: int, description: str) -> None:
    """Answer with a Telegram-shaped JSON error."""
    body = json.dumps({"ok": False, "error_code": status, "description": description}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def refusal(scope: Scope, control_token: str) -> tuple[int, str] | None:
    """Why a request must be refused (status, description), or None when it may go on."""
    headers = _headers(scope)
    method, path = scope.get("method", "GET"), scope.get("path", "")
    site = headers.get("sec-fetch-site")
    if site is not None and site not in TRUSTED_SITES:
        opening_page = method == "GET" and path == "/" and headers.get("sec-fetch-mode") == "navigate"
        if not opening_page:
            return 403, "Forbidden: cross-site request"
    origin = headers.get("origin")
    if origin is not None and origin != f"http://{headers.get('host', '')}":
        return 403, "Forbidden: cross-origin request"
    if not path.startswith(CONTROL_PREFIX):
        return None
    given = headers.get(TOKEN_HEADER)
    if given is None and method == "GET":
        given = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [None])[0]
    if given is None or not hmac.compare_digest(given.encode(), control_token.encode()):
        return 401, "Unauthorized: the control API needs this run's token (X-Sandbox-Token)"
    if method not in ("GET", "HEAD", "OPTIONS"):
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            return 415, "Unsupported Media Type: control API requests must be application/json"
    return None


class Guard:
    """ASGI middleware applying `refusal` to every HTTP request."""

    def __init__(self, app: ASGIApp, *, control_token: str) -> None:
        """Wrap an app; control_token is this run's control API token."""
        self.app = app
        self.control_token = control_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass the request on."""
        if scope["type"] == "http":
            refused = refusal(scope, self.control_token)
            if refused is not None:
                await _refuse(send, *refused)
                return
        await self.app(scope, receive, send)
