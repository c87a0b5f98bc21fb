"""Video inference beside the models: frames <-> codes, and rollouts in latent space.

Frames are ``uint8 [N, H, W, 3]`` numpy arrays; codes ``[N, h, w]``; actions int ``[T]`` (``actions[t]`` taken
after frame ``t``; ``-1``: withheld).
"""

from __future__ import annotations

import numpy as np
import torch

from vqspeech.device import pick_device
from vqspeech.errors import InputError
from vqspeech.models.pixels import decode_rgb, encode_rgb
from vqspeech.video.models import FrameVQVAE, VideoPrior


@torch.no_grad()
def encode_frames(model: FrameVQVAE, frames: np.ndarray, *, batch_size: int = 64,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """``uint8 [N, H, W, 3]`` -> codes ``int64 [N, h, w]``."""
    s = model.frame_size
    if frames.ndim != 4 or frames.shape[1:] != (s, s, 3):
        raise InputError(f"frames are {'x'.join(map(str, frames.shape[1:3]))} but the model takes {s}x{s} "
                         f"(expected [N, {s}, {s}, 3], got {list(frames.shape)})")
    return encode_rgb(model, frames, batch_size=batch_size, device=pick_device(device))


@torch.no_grad()
def decode_frames(model: FrameVQVAE, codes: np.ndarray | torch.Tensor, *, batch_size: int = 64,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """codes ``[N, h, w]`` -> ``uint8 [N, H, W, 3]``."""
    return decode_rgb(model, codes, model.frame_size, batch_size=batch_size, device=pick_device(device))


@torch.no_grad()
def rollout(prior: VideoPrior, context: np.ndarray | torch.Tensor, actions: np.ndarray | torch.Tensor, steps: int,
            *, temperature: float = 0.0, seed: int = 0, device: str | torch.device = "cpu") -> np.ndarray:
    """Generate ``steps`` frames of codes after ``context`` purely in latent space.

    context: codes ``[B, C, h, w]`` (``C >= 1`` frames); actions: ``[B, C - 1 + steps]`` (or ``[C - 1 + steps]``,
    shared), ``actions[:, t]`` taken after frame ``t``, ``-1`` withheld.  Returns ``int64 [B, steps, h, w]``.
    Each new frame sees the last ``context_frames`` frames (real or generated) and the action before it.
    """
    dev = pick_device(device)
    prior.eval().to(dev)
    ctx = torch.as_tensor(np.asarray(context), dtype=torch.long).to(dev)
    if ctx.dim() != 4 or tuple(ctx.shape[2:]) != prior.latent_shape:
        raise InputError(f"context codes must be [B, T, {prior.latent_shape[0]}, {prior.latent_shape[1]}], got "
                         f"{list(ctx.shape)}")
    b, c = ctx.shape[:2]
    a = torch.as_tensor(np.asarray(actions), dtype=torch.long).to(dev)
    if a.dim() == 1:
        a = a[None].expand(b, -1)
    if a.shape[1] < c - 1 + steps:
        raise InputError(f"a rollout of {steps} frames after {c} context frames needs {c - 1 + steps} actions, "
                         f"got {a.shape[1]}")
    if int(a.max()) >= prior.num_actions:
        raise InputError(f"action {int(a.max())} out of range; the prior knows {prior.num_actions} actions")
    gen = torch.Generator().manual_seed(seed)
    k = prior.context_frames
    seq = ctx
    for _ in range(steps):
        t = seq.shape[1]
        past = seq[:, max(0, t - k) :]
        if past.shape[1] < k:
            pad = torch.full((b, k - past.shape[1], *prior.latent_shape), prior.num_codes, dtype=torch.long,
                             device=dev)
            past = torch.cat([pad, past], 1)
        nxt = prior.next_frame(past, a[:, t - 1], temperature=temperature, generator=gen)
        seq = torch.cat([seq, nxt[:, None]], 1)
    return seq[:, c:].cpu().numpy()


@torch.no_grad()
def teacher_forced(prior: VideoPrior, codes: np.ndarray | torch.Tensor, actions: np.ndarray | torch.Tensor,
                   first: int, *, temperature: float = 0.0, seed: int = 0,
                   device: str | torch.device = "cpu") -> np.ndarray:
    """One-step predictions of frames ``first..T-1`` of ``codes [B, T, h, w]``, each given the true frames before
    it (``actions [B, T]``) -> ``int64 [B, T - first, h, w]``."""
    dev = pick_device(device)
    prior.eval().to(dev)
    z = torch.as_tensor(np.asarray(codes), dtype=torch.long).to(dev)
    a = torch.as_tensor(np.asarray(actions), dtype=torch.long).to(dev)
    b, t = z.shape[:2]
    past = prior.past_frames(z)[:, first:].reshape(-1, prior.context_frames, *prior.latent_shape)
    act = a[:, first - 1 : t - 1].reshape(-1)
    gen = torch.Generator().manual_seed(seed)
    out = prior.next_frame(past, act, temperature=temperature, generator=gen)
    return out.view(b, t - first, *prior.latent_shape).cpu().numpy()


__all__ = ["encode_frames", "decode_frames", "rollout", "teacher_forced"]
