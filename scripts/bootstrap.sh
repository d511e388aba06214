#!/usr/bin/env bash
# Create or refresh the application environment (.venv, Python >= 3.11) and install ParcelDesk into it.
# The Rasa engine environment (Python 3.10) is prepared by `parceldesk setup` / `parceldesk run`.
# Usage: bootstrap.sh [EXTRAS]  e.g. "demo" (run: the demo company generator) or "test" (tests, includes demo).
set -euo pipefail
cd "$(dirname "$0")/.."

find_app_python() {
  local candidate
  for candidate in "${PARCELDESK_APP_PYTHON:-}" python3 python3.13 python3.12 python3.11; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if ! PY=$(find_app_python); then
  echo "ParcelDesk needs Python 3.11 or newer (with venv) for the application." >&2
  echo "Install it (e.g. 'pyenv install 3.12', 'uv python install 3.12' or 'apt-get install python3 python3-venv')" >&2
  echo "or point PARCELDESK_APP_PYTHON at one." >&2
  exit 1
fi

extras="${1:-test}"
stamp_input=$(cat pyproject.toml; "$PY" --version)
stamp=$(printf '%s' "$stamp_input" | sha256sum | cut -c1-16)
installed=$(cat .venv/.parceldesk-stamp 2>/dev/null || true)
# The test extra includes the demo extra: an environment set up for tests also runs the system.
if [ -x .venv/bin/parceldesk ] && { [ "$installed" = "$stamp $extras" ] || [ "$installed" = "$stamp test" ]; }; then
  exit 0
fi
echo "==> setting up the application environment in .venv ($("$PY" --version))"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
echo "$stamp $extras" > .venv/.parceldesk-stamp
echo "==> .venv ready: .venv/bin/parceldesk"
