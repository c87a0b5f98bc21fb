"""Video benchmarks (``scripts/bench.py`` calls :func:`bench_video`): maze and ViZDoom frames/s, frame VQ-VAE
training frames/s, and the time of a 10-frame rollout in latent space (encode 6 context frames, generate,
decode).  Each row is a dict ``{"section": "video", "name": ..., "value": ..., "unit": ...}``."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch


def _rate(n: int, fn: Any) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def bench_video(quick: bool = False) -> list[dict[str, Any]]:
    from vqspeech.train.recipe import build
    from vqspeech.video.config import VideoPriorModel, VideoVQVAEConfig
    from vqspeech.video.data.maze import record_episode
    from vqspeech.video.inference import decode_frames, encode_frames, rollout
    from vqspeech.video.models import VideoPrior
    from vqspeech.video.tasks import build_vqvae

    rows: list[dict[str, Any]] = []
    n = 20 if quick else 100

    def row(name: str, value: float, unit: str) -> None:
        rows.append({"section": "video", "name": name, "value": round(float(value), 3), "unit": unit})

    for size in (84, 64):
        row(f"maze render {size}x{size}", _rate(n, lambda s=size: record_episode(0, n, s)), "frames/s")
    try:
        from vqspeech.video.data.vizdoom import record_vizdoom_episode

        row("vizdoom my_way_home 84x84 (incl. start)", _rate(n, lambda: record_vizdoom_episode(0, n, 84)), "frames/s")
    except ImportError:
        pass
    for label, size, model in (("maze recipe 64x64", 64, {"hidden": 32, "res_hidden": 32}),
                               ("dmlab recipe 84x84 (paper)", 84, {"hidden": 256, "res_hidden": 256})):
        cfg = build(VideoVQVAEConfig, {"data": {"frame_size": size}, "model": model,
                                       "quantizer": {"num_codes": 512 if size == 84 else 256,
                                                     "dim": 64 if size == 84 else 32}}, "bench")
        m = build_vqvae(cfg)
        opt = torch.optim.Adam(m.parameters(), 1e-3)
        bs = 8 if quick else 32
        x = torch.randint(0, 256, (bs, 3, size, size), dtype=torch.uint8)

        def step(m: Any = m, opt: Any = opt, x: torch.Tensor = x) -> None:
            out = m(x)
            loss = out.mse + out.vq_loss
            opt.zero_grad()
            loss.backward()
            opt.step()

        row(f"frame VQ-VAE training, {label}", _rate(bs, step), "frames/s")
        if size == 64:
            vq = m.eval()
    pcfg = build(VideoPriorModel, {"context_frames": 2, "channels": 64, "cond_layers": 6, "pixelcnn_layers": 0,
                                   "out_hidden": 128}, "bench")
    prior = VideoPrior(pcfg, 256, 7, (16, 16)).eval()
    frames = np.zeros((6, 64, 64, 3), np.uint8)

    def roll(p: VideoPrior = prior) -> None:
        ctx = encode_frames(vq, frames)
        decode_frames(vq, rollout(p, ctx[None], np.ones(15, np.int64), 10)[0])

    row("rollout of 10 frames, maze_video recipe (pixelcnn_layers 0)", 1 / _rate(1, roll), "s")
    pcfg.pixelcnn_layers = 4
    row("rollout of 10 frames, pixelcnn_layers 4", 1 / _rate(1, lambda: roll(VideoPrior(pcfg, 256, 7, (16, 16))
                                                                           .eval())), "s")
    return rows


__all__ = ["bench_video"]
