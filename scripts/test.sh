#!/usr/bin/env bash
# One command to set up and run the whole test suite (unit, database, Rasa data/stories, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
.venv/bin/parceldesk setup --no-database
exec .venv/bin/python -m pytest "$@"
