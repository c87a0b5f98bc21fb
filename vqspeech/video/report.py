"""The video family's page of ``vqspeech report RUN_DIR``, from what ``scripts/demo_video.sh`` leaves in the frame
VQ-VAE's run dir: ``evaluate.json`` + ``evaluate.md`` (PSNR/SSIM per predicted step), ``figures/window<i>.gif``
(``evaluate --out-dir``: context then each method's frames, side by side in the order of ``strip_rows``, truth
first) and ``.png``, the rollouts of ``vqspeech sample`` (``figures/<name>.gif``/``.png``/``.npz``; the
``<name>_vs_truth.png`` strips and ``strip_scores.json`` of ``scripts/report_video.py``), ``context.txt`` and
``timings.tsv``; the ``metrics.jsonl`` of the VQ-VAE and of the prior that ``evaluate.json`` names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.io.html import Page, Raw, esc, find_recorded, line_plot, para, read_tsv_pairs, table


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def split_gif(gif: Path, parts: int, outs: list[Path]) -> list[Path] | None:
    """Cut an animated GIF whose frames are ``parts`` equal panels side by side into one GIF per panel (same
    frame durations), written to ``outs``; ``None`` when its width does not divide."""
    from PIL import Image, ImageSequence

    with Image.open(gif) as im:
        if im.width % parts:
            return None
        w = im.width // parts
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(im)]
        durations = [int(f.info.get("duration", 250)) for f in ImageSequence.Iterator(im)]
    for i, out in enumerate(outs):
        panel = [f.crop((i * w, 0, (i + 1) * w, f.height)) for f in frames]
        panel[0].save(out, save_all=True, append_images=panel[1:], duration=durations, loop=0)
    return outs


def _windows(run: Path, page: Page, ev: dict[str, Any]) -> None:
    names = list(ev.get("strip_rows") or [])
    gifs = sorted((run / "figures").glob("window*.gif"), key=lambda p: (len(p.stem), p.stem)) if (
        run / "figures").is_dir() else []
    if not gifs:
        return
    rows = []
    for g in gifs:
        outs = [page.asset(f"windows/{g.stem}-{n}.gif") for n in names] if names else []
        split = split_gif(g, len(names), outs) if names else None
        if split:
            rows.append([g.stem, *[page.img(p, f"{g.stem}: {n}", "px") for p, n in zip(split, names, strict=True)]])
        else:
            rows.append([g.stem, page.img(g, f"{g.stem}: " + ", ".join(names), "px")])
    header = ["window", *(n.replace("_", " ") for n in names)] if all(len(r) == len(names) + 1 for r in rows) else [
        "window", "context then " + ", ".join(names)]
    page.add("Rollouts beside the truth",
             para(f"Held-out windows: each GIF plays the {ev.get('context', '')} context frames and then "
                  f"{ev.get('steps', '')} frames, the truth first, then each method "
                  "(ceiling: decode of encode of the truth; rollout: the prior with the true actions; teacher forced: "
                  "one step ahead from the true codes; copy last: the last context frame)."),
             Raw('<div class="scroll">' + table(header, rows, "gifs") + "</div>"))


def _samples(run: Path, page: Page) -> None:
    fig = run / "figures"
    names = [n for n in ("forward", "right", "episode") if (fig / f"{n}.gif").is_file()]
    names += sorted(p.stem for p in fig.glob("*.gif") if not p.stem.startswith("window") and p.stem not in names) \
        if fig.is_dir() else []
    if not names:
        return
    rows = []
    for n in names:
        acts = ""
        if (fig / f"{n}.npz").is_file():
            with np.load(fig / f"{n}.npz") as z:
                if "actions" in z.files and "action_names" in z.files:
                    labels = [str(x) for x in z["action_names"]]
                    acts = ", ".join(labels[int(a)] if 0 <= int(a) < len(labels) else str(a) for a in z["actions"])
        strip = fig / f"{n}_vs_truth.png"
        strip = strip if strip.is_file() else fig / f"{n}.png"
        rows.append([n, acts, page.img(fig / f"{n}.gif", f"{n}: context then rollout", "px"),
                     page.img(strip, f"{n}: strip", "fig px") if strip.is_file() else esc("–")])
    ctx = (run / "context.txt").read_text().strip() if (run / "context.txt").is_file() else ""
    page.add("Sampled rollouts (vqspeech sample)",
             para("Context frames then frames generated for the given actions. Strips: the truth on top where it is "
                  "known (the episode's own actions, or the maze replayed with the same actions), the rollout below."
                  + (f" {ctx}." if ctx else "")),
             Raw('<div class="scroll">' + table(["rollout", "actions", "GIF", "strip"], rows, "gifs") + "</div>"))


def _strip_scores(run: Path, page: Page) -> None:
    p = run / "strip_scores.json"
    if not p.is_file():
        return
    s = json.loads(p.read_text())
    parts = []
    keys = [k for k in ("forward", "right") if isinstance(s.get(k), dict) and "rollout_psnr" in s[k]]
    if keys:
        steps = len(s[keys[0]]["rollout_psnr"])
        rows = [[f"{k}: {m.replace('_psnr', '').replace('_', ' ')}", *(f"{v:.2f}" for v in s[k][m]),
                 f"{float(np.mean(s[k][m])):.2f}"] for k in keys for m in ("rollout_psnr", "copy_last_psnr")
                if m in s[k]]
        parts += [para("The sampled rollouts against the maze's true continuation, PSNR (dB) per step:"),
                  table(["rollout", *map(str, range(1, steps + 1)), "mean"], rows)]
    bench = s.get("benchmark") or {}
    if any(isinstance(bench.get(k), dict) for k in ("forward", "right")):
        rows = []
        for k in ("forward", "right"):
            for m, v in (bench.get(k) or {}).items():
                rows.append([k, m, *(f"{x:.2f}" for x in v), f"{float(np.mean(v)):.2f}"])
        steps = max(len(r) - 3 for r in rows)
        parts += [para(f"The same on {bench.get('contexts', '')} held-out contexts, mean PSNR (dB) per step:"),
                  table(["actions", "method", *map(str, range(1, steps + 1)), "mean"], rows)]
    if parts:
        page.add("Rollouts scored against the simulator", *parts)


def _curves(run: Path, page: Page, ev: dict[str, Any]) -> None:
    vq = _rows(run / "metrics.jsonl")
    prior_ck = find_recorded(ev.get("checkpoint"), run)
    prior = _rows(prior_ck.parents[1] / "metrics.jsonl") if prior_ck and len(prior_ck.parts) > 2 else []
    series = []
    for key, label in (("mse", "VQ-VAE: reconstruction MSE"), ("vq_loss", "VQ-VAE: VQ loss")):
        rows = [r for r in vq if key in r]
        series.append((label, [r["step"] for r in rows], [r[key] for r in rows], 0))
    for key, label in (("bits_per_code", "prior: NLL (bits/code)"), ("valid_bits_per_code", "prior: held-out NLL")):
        rows = [r for r in prior if key in r]
        series.append((label, [r["step"] for r in rows], [r[key] for r in rows], 1))
    out = line_plot(series, page.asset("curves.png"), ("VQ-VAE loss", "bits / code"))
    if out is not None:
        page.add("Training curves", page.figure(out, "training curves (frame VQ-VAE, action-conditioned prior)"))


def build(run: Path, page: Page) -> None:
    """Fill ``page`` with the video run ``run``: the per-step table, GIFs of rollouts beside the truth, sampled
    rollouts, their scores, training curves, time taken."""
    ev = json.loads((run / "evaluate.json").read_text()) if (run / "evaluate.json").is_file() else {}
    if (run / "evaluate.md").is_file():
        page.add("PSNR and SSIM per predicted step (vqspeech evaluate)",
                 page.markdown((run / "evaluate.md").read_text(), run))
    _windows(run, page, ev)
    _samples(run, page)
    _strip_scores(run, page)
    _curves(run, page, ev)
    timings = read_tsv_pairs(run / "timings.tsv")
    if timings:
        page.add("Time taken", table(["stage", "seconds"], timings))


__all__ = ["build", "split_gif"]
