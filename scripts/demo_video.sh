#!/usr/bin/env bash
# The video demo through the `vqspeech` commands a user runs: a seeded maze corpus, the frame VQ-VAE and the
# action-conditioned prior on CPU, per-step rollout evaluation and Figure-7 strips, ending in runs/maze/report.md.
#   VQSPEECH_VIDEO_MINUTES         frame VQ-VAE training time (default 5)
#   VQSPEECH_VIDEO_PRIOR_MINUTES   video prior training time (default 12)
#   VQSPEECH_VIDEO_GLOBAL_MINUTES  two-stage (3-latent) model training time (default 0: skipped)
#   VQSPEECH_VIDEO_EPISODES        training episodes of the corpus (default 150)
#   PY                             the Python to use (default .venv/bin/python, created by scripts/_venv.sh)
# Training is bounded by minutes (about 18 in all with the defaults), not steps: the README's run used
# OMP_NUM_THREADS=1 on 2 cores shared with other work (VQ-VAE 3,000 steps, prior about 4,000); free cores and more
# threads fit more steps in the same minutes.  Re-running reuses what is built (delete runs/maze* to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
    source scripts/_venv.sh
    ensure_venv "demo"
    PY=.venv/bin/python
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's vqspeech, whichever Python runs it
V="$PY -m vqspeech.cli"  # the `vqspeech` command
MIN="${VQSPEECH_VIDEO_MINUTES:-5}"
PMIN="${VQSPEECH_VIDEO_PRIOR_MINUTES:-12}"
GMIN="${VQSPEECH_VIDEO_GLOBAL_MINUTES:-0}"
EPS="${VQSPEECH_VIDEO_EPISODES:-150}"
RUN=runs/maze
FIG=$RUN/figures
CK=$RUN/checkpoints/last.safetensors
PCK=runs/maze_video/checkpoints/last.safetensors
GCK=runs/maze_global/checkpoints/last.safetensors
mkdir -p $FIG
T=$RUN/timings.tsv
stage() {  # stage NAME COMMAND...: run and record its wall time (a re-run replaces its stage's line)
    local name="$1" t0=$SECONDS
    shift
    echo "== $name: $*"
    "$@"
    [ -f $T ] && sed -i "/^$name\t/d" $T
    printf '%s\t%s\n' "$name" "$((SECONDS - t0))" >> $T
}
[ -f demo_maze/_meta.json ] && [ -f "demo_maze/test/000/ep00019.npz" ] ||
    stage corpus $V corpus maze demo_maze --train "$EPS" --test 20 --length 100 --size 64
[ -f $CK ] || stage train $V train recipes/maze.yaml --set "train.max_minutes=$MIN"
[ -f $PCK ] || stage prior $V train recipes/maze_video.yaml --set "train.max_minutes=$PMIN"
if [ "$GMIN" != 0 ] && [ ! -f $GCK ]; then
    stage global $V train recipes/maze_global.yaml --set "train.max_minutes=$GMIN"
fi
if [ -f $GCK ] && [ ! -f $FIG/global_samples.png ]; then
    stage global-sample $V sample -o $FIG/global_samples.png -c $GCK -n 16 --seed 0
fi
[ -f $RUN/evaluate.json ] || stage evaluate $V evaluate demo_maze -c $PCK --json $RUN/evaluate.json \
    --md $RUN/evaluate.md --out-dir $FIG --max-items 20
# Figure 7's context: the first held-out episode and frame after which the agent walks forward for 6 steps.
read -r EP START < <($PY scripts/video_pick.py demo_maze)
echo "context: $EP from frame $START" > $RUN/context.txt
stage sample-forward $V sample -o $FIG/forward.png -c $PCK --context "$EP" --start "$START" --actions 'forward*10'
stage sample-right $V sample -o $FIG/right.png -c $PCK --context "$EP" --start "$START" --actions 'right*10'
stage sample-episode $V sample -o $FIG/episode.png -c $PCK --context "$EP" --start "$START" --actions-from
$PY scripts/report_video.py $RUN
$V report $RUN
echo "report: $RUN/report.html and $RUN/report.md"
