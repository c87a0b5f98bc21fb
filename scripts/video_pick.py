"""Print ``EPISODE START`` for the video demo's Figure 7: the first held-out maze episode and frame ``START``
such that the agent walks forward after the context (frames ``START .. START + C - 1``) and, replayed in the
simulator, ten forward steps from the last context frame all move a full step (a free corridor ahead).

    python scripts/video_pick.py CORPUS [--context 6] [--steps 10] [--split test]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vqspeech.video.data.maze import action_index
from vqspeech.video.eval import free_ahead


def pick(root: Path, split: str, context: int, steps: int) -> tuple[Path, int]:
    forward = action_index("forward")
    for ep in sorted((root / split).rglob("ep*.npz")):
        a = np.load(ep)["actions"]
        for s in range(len(a) - context - steps + 1):
            last = s + context - 1
            if (a[last : last + 6] == forward).all() and free_ahead(root, ep, last, steps):
                return ep, s
    raise SystemExit(f"error: {root / split}: no episode walks forward along a free corridor of {steps} steps")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--context", type=int, default=6)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--split", default="test")
    args = ap.parse_args()
    ep, start = pick(args.corpus, args.split, args.context, args.steps)
    print(ep, start)


if __name__ == "__main__":
    main()
