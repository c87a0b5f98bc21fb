"""Video evaluation: PSNR and SSIM per predicted step (1..S) against the ground truth, for

* ``ceiling``: the decoder ceiling, decode(encode(truth)) of each target frame;
* ``copy_last``: the last context frame repeated (the baseline a model of motion must beat);
* ``rollout``: autoregressive generation in latent space from the context codes and the true actions;
* ``rollout_no_actions``: the same model with the actions withheld;
* ``teacher_forced``: one-step predictions, each from the true frames before it.

PSNR per step is that of the step's mean squared error over the windows (``10 log10(255^2 / mean MSE)``): a mean
of per-frame PSNRs would be dominated by the windows where nothing moves (copy-last is then exact, infinite dB).

Maze scoring (the video demo's report): :func:`true_continuation` replays the simulator from a corpus episode's
seeds, :func:`score_against_truth` scores a rollout and copy-last against it, and :func:`motion_benchmark` rolls
out ``forward*S`` / ``right*S`` / ``noop*S`` from many held-out contexts.

SSIM is scikit-image's (Gaussian-free 7x7 windows over each colour channel, data range 255).  Strips and GIFs
are written with Pillow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech.errors import InputError
from vqspeech.video.inference import decode_frames, encode_frames, rollout, teacher_forced
from vqspeech.video.models import FrameVQVAE, VideoPrior

METHODS = ("ceiling", "rollout", "teacher_forced", "rollout_no_actions", "copy_last")


def mse_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame mean squared error (``uint8`` units) of ``[..., H, W, 3]`` arrays -> ``[...]``."""
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    return d.reshape(*a.shape[:-3], -1).mean(-1)


def psnr_of_mse(mse: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))


def psnr_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame PSNR (dB, peak 255) of ``uint8 [..., H, W, 3]`` arrays -> ``[...]``."""
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = d.reshape(*a.shape[:-3], -1).mean(-1)
    return 10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-frame PSNR."""
    return float(psnr_frames(a, b).mean())


def ssim_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame SSIM (scikit-image) of ``uint8 [..., H, W, 3]`` arrays -> ``[...]``."""
    from skimage.metrics import structural_similarity

    lead = a.shape[:-3]
    fa, fb = a.reshape(-1, *a.shape[-3:]), b.reshape(-1, *b.shape[-3:])
    out = [structural_similarity(x, y, channel_axis=-1, data_range=255) for x, y in zip(fa, fb, strict=True)]
    return np.asarray(out, np.float64).reshape(lead)


def windows(videos: list[np.ndarray], actions: list[np.ndarray], length: int, max_windows: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``length`` frames from the episodes, at most ``max_windows`` of them spread
    evenly over all (episode, start) pairs (so over episodes and over times within them) -> ``(video [N, length,
    H, W, 3], actions [N, length])``."""
    picks = [(e, s) for e, v in enumerate(videos) for s in range(0, len(v) - length + 1, length)]
    if len(picks) > max_windows:
        picks = [picks[i] for i in np.linspace(0, len(picks) - 1, max_windows).round().astype(int)]
    if not picks:
        return np.zeros((0, length, 1, 1, 3), np.uint8), np.zeros((0, length), np.int64)
    return (np.stack([videos[e][s : s + length] for e, s in picks]),
            np.stack([actions[e][s : s + length] for e, s in picks]))


