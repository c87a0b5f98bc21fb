"""``vqspeech report`` of a video run: the page built from a small fixture run (the files scripts/demo_video.sh
writes, made small here) opens in headless Chromium with every GIF and image decoded and no console error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_page_plays, chromium, run_cli
from PIL import Image

from vqspeech.video.eval import markdown, save_gif, save_strip

ROWS = ["truth", "ceiling", "copy_last", "rollout", "rollout_no_actions", "teacher_forced"]
METHODS = ["ceiling", "rollout", "teacher_forced", "rollout_no_actions", "copy_last"]


def make_video_run(root: Path, context: int = 2, steps: int = 3, size: int = 8) -> Path:
    """``root/runs/maze`` (+ the prior's ``runs/maze_video``) as the video demo leaves them, with tiny files."""
    rng = np.random.default_rng(0)
    run, prior = root / "runs" / "maze", root / "runs" / "maze_video"
    fig = run / "figures"
    fig.mkdir(parents=True)
    (prior / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("task: video-vqvae\n")
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "mse": 0.1 / s, "vq_loss": 0.02})
                                               + "\n" for s in (1, 2, 3)))
    (prior / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "bits_per_code": 5 - s}) + "\n"
                                                 for s in (1, 2)) + json.dumps({"step": 2, "valid_bits_per_code": 3.5})
                                         + "\n")
    report = {"input": "demo_maze", "checkpoint": str(prior / "checkpoints" / "last.safetensors"), "windows": 2,
              "context": context, "steps": steps, "temperature": 0.0,
              "psnr": {m: list(rng.uniform(14, 28, steps)) for m in METHODS},
              "ssim": {m: list(rng.uniform(0.2, 0.7, steps)) for m in METHODS},
              "strips": [], "strip_rows": ROWS}
    for i in range(2):
        rows = [rng.integers(0, 256, (steps, size, size, 3), dtype=np.uint8) for _ in ROWS]
        ctx = rng.integers(0, 256, (context, size, size, 3), dtype=np.uint8)
        report["strips"].append(str(save_strip(rows, fig / f"window{i}.png", scale=2)))
        save_gif(np.concatenate([np.concatenate([ctx, r]) for r in rows], 2), fig / f"window{i}.gif", fps=4, scale=2)
    (run / "evaluate.json").write_text(json.dumps(report))
    (run / "evaluate.md").write_text(markdown(report))
    ctx = rng.integers(0, 256, (context, size, size, 3), dtype=np.uint8)
    for name, act in (("forward", 1), ("right", 3)):
        video = rng.integers(0, 256, (1, steps, size, size, 3), dtype=np.uint8)
        save_gif(np.concatenate([ctx, video[0]]), fig / f"{name}.gif", scale=2)
        save_strip([np.concatenate([ctx, video[0]])], fig / f"{name}.png", scale=2)
        save_strip([np.concatenate([ctx, video[0][::-1]]), np.concatenate([ctx, video[0]])],
                   fig / f"{name}_vs_truth.png", scale=2)
        np.savez(fig / f"{name}.npz", codes=np.zeros((1, steps, 2, 2), np.uint16), video=video, context=ctx,
                 actions=np.full(steps, act), context_actions=np.zeros(context - 1, np.int64),
                 action_names=np.array(["noop", "forward", "left", "right"]))
        (run / "context.txt").write_text("context: demo_maze/test/000/ep00000.npz from frame 7\n")
    scores = {n: {"rollout_psnr": list(rng.uniform(14, 20, steps)), "copy_last_psnr": list(rng.uniform(12, 16, steps))}
              for n in ("forward", "right")}
    scores["benchmark"] = {"contexts": 2, **{n: {"copy last": [15.0] * steps, f"rollout {n}": [18.0] * steps}
                                            for n in ("forward", "right")}}
    (run / "strip_scores.json").write_text(json.dumps(scores))
    (run / "timings.tsv").write_text("corpus\t3\ntrain\t10\n")
    return run


def test_video_report_page_plays_every_gif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    make_video_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "pages" / "maze.html"
    out.parent.mkdir()
    code, _, err = run_cli(["report", "runs/maze", "-o", str(out)], monkeypatch, capsys)
    assert code == 0, err
    text = out.read_text()
    for part in ("PSNR and SSIM per predicted step", "teacher forced", "Rollouts beside the truth", "forward, forward",
                 "Rollouts scored against the simulator", "Training curves", "Time taken"):
        assert part in text, part
    panels = sorted((tmp_path / "pages" / "maze_files" / "windows").glob("window0-*.gif"))
    assert len(panels) == len(ROWS)  # the evaluate GIF cut into truth | ceiling | ... panels, each still animated
    with Image.open(panels[0]) as im:
        assert im.n_frames == 2 + 3 and im.size == (16, 16)
    # the page sits outside the run dir: the run's files are copied beside it, never linked above its folder
    assert "../" not in text
    with chromium(tmp_path, monkeypatch) as driver:
        media = assert_page_plays(driver, out.resolve().as_uri(), min_img=2 * len(ROWS) + 2 * 2 + 1)
    assert all(u.startswith("file://") for u in media["resources"])
