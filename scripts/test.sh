#!/usr/bin/env bash
# The README's test command: create/update .venv, install vqspeech[test], run ruff and pytest.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's headless Chromium through chromedriver; install them when missing (as root, as in
# CI; otherwise: sudo apt-get install chromium chromium-driver).
if [ ! -x /usr/bin/chromedriver ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
source scripts/_venv.sh
ensure_venv "test,demo,eval,image,video,app"
.venv/bin/ruff check vqspeech tests scripts
exec .venv/bin/python -m pytest "$@"
