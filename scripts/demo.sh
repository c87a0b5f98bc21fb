#!/usr/bin/env bash
# The README's main command: the whole main job on the embedded demo corpus, ending in runs/demo/report.html.
#   VQSPEECH_DEMO_MINUTES        VQ-VAE training time on this machine (default 30)
#   VQSPEECH_DEMO_PRIOR_MINUTES  prior training time (default 5)
#   VQSPEECH_DEMO_EVAL_ITEMS     held-out utterances the judges score at each checkpoint (default 16)
# Re-running reuses what is already built (delete runs/demo* to start over).
#   scripts/demo.sh [speech|image|video|all]   (default speech; image and video have their own bounded demos)
set -euo pipefail
cd "$(dirname "$0")/.."
FAMILY="${1:-speech}"
case "$FAMILY" in
    speech) ;;
    image) exec scripts/demo_image.sh ;;
    video) exec scripts/demo_video.sh ;;
    all) "$0" speech && scripts/demo_image.sh && exec scripts/demo_video.sh ;;
    *) echo "error: unknown demo '$FAMILY' (speech, image, video or all)" >&2; exit 2 ;;
esac
source scripts/_venv.sh
ensure_venv "demo,eval,image"
MIN="${VQSPEECH_DEMO_MINUTES:-30}"
PMIN="${VQSPEECH_DEMO_PRIOR_MINUTES:-5}"
V=".venv/bin/vqspeech"
RUN=runs/demo
CK=$RUN/checkpoints/last.safetensors
PCK=runs/demo_prior/checkpoints/last.safetensors
mkdir -p runs
T=$RUN/timings.tsv
stage() {  # stage NAME COMMAND...: run and record its wall time
    local name="$1" t0=$SECONDS
    shift
    echo "== $name"
    "$@"
    mkdir -p $RUN
    printf '%s\t%s\n' "$name" "$((SECONDS - t0))" >> $T
}
[ -f demo_corpus/corpus.json ] || stage corpus $V corpus demo demo_corpus
[ -f $CK ] || stage train $V train recipes/demo.yaml --set data.root=demo_corpus --set "train.max_minutes=$MIN"
mkdir -p $RUN/convert
convert_all() {  # f1_000 and the first two held-out utterances, each to every speaker (the HTML report's rows)
    local ids id spk out
    ids="f1_000 $(.venv/bin/python scripts/valid_ids.py "$RUN" -n 2)"
    for id in $ids; do
        for spk in $($V speakers -c $CK); do
            out=$RUN/convert/$id-to-$spk.wav
            [ -f "$out" ] || $V convert "demo_corpus/${id%_*}/$id.wav" --speaker "$spk" -o "$out" -c $CK
        done
    done
}
stage convert convert_all
stage encode $V encode demo_corpus -o $RUN/tokens -c $CK
[ -f $PCK ] || stage prior $V train recipes/demo_prior.yaml --set data.tokens=$RUN/tokens \
    --set "train.max_minutes=$PMIN"
codec_all() {  # .vqs files of held-out utterances, entropy-coded with the prior and with a unigram table
    mkdir -p $RUN/codec
    local ids; ids=$(.venv/bin/python scripts/valid_ids.py "$RUN" -n 8)
    for id in $ids; do
        local wav="demo_corpus/${id%_*}/$id.wav"
        [ -f "$RUN/codec/$id.vqs" ] || $V encode "$wav" -o "$RUN/codec/$id.vqs" -c $CK --prior $PCK
        [ -f "$RUN/codec/$id.unigram.vqs" ] || $V encode "$wav" -o "$RUN/codec/$id.unigram.vqs" -c $CK
    done
    local first; first=$(echo $ids | cut -d' ' -f1)
    [ -f "$RUN/codec/$first.wav" ] || $V decode "$RUN/codec/$first.vqs" -o "$RUN/codec/$first.wav"
}
stage codec codec_all
[ -f $RUN/samples/sample-003.wav ] || stage sample $V sample -c $PCK --vqvae $CK -n 4 --seconds 2 -o $RUN/samples
stage phoneme-eval $V phoneme-eval $RUN/tokens --alignments demo_corpus --baseline --json $RUN/phoneme_eval.json \
    --plot $RUN/codes_phones.png
N_EVAL="${VQSPEECH_DEMO_EVAL_ITEMS:-16}"
evaluate_all() {  # the judges at the first checkpoint, a third and two thirds in (how they move with training
    # minutes) and at the last (each evaluation of 16 utterances takes ~4 minutes here, mostly the recogniser)
    mkdir -p $RUN/eval
    local cks=($(ls $RUN/checkpoints/step-*.safetensors | sort -t- -k2 -n))
    local n=${#cks[@]} ck step i
    for i in 0 $((n / 3)) $((2 * n / 3)); do
        [ "$i" -lt "$((n - 1))" ] || continue
        ck=${cks[$i]}
        step=$(basename "$ck" .safetensors)
        [ -f "$RUN/eval/$step.json" ] || $V evaluate demo_corpus -c "$ck" --json "$RUN/eval/$step.json" \
            --max-items "$N_EVAL"
    done
    local laststep; laststep=$($V info $CK | sed -n 's/^step: //p')
    [ -f "$RUN/eval/last.md" ] || $V evaluate demo_corpus -c $CK --json "$RUN/eval/step-$laststep.json" \
        --md $RUN/eval/last.md --max-items "$N_EVAL"
}
stage evaluate evaluate_all
.venv/bin/python scripts/report.py $RUN runs/demo_prior
$V report $RUN
echo "report: $RUN/report.html (players, spectrograms; opens from disk) and $RUN/report.md"
