#!/usr/bin/env bash
# The README's test command: create/update .venv, install vqspeech[test], run ruff and pytest.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "test,demo,eval,image,video"
.venv/bin/ruff check vqspeech tests scripts
exec .venv/bin/python -m pytest "$@"
