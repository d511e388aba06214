"""The action server process: rasa-sdk's own server, refusing every call that lacks the shared secret.

rasa-sdk 3.21 has no authentication option, but its server is an ordinary Sanic app built by a factory
(`rasa_sdk.endpoint.create_app_for_serve`): this wraps that factory, adds one request middleware, and serves it the
way `rasa_sdk.endpoint.run` does (Sanic's AppLoader, so every worker gets the middleware). Rasa sends the secret as
a header from the generated endpoints file (nlu/toolchain.py write_endpoints, `${PARCELDESK_ACTION_TOKEN}` expanded
by Rasa from its environment). Only /health stays open: it says nothing but "ok".

Run: `python -m actions.server --port 5055` (the supervisor does; parceldesk/processes.py).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from functools import partial

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from core.logs import install_redaction
from core.settings import load_settings
from core.tokens import ACTION_TOKEN_HEADER, action_token, same_token

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})


def guarded_app(
    executor: ActionExecutor, *, token: str, cors_origins: str | list[str] | None, endpoints: str
) -> Sanic:
    """rasa-sdk's app with a middleware that answers 401 to any call without the secret (module level: picklable)."""
    # Sanic's worker processes build their app here: each scrubs its own log records too.
    install_redaction()
    app = create_app_for_serve(executor, cors_origins=cors_origins, auto_reload=False, endpoints=endpoints)

    @app.on_request
    async def require_secret(request: Request) -> HTTPResponse | None:
        """Let /health through; everything else needs the header."""
        if request.path in OPEN_PATHS or same_token(request.headers.get(ACTION_TOKEN_HEADER), token):
            return None
        logger.warning("action server: refused %s %s without a valid %s", request.method, request.path,
                       ACTION_TOKEN_HEADER)
        return response.json({"error": "not authenticated"}, status=401)

    return app


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """rasa-sdk's own command-line arguments (port, actions package, logging, TLS)."""
    return create_argument_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the actions package with the shared-secret check, bound to the action server's host."""
    args = parse_arguments(argv)
    if args.grpc or args.auto_reload:
        raise SystemExit("actions.server: --grpc and --auto-reload are not supported (no shared-secret check there)")
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    # Every record of this process (rasa-sdk's and Sanic's handlers too) is scrubbed of personal data and tokens.
    install_redaction()
    settings = load_settings()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions or "actions")
    loader = AppLoader(
        factory=partial(
            guarded_app, executor, token=action_token(settings), cors_origins=args.cors, endpoints=args.endpoints
        )
    )
    app = loader.load()
    ssl = create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = settings.bind_host("action")
    logger.info("action server on %s:%s (calls need %s)", host, args.port, ACTION_TOKEN_HEADER)
    app.prepare(host=host, port=args.port, ssl=ssl, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
