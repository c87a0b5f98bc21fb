#!/usr/bin/env bash
# Train (or resume) the real-voices model of recipes/voices.yaml from a fresh machine, in the background-friendly
# way the shipped model was trained: one thread by default (THREADS=2 for both cores).  Stop it at any time with
#   kill -TERM <pid>      (it finishes the step, writes a checkpoint and train_state.pt, and exits 0)
# and run this script again to continue exactly where it stopped.
# Usage: [THREADS=2] [MINUTES=N] scripts/train_voices.sh [RUN_DIR]
#   RUN_DIR defaults to training/voices (committed, so the next session resumes it); MINUTES sets the run's time
#   budget (train.max_minutes, counted over all its sessions; the learning rate's cosine ends there).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "demo,eval"
run="${1:-training/voices}"
if [ ! -d voices_corpus ]; then
    if [ ! -d /usr/share/asterisk/sounds/en_US_f_Allison ] && [ "$(id -u)" = 0 ]; then
        apt-get install -y -q asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav \
            asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav
    fi
    .venv/bin/vqspeech corpus prompts voices_corpus
fi
resume=()
[ -f "$run/train_state.pt" ] && resume=(--resume)
[ -n "${MINUTES:-}" ] && resume+=(--set "train.max_minutes=$MINUTES")
export OMP_NUM_THREADS="${THREADS:-1}"
exec .venv/bin/vqspeech train recipes/voices.yaml --out "$run" "${resume[@]}"
