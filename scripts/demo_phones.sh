#!/usr/bin/env bash
# The paper's phone setting on CPU: recipes/demo_phones.yaml (K = 128 codes at 25 Hz, with the ablation's phone
# levers) trained on the embedded demo corpus; its codes judged against the corpus's exact phone alignments next
# to MFCC k-means at the same K and rate (accuracy, PNMI, ABX), and the speaker judges of `evaluate`.
#   VQSPEECH_PHONES_MINUTES   training time on this machine (default 25)
# Writes runs/demo_phones/{phoneme_eval.json,codes_phones.png,eval/step-N.json,report.html}; re-running reuses what
# is built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "demo,eval"
V=".venv/bin/vqspeech"
RUN=runs/demo_phones
CK=$RUN/checkpoints/last.safetensors
[ -f demo_corpus/corpus.json ] || $V corpus demo demo_corpus
[ -f $CK ] || $V train recipes/demo_phones.yaml --out $RUN --set data.root=demo_corpus \
    --set "train.max_minutes=${VQSPEECH_PHONES_MINUTES:-25}"
[ -d $RUN/tokens ] || $V encode demo_corpus -o $RUN/tokens -c $CK
[ -f $RUN/phoneme_eval.json ] || $V phoneme-eval $RUN/tokens --alignments demo_corpus --baseline \
    --json $RUN/phoneme_eval.json --plot $RUN/codes_phones.png
STEP=$($V info $CK | sed -n 's/^step: //p')
mkdir -p $RUN/eval
[ -f "$RUN/eval/step-$STEP.json" ] || $V evaluate demo_corpus -c $CK --json "$RUN/eval/step-$STEP.json" --max-items 16
$V report $RUN
echo "runs/demo_phones: phoneme_eval.json, codes_phones.png, eval/step-$STEP.json, report.html"
