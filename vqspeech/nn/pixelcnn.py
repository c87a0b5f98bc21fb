"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders") over
2-D maps of discrete codes, with optional class conditioning.

Two stacks remove the blind spot of a plain masked PixelCNN:

* the **vertical stack** at row ``i`` sees only rows ``< i`` (its input is the embedded map shifted down by one
  row, and each layer convolves with a ``(k//2 + 1) x k`` window that covers the rows at and above);
* the **horizontal stack** at ``(i, j)`` sees row ``i`` at columns ``< j`` (its input is shifted right by one
  column and each layer convolves with a ``1 x (k//2 + 1)`` window at and left of ``j``), plus the vertical
  stack of the same row (which only holds rows above), so everything earlier in raster order is reachable.

Both use gated units ``tanh(a + V c) * sigmoid(b + W c)`` where ``c`` is the class embedding and/or a spatial
conditioning map ``[B, cond_channels, H, W]`` (added through a 1x1 convolution; the video prior passes features of
earlier frames and actions this way); the horizontal stack is residual.  The masking is done by padding and
shifting (no weights are zeroed), so the network is
causal by construction: the logits at ``(i, j)`` depend on codes strictly before ``(i, j)`` in raster order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer of both stacks: ``(v, h, cond_bias) -> (v', h')``, all ``[B, C, H, W]``."""

    def __init__(self, channels: int, kernel: int, num_classes: int, cond_channels: int = 0) -> None:
        super().__init__()
        if kernel < 3 or kernel % 2 == 0:
            raise ValueError("PixelCNN kernel must be odd and >= 3")
        self.k2 = kernel // 2
        c = channels
        self.v_conv = nn.Conv2d(c, 2 * c, (self.k2 + 1, kernel))
        self.v_to_h = nn.Conv2d(2 * c, 2 * c, 1)
        self.h_conv = nn.Conv2d(c, 2 * c, (1, self.k2 + 1))
        self.h_out = nn.Conv2d(c, c, 1)
        self.cond = nn.Embedding(num_classes, 4 * c) if num_classes > 0 else None
        self.cond_map = nn.Conv2d(cond_channels, 4 * c, 1) if cond_channels > 0 else None

    def forward(self, v: torch.Tensor, h: torch.Tensor, labels: torch.Tensor | None,
                cond: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        k2 = self.k2
        vf = self.v_conv(F.pad(v, (k2, k2, k2, 0)))  # row i <- rows i-k2..i of v (all above the input row)
        hf = self.h_conv(F.pad(h, (k2, 0, 0, 0))) + self.v_to_h(vf)  # col j <- cols j-k2..j of h
        if self.cond is not None and labels is not None:
            cv, ch = self.cond(labels)[:, :, None, None].chunk(2, dim=1)
            vf, hf = vf + cv, hf + ch
        if self.cond_map is not None and cond is not None:
            cv, ch = self.cond_map(cond).chunk(2, dim=1)
            vf, hf = vf + cv, hf + ch
        return _gate(vf), h + self.h_out(_gate(hf))


class GatedPixelCNN(nn.Module):
    """Autoregressive model of ``codes: [B, H, W]`` (values in ``[0, num_codes)``), raster order.

    forward(codes, labels=None, cond=None) -> logits ``[B, num_codes, H, W]``; ``labels: [B]`` long class ids
    (required when ``num_classes > 0``); ``cond: [B, cond_channels, H, W]`` a conditioning map (required when
    ``cond_channels > 0``; it may see every position: it must come from something other than ``codes``).
    ``nll(codes, labels, cond)`` -> ``[B]`` nats per map.  ``sample(...)`` draws maps.
    """

    def __init__(self, num_codes: int, channels: int = 64, layers: int = 8, kernel: int = 5,
                 num_classes: int = 0, out_hidden: int = 256, cond_channels: int = 0) -> None:
        super().__init__()
        self.num_codes, self.num_classes, self.cond_channels = num_codes, num_classes, cond_channels
        self.embed = nn.Embedding(num_codes, channels)
        self.layers = nn.ModuleList(GatedLayer(channels, kernel, num_classes, cond_channels) for _ in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, out_hidden, 1), nn.ReLU(),
                                  nn.Conv2d(out_hidden, num_codes, 1))

    def _check_labels(self, labels: torch.Tensor | None, batch: int) -> None:
        if self.num_classes > 0:
            if labels is None or labels.shape != (batch,):
                raise ValueError(f"this prior is class-conditional: pass labels of shape [{batch}]")
        elif labels is not None:
            raise ValueError("this prior is not class-conditional: pass labels=None")

    def forward_embedded(self, x: torch.Tensor, labels: torch.Tensor | None = None,
                         cond: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from an already embedded map ``x: [B, C, H, W]`` (used by the causality tests)."""
        v = F.pad(x, (0, 0, 1, 0))[:, :, : x.shape[2]]  # shift down one row
        h = F.pad(x, (1, 0, 0, 0))[:, :, :, : x.shape[3]]  # shift right one column
        for layer in self.layers:
            v, h = layer(v, h, labels, cond)
        return self.head(h)

    def forward(self, codes: torch.Tensor, labels: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> torch.Tensor:
        self._check_labels(labels, codes.shape[0])
        if self.cond_channels > 0 and (cond is None or cond.shape[0] != codes.shape[0]
                                       or cond.shape[2:] != codes.shape[1:]):
            raise ValueError(f"this prior takes a conditioning map: pass cond of shape [{codes.shape[0]}, "
                             f"{self.cond_channels}, {codes.shape[1]}, {codes.shape[2]}]")
        return self.forward_embedded(self.embed(codes).permute(0, 3, 1, 2), labels, cond)

    def nll(self, codes: torch.Tensor, labels: torch.Tensor | None = None,
            cond: torch.Tensor | None = None) -> torch.Tensor:
        """``-ln p(codes | labels, cond)`` per map, ``[B]`` nats (summed over the ``H * W`` positions)."""
        logits = self.forward(codes, labels, cond)
        return F.cross_entropy(logits.float(), codes, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, shape: tuple[int, int], labels: torch.Tensor | None = None, *,
               temperature: float = 1.0, generator: torch.Generator | None = None,
               cond: torch.Tensor | None = None) -> torch.Tensor:
        """Draw ``n`` maps of ``shape = (H, W)`` in raster order -> ``[n, H, W]`` long.

        ``temperature`` divides the logits (0: greedy).  ``generator`` is a CPU generator (seeded sampling is
        then the same on any device up to floating-point differences in the logits).  Each row only needs the
        rows above it, so the pass at row ``i`` runs on rows ``0..i``.
        """
        device = self.embed.weight.device
        height, width = shape
        codes = torch.zeros(n, height, width, dtype=torch.long, device=device)
        if labels is not None:
            labels = labels.to(device)
        self._check_labels(labels, n)
        for i in range(height):
            for j in range(width):
                c = cond[:, :, : i + 1] if cond is not None else None
                logits = self.forward(codes[:, : i + 1], labels, c)[:, :, i, j].float()
                if temperature <= 0:
                    pick = logits.argmax(1)
                else:
                    probs = torch.softmax(logits / temperature, dim=1).cpu()
                    pick = torch.multinomial(probs, 1, generator=generator)[:, 0].to(device)
                codes[:, i, j] = pick
        return codes


__all__ = ["GatedLayer", "GatedPixelCNN"]
