"""The ``LatentPrior`` protocol: an autoregressive model over code maps (speech: ``[B, N]`` sequences; images:
``[B, H, W]`` maps; video: ``[B, T, H, W]``), optionally conditioned (speaker, class, actions)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class LatentPrior(Protocol):
    """What the shared commands (sample, codec, evaluate) need from a prior."""

    num_codes: int

    def nll(self, codes: torch.Tensor, cond: Any = None, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood in nats per code of ``codes: [B, *S]`` (``mask``: real codes only)."""

    def sample(self, shape: tuple[int, ...], cond: Any = None, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes of ``shape = (B, *S)`` drawn from the prior."""
