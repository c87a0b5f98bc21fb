"""Strided convolutional encoder: one convolution per stride, ReLU between, then a 1x1 projection to the latent
size.  The paper's speech encoder is 6 convolutions of stride 2 and window 4 (64x fewer frames); any list of
strides works (e.g. 2,2,2,2,2,4,5 = 640x, the paper's 25 Hz at 16 kHz), each with a window of twice its stride
(or ``kernel`` for stride-2 stacks) and padding ``ceil(stride/2)``, so ``T`` samples (a multiple of the hop)
give exactly ``T / hop`` frames and shifting the input by ``hop`` shifts the output by one frame."""

from __future__ import annotations

import math

import torch
from torch import nn


class StridedEncoder(nn.Module):
    """forward(x: [B, C_in, T]) -> [B, D, T / hop] (T a multiple of ``hop`` = the product of the strides).

    ``strides`` (default ``[2] * layers``) and ``kernel`` (the window of stride-2 layers; other strides use
    twice the stride)."""

    def __init__(self, in_channels: int, channels: int, out_dim: int, layers: int = 6, kernel: int = 4,
                 strides: list[int] | None = None) -> None:
        super().__init__()
        if kernel % 2 != 0 or kernel < 2:
            raise ValueError("encoder kernel must be even (so that stride 2 halves the length exactly)")
        self.strides = list(strides) if strides else [2] * layers
        if any(s < 1 for s in self.strides):
            raise ValueError(f"strides must be positive, not {self.strides}")
        self.kernels = [kernel if s == 2 else 2 * s for s in self.strides]
        mods: list[nn.Module] = []
        c = in_channels
        for s, k in zip(self.strides, self.kernels, strict=True):
            mods += [nn.Conv1d(c, channels, k, stride=s, padding=math.ceil(s / 2) if s != 2 else k // 2 - 1),
                     nn.ReLU()]
            c = channels
        mods.append(nn.Conv1d(c, out_dim, 1))
        self.net = nn.Sequential(*mods)
        for m in self.net:
            if isinstance(m, nn.Conv1d):  # variance-preserving init for ReLU stacks (no vanishing latents)
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.layers, self.kernel = len(self.strides), kernel
        self.hop = math.prod(self.strides)

    @property
    def receptive_field(self) -> int:
        """Input samples that one output frame depends on."""
        rf, jump = 1, 1
        for s, k in zip(self.strides, self.kernels, strict=True):
            rf += (k - 1) * jump
            jump *= s
        return rf

    @property
    def activation_floats(self) -> float:
        """fp32 values alive per input sample at the widest point (the first layer's output and the next input)."""
        width = max(m.out_channels for m in self.net if isinstance(m, nn.Conv1d))
        return 3 + 2 * width / self.strides[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
