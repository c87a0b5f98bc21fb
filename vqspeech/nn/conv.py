"""2-D strided convolutional encoder/decoder and residual blocks (van den Oord et al. 2017, section 4.1).

The paper's image VQ-VAE: "the encoder consists of 2 strided convolutional layers with stride 2 and window size
4 x 4, followed by two residual 3 x 3 blocks (implemented as ReLU, 3x3 conv, ReLU, 1x1 conv), all having 256
hidden units.  The decoder similarly has two residual 3 x 3 blocks, followed by two transposed convolutions
with stride 2 and window size 4 x 4."  These layers know nothing of quantizers or likelihoods.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock2d(nn.Module):
    """``x + conv1x1(relu(conv3x3(relu(x))))``; ``[B, C, H, W] -> [B, C, H, W]``."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.conv3 = nn.Conv2d(channels, hidden, 3, padding=1)
        self.conv1 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv3(torch.relu(x))))


class ResidualStack2d(nn.Module):
    """``n`` residual blocks followed by a ReLU (the residual path stays linear until the end)."""

    def __init__(self, channels: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualBlock2d(channels, hidden) for _ in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for b in self.blocks:
            x = b(x)
        return torch.relu(x)


class Encoder2d(nn.Module):
    """``downsample`` strided 4x4 convolutions (stride 2), a 3x3 convolution, residual blocks, a 1x1 projection.

    forward(x: ``[B, C_in, H, W]``) -> ``[B, out_channels, H / 2**downsample, W / 2**downsample]``
    (``H`` and ``W`` multiples of ``2**downsample``).
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, *, downsample: int = 2,
                 res_blocks: int = 2, res_hidden: int = 256) -> None:
        super().__init__()
        if downsample < 1:
            raise ValueError("downsample must be >= 1")
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(downsample):
            layers += [nn.Conv2d(c, hidden, 4, stride=2, padding=1), nn.ReLU()]
            c = hidden
        layers.append(nn.Conv2d(hidden, hidden, 3, padding=1))
        self.convs = nn.Sequential(*layers)
        self.res = ResidualStack2d(hidden, res_hidden, res_blocks)
        self.proj = nn.Conv2d(hidden, out_channels, 1)
        self.factor = 2**downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.res(self.convs(x)))


class Decoder2d(nn.Module):
    """The mirror of :class:`Encoder2d`: a 3x3 convolution, residual blocks, ``upsample`` transposed 4x4
    convolutions (stride 2), the last one to ``out_channels`` (the paper's layout) or, with ``out_hidden > 0``,
    to ``out_hidden`` channels followed by a ReLU and a 1x1 convolution to ``out_channels`` (for a wide output
    such as 768 pixel logits this costs a fraction of the 4x4 transposed convolution's FLOPs).

    forward(z: ``[B, in_channels, h, w]``) -> ``[B, out_channels, h * 2**upsample, w * 2**upsample]``.
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, *, upsample: int = 2,
                 res_blocks: int = 2, res_hidden: int = 256, out_hidden: int = 0) -> None:
        super().__init__()
        if upsample < 1:
            raise ValueError("upsample must be >= 1")
        if out_hidden < 0:
            raise ValueError(f"out_hidden must be >= 0 (0: no pointwise head), not {out_hidden}")
        self.conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.res = ResidualStack2d(hidden, res_hidden, res_blocks)
        layers: list[nn.Module] = []
        for i in range(upsample):
            last = i == upsample - 1
            width = (out_hidden or out_channels) if last else hidden
            layers.append(nn.ConvTranspose2d(hidden, width, 4, stride=2, padding=1))
            if not last:
                layers.append(nn.ReLU())
        self.deconvs = nn.Sequential(*layers)
        self.head = nn.Conv2d(out_hidden, out_channels, 1) if out_hidden > 0 else None
        self.factor = 2**upsample

    @property
    def last(self) -> nn.Module:
        """The layer that writes the output channels."""
        return self.head if self.head is not None else self.deconvs[-1]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.deconvs(self.res(self.conv(z)))
        return self.head(torch.relu(y)) if self.head is not None else y


__all__ = ["ResidualBlock2d", "ResidualStack2d", "Encoder2d", "Decoder2d"]
