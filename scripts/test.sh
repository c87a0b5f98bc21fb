#!/usr/bin/env bash
# The README's test command: create/update .venv, install vqspeech[test], run ruff and pytest.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vqspeech needs Python >= 3.11")'
    "$PY" -m venv .venv
fi
# Reinstall only when the package metadata changed (second runs are quick).
stamp=.venv/.vqspeech-test-stamp
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # torch 2.14.1 is the newest build that also loads torchaudio 2.11 (see README, "Install").
    .venv/bin/python -m pip install -q "torch==2.14.1" "torchaudio==2.11.0"
    .venv/bin/python -m pip install -q -e ".[test,demo]"
    echo "$want" > "$stamp"
fi
.venv/bin/ruff check vqspeech tests scripts
exec .venv/bin/python -m pytest "$@"
