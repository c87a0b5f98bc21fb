"""Write the video demo's report (``RUN/report.md``) from what ``scripts/demo_video.sh`` left in ``RUN``:
the per-step table of ``vqspeech evaluate``, the Figure-7 strips of ``vqspeech sample`` scored against the
simulator's true continuation (the maze is replayed from its seeds), the stage timings.

    python scripts/report_video.py runs/maze [--corpus demo_maze]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.video.config import VideoMeta
from vqspeech.video.eval import motion_benchmark, save_strip, score_against_truth, true_continuation


def strip_scores(run: Path, corpus: Path, name: str) -> dict[str, list[float]]:
    """Score ``figures/<name>.npz`` (a ``sample`` rollout) against the true continuation; also writes
    ``figures/<name>_vs_truth.png`` (top: context + truth, bottom: context + rollout)."""
    z = np.load(run / "figures" / f"{name}.npz")
    ctx, video, acts = z["context"], z["video"][0], z["actions"]
    ep, start = (run / "context.txt").read_text().split("context: ", 1)[1].rsplit(" from frame ", 1)
    truth = true_continuation(corpus, Path(ep), int(start) + len(ctx) - 1, acts, ctx.shape[1])
    save_strip([np.concatenate([ctx, truth]), np.concatenate([ctx, video])], run / "figures" /
               f"{name}_vs_truth.png", scale=2)
    return score_against_truth(ctx, video, truth)


def motion_scores(prior_path: Path, corpus: Path) -> dict[str, Any]:
    """:func:`vqspeech.video.eval.motion_benchmark` of the prior at ``prior_path`` and its recorded VQ-VAE."""
    from vqspeech.registry import load_model

    prior, raw = load_model(prior_path, expect="video-prior")
    vq, _ = load_model(VideoMeta.of(raw, str(prior_path)).vqvae_path, expect="video-vqvae")
    return motion_benchmark(prior, vq, corpus)


def row(name: str, values: list[float], fmt: str = "{:.2f}") -> str:
    return f"| {name} | " + " | ".join(fmt.format(v) for v in values) + f" | {fmt.format(float(np.mean(values)))} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--corpus", type=Path, default=Path("demo_maze"))
    args = ap.parse_args()
    run, corpus = args.run, args.corpus
    ev = json.loads((run / "evaluate.json").read_text())
    meta = json.loads((corpus / "_meta.json").read_text())
    n = {s: len(list((corpus / s).rglob("*.npz"))) for s in ("train", "test")}
    times = dict(line.split("\t") for line in (run / "timings.tsv").read_text().splitlines())
    md = ["# Video demo: maze frames -> 16x16 codes -> action-conditioned rollouts in latent space", "",
          f"Corpus: {n['train']} training + {n['test']} held-out maze episodes of {meta['length']} frames at "
          f"{meta['frame_size']}x{meta['frame_size']}"
          + (f" (rendered at {(n['train'] + n['test']) * meta['length'] / int(times['corpus']):.0f} frames/s)."
             if int(times.get("corpus", 0)) > 0 else "."), "",
          (run / "evaluate.md").read_text(), "",
          "Rows of the strips: truth, " + ", ".join(ev.get("strip_rows", [])[1:]) + ".", ""]
    md += [f"![window]({Path(s).relative_to(run)})" for s in ev.get("strips", [])[:2]]
    ctx_line = (run / "context.txt").read_text().strip()
    md += ["", f"Figure 7 ({ctx_line}): 6 context frames then 10 generated with all actions \"forward\" (top) and "
           "\"right\" (bottom):", "", "![forward](figures/forward.png)", "", "![right](figures/right.png)", "",
           "Each scored against the maze's true continuation (the simulator replayed from the episode's seeds "
           "and given the same actions); top row truth, bottom row the rollout:", ""]
    scores = {}
    for name in ("forward", "right"):
        scores[name] = s = strip_scores(run, corpus, name)
        md += [f"![{name} vs truth](figures/{name}_vs_truth.png)", ""]
    steps = len(scores["forward"]["rollout_psnr"])
    md += ["| PSNR (dB) vs the true continuation | " + " | ".join(str(i + 1) for i in range(steps)) + " | mean |",
           "|---" * (steps + 2) + "|"]
    for name, s in scores.items():
        md += [row(f"{name}*10 rollout", s["rollout_psnr"]), row(f"{name}*10 copy last", s["copy_last_psnr"])]
    md += ["", "| mean abs change from the frame before (0-255) | " + " | ".join(str(i + 1) for i in range(steps))
           + " | mean |", "|---" * (steps + 2) + "|"]
    for name, s in scores.items():
        md += [row(f"{name}*10 truth", s["truth_change"], "{:.1f}"),
               row(f"{name}*10 rollout", s["rollout_change"], "{:.1f}")]
    bench = motion_scores(Path(ev["checkpoint"]), corpus)
    scores["benchmark"] = bench
    (run / "strip_scores.json").write_text(json.dumps(scores, indent=1) + "\n")
    md += ["", f"The same on {bench['contexts']} held-out contexts (one per test episode, each with a free corridor "
           "of 10 forwards ahead): mean PSNR (dB) per step against the simulator's continuation of all-forward and "
           "all-right actions. \"rollout noop\" is the same model told to stand still (its frames without motion).",
           "", "| actions | method | " + " | ".join(str(i + 1) for i in range(steps)) + " | mean |",
           "|---" * (steps + 3) + "|"]
    for name in ("forward", "right"):
        md += [row(f"{name}*10 | {k}", v) for k, v in bench[name].items()]
    md += ["", "Generated with the episode's own actions (top row: truth): ![episode](figures/episode.png)", "",
           f"Machine: {platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS="
           f"{os.environ.get('OMP_NUM_THREADS', 'unset')}.", "", "| stage | seconds |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in times.items()]
    g = Path("runs/maze_global")
    if (run / "figures" / "global_samples.png").exists() and (g / "metrics.jsonl").exists():
        last = json.loads((g / "metrics.jsonl").read_text().splitlines()[-1])
        keep = {k: v for k, v in last.items() if k in ("valid_bits_per_code", "psnr_from_latents_vs_vqvae",
                                                       "code_accuracy_from_latents", "valid_latents_used")}
        md += ["", "Two-stage model: each frame from 3 latents of K = 512 (27 bits), a PixelCNN decoding the 16x16 "
               "code map. Held-out: " + ", ".join(f"{k} {v:.3g}" for k, v in keep.items()) + ".", "",
               "Frames decoded from 3 latents (top: the frame VQ-VAE, bottom: from the 27 bits): "
               "![global](../maze_global/global_reconstructions.png)", "",
               "Samples from uniformly drawn latent triples: ![samples](figures/global_samples.png)"]
    (run / "report.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
