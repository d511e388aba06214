"""`rasa …` with the HTTP API token taken from the environment, never from the command line (ps shows argv).

Runs inside the engine environment: `<engine>/bin/python engine/serve.py run --enable-api …`. The supervisor
(parceldesk/processes.py) puts the token in PARCELDESK_RASA_TOKEN; this adds `--auth-token` to Rasa's own argument
list in memory, so /proc/<pid>/cmdline keeps showing the command without it. Rasa then answers 401 to every API
call without `?token=`; nlu/channel.py checks the same token on the bot's channel.
"""

from __future__ import annotations

import os
import sys

TOKEN_ENV = "PARCELDESK_RASA_TOKEN"


def main() -> int:
    """Run Rasa's command line with --auth-token appended; refuse to serve an API without a token."""
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"engine/serve.py: {TOKEN_ENV} is not set; refusing to start Rasa's HTTP API unauthenticated",
              file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
