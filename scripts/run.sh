#!/usr/bin/env bash
# One command to set up and run the whole system. Without TELEGRAM_BOT_TOKEN it uses the local Telegram sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh demo
exec .venv/bin/parceldesk run "$@"
