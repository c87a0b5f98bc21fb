# Sourced by scripts/test.sh and scripts/demo.sh: create/update .venv with vqspeech and the given extras.
# Usage: ensure_venv "test,demo"
ensure_venv() {
    local extras="$1" py="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        "$py" scripts/check_python.py
        "$py" -m venv .venv
    fi
    # Reinstall only when the package metadata or the extras changed (second runs are quick).
    local stamp=.venv/.vqspeech-stamp want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
    if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
        .venv/bin/python -m pip install -q --upgrade pip
        # torch 2.14.1 is the newest build that also loads torchaudio 2.11 (README, "Install").
        .venv/bin/python -m pip install -q "torch==2.14.1" "torchaudio==2.11.0"
        .venv/bin/python -m pip install -q -e ".[$extras]"
        echo "$want" >> "$stamp"
    fi
}