def evaluate_rollouts(vq: FrameVQVAE, prior: VideoPrior | None, video: np.ndarray, actions: np.ndarray, *,
                      context: int = 6, steps: int = 10, temperature: float = 0.0, seed: int = 0,
                      device: str | torch.device = "cpu") -> dict[str, Any]:
    """Per-step PSNR/SSIM of every method (``METHODS``; only ``ceiling`` and ``copy_last`` without a prior) on
    windows ``video [N, context + steps, H, W, 3]`` with ``actions [N, context + steps]``.

    Returns ``{"steps": S, "windows": N, "psnr": {method: [S]}, "ssim": {method: [S]}, "frames": {method:
    uint8 [N, S, H, W, 3]}}``.
    """
    n, total = video.shape[:2]
    if total < context + steps:
        raise ValueError(f"windows of {total} frames cannot hold {context} context + {steps} predicted frames")
    video, actions = video[:, : context + steps], actions[:, : context + steps]
    h = vq.latent_shape
    codes = encode_frames(vq, video.reshape(-1, *video.shape[2:]), device=device).reshape(n, context + steps, *h)
    truth = video[:, context:]

    def dec(c: np.ndarray) -> np.ndarray:
        return decode_frames(vq, c.reshape(-1, *h), device=device).reshape(truth.shape)

    frames: dict[str, np.ndarray] = {"ceiling": dec(codes[:, context:]),
                                     "copy_last": np.repeat(video[:, context - 1 : context], steps, 1)}
    if prior is not None:
        frames["rollout"] = dec(rollout(prior, codes[:, :context], actions, steps, temperature=temperature,
                                        seed=seed, device=device))
        frames["rollout_no_actions"] = dec(rollout(prior, codes[:, :context], np.full_like(actions, -1), steps,
                                                   temperature=temperature, seed=seed, device=device))
        frames["teacher_forced"] = dec(teacher_forced(prior, codes, actions, context, temperature=temperature,
                                                      seed=seed, device=device))
    order = [m for m in METHODS if m in frames]
    return {"steps": steps, "windows": n, "context": context,
            "psnr": {m: psnr_of_mse(mse_frames(frames[m], truth).mean(0)).tolist() for m in order},
            "ssim": {m: ssim_frames(frames[m], truth).mean(0).tolist() for m in order},
            "frames": frames, "truth": truth}


def markdown(report: dict[str, Any]) -> str:
    """Per-step PSNR and SSIM tables of a report from :func:`evaluate_rollouts`."""
    s = report["steps"]
    lines = [f"Held-out windows: {report['windows']} ({report['context']} context frames, {s} predicted)", ""]
    for metric, fmt in (("psnr", "{:.2f}"), ("ssim", "{:.3f}")):
        lines += [f"**{metric.upper()}{' (dB)' if metric == 'psnr' else ''} per predicted step**", "",
                  "| method | " + " | ".join(str(i + 1) for i in range(s)) + " | mean |",
                  "|---" * (s + 2) + "|"]
        for m, vals in report[metric].items():
            lines.append(f"| {m.replace('_', ' ')} | " + " | ".join(fmt.format(v) for v in vals) +
                         f" | {fmt.format(float(np.mean(vals)))} |")
        lines.append("")
    return "\n".join(lines)


