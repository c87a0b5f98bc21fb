#!/usr/bin/env bash
# The video demo: a seeded maze corpus, the frame VQ-VAE and the action-conditioned prior on CPU, per-step
# rollout evaluation and Figure-7-like strips, ending in runs/maze/report.md.
#   VQSPEECH_VIDEO_MINUTES         frame VQ-VAE training time (default 6)
#   VQSPEECH_VIDEO_PRIOR_MINUTES   video prior training time (default 8)
#   VQSPEECH_VIDEO_GLOBAL_MINUTES  two-stage (3-latent) model training time (default 4; 0 skips it)
#   VQSPEECH_VIDEO_EPISODES        training episodes of the corpus (default 150)
# On a machine whose cores are busy with other work, OMP_NUM_THREADS=1 trains these small models faster.
#   PY                            the Python to use (default .venv/bin/python, created by scripts/_venv.sh)
# Until the CLI wires the video commands this calls their Python functions; re-running reuses what is built.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
    source scripts/_venv.sh
    ensure_venv "demo"
    PY=.venv/bin/python
fi
MIN="${VQSPEECH_VIDEO_MINUTES:-6}"
PMIN="${VQSPEECH_VIDEO_PRIOR_MINUTES:-8}"
GMIN="${VQSPEECH_VIDEO_GLOBAL_MINUTES:-4}"
EPS="${VQSPEECH_VIDEO_EPISODES:-150}"
RUN=runs/maze
CK=$RUN/checkpoints/last.safetensors
PCK=runs/maze_video/checkpoints/last.safetensors
GCK=runs/maze_global/checkpoints/last.safetensors
mkdir -p $RUN
T=$RUN/timings.tsv
stage() {  # stage NAME PYTHON-CODE: run and record its wall time
    local name="$1" t0=$SECONDS
    echo "== $name"
    $PY -c "$2"
    [ -f $T ] && sed -i "/^$name\t/d" $T  # a re-run replaces its stage's line
    printf '%s\t%s\n' "$name" "$((SECONDS - t0))" >> $T
}
[ -f demo_maze/_meta.json ] && [ -f "demo_maze/test/000/ep00019.npz" ] || stage corpus "
from vqspeech.video import commands
import json; r = commands.corpus_maze('demo_maze', train=$EPS, test=20, length=100, size=64)
json.dump(r, open('$RUN/corpus.json', 'w'))"
[ -f $CK ] || stage train "
from vqspeech import verbs
verbs.train('recipes/maze.yaml', overrides=['train.max_minutes=$MIN'], device='auto')"
[ -f $PCK ] || stage prior "
from vqspeech import verbs
verbs.train('recipes/maze_video.yaml', overrides=['train.max_minutes=$PMIN'], device='auto')"
if [ "$GMIN" != 0 ] && [ ! -f $GCK ]; then stage global "
from vqspeech import verbs
verbs.train('recipes/maze_global.yaml', overrides=['train.max_minutes=$GMIN'], device='auto')"
fi
if [ -f $GCK ] && [ ! -f $RUN/figures/global_samples.png ]; then stage global-sample "
from vqspeech.video import commands
commands.sample('$RUN/figures/global_samples.png', '$GCK', n=16, seed=0)"
fi
[ -f $RUN/evaluate.json ] || stage evaluate "
from vqspeech.video import commands
commands.evaluate('demo_maze', '$PCK', json_path='$RUN/evaluate.json', md_path='$RUN/evaluate.md',
                  out_dir='$RUN/figures', max_windows=20)"
stage sample "
import time, json
import numpy as np
from pathlib import Path
from vqspeech.video import commands
# A context in a corridor: the first held-out episode and time where the agent then walks forward 6 times.
pick = None
for ep in sorted(Path('demo_maze/test').rglob('*.npz')):
    a = np.load(ep)['actions']
    for s in range(0, len(a) - 16):
        if (a[s + 5 : s + 11] == 1).all():
            pick = (ep, s)
            break
    if pick:
        break
ep, start = pick or (sorted(Path('demo_maze/test').rglob('*.npz'))[0], 0)
t = {}
for name in ('forward', 'right'):
    t0 = time.time()
    commands.sample('$RUN/figures/' + name, '$PCK', context=ep, start=start, actions=name + '*10')
    t[name + '_rollout_s'] = time.time() - t0
commands.sample('$RUN/figures/episode', '$PCK', context=ep, start=start, actions_from=True)
t['context'] = f'{ep} from frame {start}' 
json.dump(t, open('$RUN/sample_timings.json', 'w'))"
stage report "
import json
from pathlib import Path
run = Path('$RUN')
ev = json.loads((run / 'evaluate.json').read_text())
md = ['# Video demo: maze frames -> 16x16 codes -> action-conditioned rollouts in latent space', '']
c = json.loads((run / 'corpus.json').read_text()) if (run / 'corpus.json').exists() else {}
if c: md += [f\"Corpus: {c['train']} training + {c['test']} held-out maze episodes of 100 frames at 64x64 \"
             f\"(rendered at {c['frames_per_s']:.0f} frames/s).\", '']
md += [(run / 'evaluate.md').read_text(), '',
       'Rows of the strips: truth, ' + ', '.join(ev.get('strip_rows', [])[1:]) + '.', '']
for s in ev.get('strips', [])[:2]:
    md.append(f'![window]({Path(s).relative_to(run)})')
md += ['', 'Figure 7: 6 context frames then 10 generated with all actions \"forward\" (top) and \"right\" (bottom):', '',
       '![forward](figures/forward.png)', '', '![right](figures/right.png)', '',
       'Generated with the episode own actions (top row: truth): ![episode](figures/episode.png)', '',
       '| stage | seconds |', '|---|---|']
g = Path('runs/maze_global')
if (run / 'figures' / 'global_samples.png').exists():
    last = json.loads((g / 'metrics.jsonl').read_text().splitlines()[-1])
    keep = {k: v for k, v in last.items() if k in ('valid_bits_per_code', 'psnr_from_latents_vs_vqvae',
                                                   'code_accuracy_from_latents', 'valid_latents_used')}
    md[-2:-2] = ['Two-stage model: each frame from 3 latents of K = 512 (27 bits), a PixelCNN decoding the 16x16 '
                 'code map. Held-out: ' + ', '.join(f'{k} {v:.3g}' for k, v in keep.items()) + '.', '',
                 'Frames decoded from 3 latents (top: the frame VQ-VAE, bottom: from the 27 bits): '
                 '![global](../maze_global/global_reconstructions.png)', '',
                 'Samples from uniformly drawn latent triples: ![samples](figures/global_samples.png)', '']
md += [f'| {a} | {b} |' for a, b in (l.split('\t') for l in (run / 'timings.tsv').read_text().splitlines())]
st = run / 'sample_timings.json'
if st.exists():
    md += ['', 'Rollout of 10 frames (encode context, generate, decode): ' +
           ', '.join(f'{k} {v:.2f} s' for k, v in json.loads(st.read_text()).items() if k != 'context')]
(run / 'report.md').write_text('\n'.join(md) + '\n')"
echo "report: $RUN/report.md"
