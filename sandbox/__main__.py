"""Command line: python -m sandbox --host 127.0.0.1 --port 8081 [--token T].

The control API token comes from the environment variable SANDBOX_CONTROL_TOKEN (never the command line: ps shows
it); without it a random one is made for this run and written into the chat page.
"""

from __future__ import annotations

import argparse
import os

from sandbox.app import serve

CONTROL_TOKEN_ENV = "SANDBOX_CONTROL_TOKEN"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, print where the chat page is, and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Local stand-in for the Telegram Bot API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (default 8081)")
    parser.add_argument(
        "--token", default=None, help="accept only this bot token (default: any well-formed token)"
    )
    args = parser.parse_args(argv)
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    base = f"http://{shown_host}:{args.port}"
    print(f"Telegram sandbox: chat page {base}/  ·  Bot API {base}/bot<token>/<method>", flush=True)
    serve(host=args.host, port=args.port, bot_token=args.token,
          control_token=os.environ.get(CONTROL_TOKEN_ENV) or None)


if __name__ == "__main__":
    main()
