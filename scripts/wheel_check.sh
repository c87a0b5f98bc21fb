#!/usr/bin/env bash
# Build the wheel, install it in a fresh virtual environment and convert a recording with the shipped model from an
# empty folder: no training, no network at run time, nothing of the source tree on the path.
#   scripts/wheel_check.sh [AUDIO.wav]
# DEPS_FROM=.venv reuses the packages of an existing environment for vqspeech's dependencies (through a .pth file;
# the wheel itself is installed with --no-deps) instead of installing them from PyPI (torch is large).
set -euo pipefail
src="${1:+$(realpath "$1")}"
cd "$(dirname "$0")/.."
repo="$(pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/env"
if [ -n "${DEPS_FROM:-}" ]; then
    site="$(cd "$DEPS_FROM" && pwd)/$(cd "$DEPS_FROM" && ls -d lib/python3*/site-packages | head -1)"
    mine="$(ls -d "$work"/env/lib/python3*/site-packages | head -1)"
    echo "$site" > "$mine/deps_from.pth"
    "$work/env/bin/pip" install -q "setuptools>=68,<81"
    "$work/env/bin/pip" wheel -q --no-deps --no-build-isolation -w "$work/dist" "$repo"
    "$work/env/bin/pip" install -q --no-deps "$work"/dist/vqspeech-*.whl
else
    "$work/env/bin/pip" wheel -q --no-deps -w "$work/dist" "$repo"
    "$work/env/bin/pip" install -q "$work"/dist/vqspeech-*.whl
fi
ls -l "$work"/dist/vqspeech-*.whl
mkdir "$work/empty"
cd "$work/empty"
if [ -z "$src" ]; then  # an English prompt of the real-voices corpus (vqspeech corpus prompts voices_corpus)
    src="$(find "$repo/voices_corpus/allison" -name 'en-*.wav' 2>/dev/null | sort | head -1)"
    [ -n "$src" ] || { echo "error: give an audio file (no voices_corpus here)" >&2; exit 2; }
fi
"$work/env/bin/pip" show vqspeech | grep -E "^(Version|Location)"   # the wheel's copy, not the source tree
"$work/env/bin/vqspeech" models
"$work/env/bin/vqspeech" convert "$src" --speaker june -o out.wav
"$work/env/bin/vqspeech" encode "$src" -o x.vqs --prior voices
"$work/env/bin/vqspeech" decode x.vqs -o y.wav
ls -l out.wav x.vqs y.wav
echo "wheel check: ok"