def save_gif(frames: np.ndarray, path: str | Path, fps: float = 8.0, scale: int = 1) -> Path:
    """``uint8 [T, H, W, 3]`` -> an endlessly looping GIF."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imgs = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.Resampling.NEAREST)
            for f in frames]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    return path


def save_strip(rows: list[np.ndarray], path: str | Path, pad: int = 2, scale: int = 1) -> Path:
    """Rows of frames (each ``uint8 [T, H, W, 3]``, same ``H, W``) -> one PNG, a row per array (Figure 7)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = max(len(r) for r in rows)
    hh, ww = rows[0].shape[1:3]
    canvas = np.full((len(rows) * (hh + pad) + pad, t * (ww + pad) + pad, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        for j, f in enumerate(r):
            y, x = pad + i * (hh + pad), pad + j * (ww + pad)
            canvas[y : y + hh, x : x + ww] = f
    img = Image.fromarray(canvas)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    img.save(path)
    return path


__all__ = ["psnr", "psnr_frames", "mse_frames", "psnr_of_mse", "ssim_frames", "windows", "evaluate_rollouts",
           "markdown", "save_gif", "save_strip", "METHODS"]


def true_continuation(corpus: str | Path, episode: str | Path, frame: int, actions: np.ndarray,
                      size: int) -> np.ndarray:
    """The frames ``uint8 [S, size, size, 3]`` a maze corpus episode shows after playing ``actions [S]`` from its
    frame ``frame`` (the simulator replayed from the corpus seeds; bit-exact with the recorded frames when the
    actions are the episode's own)."""
    from vqspeech.video.data.corpus import maze_world

    world = maze_world(corpus, episode, frame)
    out = []
    for a in np.asarray(actions).tolist():
        world.step(int(a))
        out.append(world.render(size))
    return np.stack(out)


def free_ahead(corpus: str | Path, episode: str | Path, frame: int, steps: int) -> bool:
    """Whether ``steps`` forward actions from ``frame`` of a maze corpus episode each move the agent a full step
    (a free corridor ahead)."""
    from vqspeech.video.data.corpus import maze_world
    from vqspeech.video.data.maze import STEP, action_index

    world = maze_world(corpus, episode, frame)
    for _ in range(steps):
        x, y = world.state.x, world.state.y
        world.step(action_index("forward"))
        if np.hypot(world.state.x - x, world.state.y - y) < STEP - 1e-3:
            return False
    return True


def _changes(frames: np.ndarray, before: np.ndarray) -> list[float]:
    """Mean absolute change (0-255) of each frame of ``frames [S, H, W, 3]`` from the one before it (``before``
    for the first)."""
    prev = np.concatenate([before[None], frames[:-1]]).astype(np.float64)
    return np.abs(frames.astype(np.float64) - prev).mean(axis=(1, 2, 3)).tolist()


def score_against_truth(context: np.ndarray, video: np.ndarray, truth: np.ndarray) -> dict[str, list[float]]:
    """Per-step scores of a rollout ``video [S, H, W, 3]`` and of copy-last-frame against the true continuation
    ``truth [S, H, W, 3]`` after ``context [C, H, W, 3]``: PSNR (dB) and SSIM of each, and the mean absolute
    change from the frame before (truth and rollout: does the rollout move as much as the world does?)."""
    if video.shape != truth.shape:
        raise InputError(f"a rollout of shape {list(video.shape)} cannot be scored against a truth of shape "
                         f"{list(truth.shape)}")
    last = np.repeat(context[-1:], len(truth), 0)
    return {"rollout_psnr": psnr_frames(video, truth).tolist(), "copy_last_psnr": psnr_frames(last, truth).tolist(),
            "rollout_ssim": ssim_frames(video, truth).tolist(), "copy_last_ssim": ssim_frames(last, truth).tolist(),
            "truth_change": _changes(truth, context[-1]), "rollout_change": _changes(video, context[-1])}


def motion_benchmark(prior: VideoPrior, vq: FrameVQVAE, corpus: str | Path, *, contexts: int = 16, context: int = 6,
                     steps: int = 10, split: str = "test", stride: int = 7, device: str | torch.device = "cpu",
                     ) -> dict[str, Any]:
    """``forward*steps`` and ``right*steps`` rolled out from up to ``contexts`` held-out contexts of a maze corpus
    (one per episode of ``split``: the first start at a multiple of ``stride`` with a free corridor of ``steps``
    forwards ahead), each scored per step against the simulator's true continuation, next to a ``noop*steps``
    rollout (the model's frames without motion), copy-last-frame and the decoder ceiling.

    Returns ``{"contexts": n, "forward": {row: [PSNR per step]}, "right": {...}}`` (dB, the mean over the
    contexts of each frame's PSNR); rows ``copy last``, ``rollout <name>``, ``rollout noop``,
    ``ceiling``."""
    from vqspeech.video.data.maze import action_index

    size = vq.frame_size
    picks = []
    for ep in sorted((Path(corpus) / split).rglob("ep*.npz")):
        length = len(np.load(ep)["actions"])
        s = next((s for s in range(0, length - context - steps + 1, stride)
                  if free_ahead(corpus, ep, s + context - 1, steps)), None)
        if s is not None:
            picks.append((ep, s))
    picks = picks[:contexts]
    if not picks:
        raise InputError(f"{corpus}: no {split} episode has a free corridor of {steps} steps after {context} frames")
    ctx = np.stack([np.load(ep)["video"][s : s + context] for ep, s in picks])
    past = np.stack([np.load(ep)["actions"][s : s + context - 1] for ep, s in picks])
    codes = np.stack([encode_frames(vq, c, device=device) for c in ctx])
    last = np.repeat(ctx[:, -1:], steps, 1)
    out: dict[str, Any] = {"contexts": len(picks)}
    for name in ("forward", "right"):
        act = action_index(name)
        truth = np.stack([true_continuation(corpus, ep, s + context - 1, np.full(steps, act), size)
                          for ep, s in picks])
        score = {"copy last": last}
        for label, a in ((f"rollout {name}", act), ("rollout noop", action_index("noop"))):
            z = rollout(prior, codes, np.concatenate([past, np.full((len(picks), steps), a)], 1), steps,
                        device=device)
            score[label] = np.stack([decode_frames(vq, zz, device=device) for zz in z])
        score["ceiling"] = np.stack([decode_frames(vq, encode_frames(vq, t, device=device), device=device)
                                     for t in truth])
        flat_truth = truth.reshape(-1, *truth.shape[2:])
        out[name] = {k: psnr_frames(v.reshape(-1, *v.shape[2:]), flat_truth).reshape(len(picks), steps).mean(0)
                     .tolist() for k, v in score.items()}
    return out
