"""Strided convolutional encoder: ``n`` convolutions of window ``k`` and stride 2 (paper: 6 of window 4,
64x fewer frames), ReLU between, then a 1x1 projection to the latent size."""

from __future__ import annotations

import torch
from torch import nn


class StridedEncoder(nn.Module):
    """forward(x: [B, C_in, T]) -> [B, D, T / 2**layers]  (T a multiple of 2**layers)."""

    def __init__(self, in_channels: int, channels: int, out_dim: int, layers: int = 6, kernel: int = 4) -> None:
        super().__init__()
        if kernel % 2 != 0 or kernel < 2:
            raise ValueError("encoder kernel must be even (so that stride 2 halves the length exactly)")
        mods: list[nn.Module] = []
        c = in_channels
        for _ in range(layers):
            mods += [nn.Conv1d(c, channels, kernel, stride=2, padding=kernel // 2 - 1), nn.ReLU()]
            c = channels
        mods.append(nn.Conv1d(c, out_dim, 1))
        self.net = nn.Sequential(*mods)
        for m in self.net:
            if isinstance(m, nn.Conv1d):  # variance-preserving init for ReLU stacks (no vanishing latents)
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.layers, self.kernel = layers, kernel
        self.hop = 2**layers

    @property
    def receptive_field(self) -> int:
        """Input samples that one output frame depends on."""
        rf, jump = 1, 1
        for _ in range(self.layers):
            rf += (self.kernel - 1) * jump
            jump *= 2
        return rf

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
