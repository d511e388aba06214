"""`rasa …` with the HTTP API token taken from the environment, never from the command line (ps shows argv), and
with our log redaction and hidden SQL parameters.

Runs inside the engine environment: `<engine>/bin/python engine/serve.py run --enable-api …`. The supervisor
(parceldesk/processes.py) puts the token in PARCELDESK_RASA_TOKEN; this adds `--auth-token` to Rasa's own argument
list in memory, so /proc/<pid>/cmdline keeps showing the command without it. Rasa then answers 401 to every API
call without `?token=`; nlu/channel.py checks the same token on the bot's channel.

Before Rasa starts, `protect_logs` makes the process keep personal data out of its log:
- core/logs.py's record factory scrubs every record at birth (Rasa's, Sanic's, SQLAlchemy's), whichever handler
  writes it. The engine environment has its own packages, not ours: only core/logs.py and core/redaction.py (the
  standard library only) are imported from the project root, which the engine's PYTHONPATH holds
  (nlu/toolchain.py Engine.env).
- Rasa's SQL tracker store (nlu/trackerstore.py points it at our database) builds its SQLAlchemy engine with
  `create_engine_kwargs`; it is wrapped to add `hide_parameters=True`, so the customer's texts and slots that Rasa
  writes as parameters never appear in a logged statement or in an exception message.
"""

from __future__ import annotations

import os
import sys
from typing import Any

TOKEN_ENV = "PARCELDESK_RASA_TOKEN"


def hide_sql_parameters() -> None:
    """Make Rasa's SQL tracker store create its engine with hide_parameters=True (idempotent)."""
    import rasa.core.tracker_store as tracker_store

    original = tracker_store.create_engine_kwargs
    if getattr(original, "parceldesk_hidden", False):
        return

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        """Rasa's own keyword arguments (pool, schema) plus hidden parameters."""
        return {**original(url), "hide_parameters": True}

    create_engine_kwargs.parceldesk_hidden = True  # type: ignore[attr-defined]
    # SQLTrackerStore.__init__ looks the function up in its module at call time.
    tracker_store.create_engine_kwargs = create_engine_kwargs


def protect_logs() -> None:
    """Redact every log record of this process and hide SQL parameters from Rasa's tracker store."""
    from core.logs import install_redaction

    install_redaction()
    hide_sql_parameters()


def main() -> int:
    """Run Rasa's command line with --auth-token appended; refuse to serve an API without a token."""
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"engine/serve.py: {TOKEN_ENV} is not set; refusing to start Rasa's HTTP API unauthenticated",
              file=sys.stderr)
        return 2
    protect_logs()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
