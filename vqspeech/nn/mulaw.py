"""256-level mu-law companding (the WaveNet output alphabet) and its continuous form for encoder inputs."""

from __future__ import annotations

import math

import torch


def mulaw_compand(x: torch.Tensor, mu: int = 255) -> torch.Tensor:
    """Continuous mu-law: ``[-1, 1] -> [-1, 1]``, ``sign(x) log(1 + mu|x|) / log(1 + mu)`` (any shape)."""
    return torch.sign(x) * torch.log1p(mu * x.abs().clamp(max=1)) / math.log1p(mu)


def mulaw_encode(x: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Float audio in [-1, 1] -> integer classes ``0 .. levels-1`` (mu-law companding, mu = levels-1)."""
    mu = levels - 1
    y = mulaw_compand(x.clamp(-1.0, 1.0), mu)
    return ((y + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mulaw_decode(q: torch.Tensor, levels: int = 256) -> torch.Tensor:
    """Integer classes -> float audio in [-1, 1]; the inverse of :func:`mulaw_encode` up to quantization."""
    mu = levels - 1
    y = 2 * q.float() / mu - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu
