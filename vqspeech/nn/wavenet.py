"""WaveNet: a stack of causal dilated convolutions (kernel 2) with gated units, residual and skip paths,
local conditioning at a lower frame rate and global conditioning, plus cached incremental generation
(Fast WaveNet: each step costs O(layers) work, batched over sequences).

The network models ``p(x_t | x_<t, c)`` over ``num_classes`` symbols (256 mu-law levels for audio, K codes for
a latent prior).  ``forward`` shifts its input right by one internally (a learned start symbol at t=0), so
``logits[:, :, t]`` predicts ``x[:, t]`` and local conditioning frame ``f`` covers steps ``[f*hop, (f+1)*hop)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["WaveNet", "WaveNetConfig"]


@dataclass
class WaveNetConfig:
    """Sizes of a :class:`WaveNet`."""

    num_classes: int = 256
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    layers: int = 10
    cycle: int = 10  # dilations 1, 2, ..., 2**(cycle-1), repeated
    cond_channels: int = 0  # local conditioning channels (0: none)
    global_channels: int = 0  # global conditioning (speaker) embedding size (0: none)
    hop: int = 1  # steps per local-conditioning frame


class WaveNet(nn.Module):
    """Causal dilated WaveNet.

    forward(x: LongTensor [B, T], cond: [B, C_cond, T/hop] | None, g: [B, C_g] | None) -> logits [B, classes, T]
    """

    def __init__(self, cfg: WaveNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        r, gch, s = cfg.residual_channels, cfg.gate_channels, cfg.skip_channels
        self.dilations = [2 ** (i % cfg.cycle) for i in range(cfg.layers)]
        self.embed = nn.Embedding(cfg.num_classes + 1, r)  # +1: the start symbol
        self.convs = nn.ModuleList(nn.Conv1d(r, 2 * gch, 2, dilation=d) for d in self.dilations)
        self.outs = nn.ModuleList(nn.Conv1d(gch, r + s, 1) for _ in self.dilations)
        n = cfg.layers * 2 * gch
        self.cond_proj = nn.Conv1d(cfg.cond_channels, n, 1, bias=False) if cfg.cond_channels else None
        self.global_proj = nn.Linear(cfg.global_channels, n, bias=False) if cfg.global_channels else None
        self.head1 = nn.Conv1d(s, s, 1)
        self.head2 = nn.Conv1d(s, cfg.num_classes, 1)

    @property
    def receptive_field(self) -> int:
        """Number of past steps (including the current input) that one output sees."""
        return sum(self.dilations) + 1

    def conditioning(self, cond: torch.Tensor | None, g: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """Per-layer conditioning biases at frame rate: ``[B, layers*2*gate, F]`` (or ``[B, ., 1]``)."""
        out = None
        if self.cond_proj is not None:
            if cond is None:
                raise ValueError("this WaveNet needs local conditioning")
            out = self.cond_proj(cond)
        if self.global_proj is not None:
            if g is None:
                raise ValueError("this WaveNet needs global conditioning")
            gp = self.global_proj(g)[:, :, None]
            out = gp if out is None else out + gp
        return out

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor | None = None, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Teacher-forced logits ``[B, num_classes, T]`` for ``x: [B, T]``."""
        b, t = x.shape
        start = torch.full((b, 1), self.cfg.num_classes, dtype=x.dtype, device=x.device)
        h = self.embed(torch.cat([start, x[:, :-1]], 1)).transpose(1, 2)  # [B, R, T]
        c = self.conditioning(cond, g, b)
        hop = self.cfg.hop
        if c is not None and c.shape[-1] > 1:
            frames = c.shape[-1]
            if frames * hop != t:
                raise ValueError(f"conditioning has {frames} frames of {hop} steps but x has {t} steps")
        r, gch = self.cfg.residual_channels, self.cfg.gate_channels
        skip = None
        for i, (conv, out) in enumerate(zip(self.convs, self.outs, strict=True)):
            z = conv(F.pad(h, (self.dilations[i], 0)))  # [B, 2G, T]
            if c is not None:
                ci = c[:, i * 2 * gch : (i + 1) * 2 * gch]  # [B, 2G, F]
                if ci.shape[-1] == 1:
                    z = z + ci
                else:
                    z = (z.view(b, 2 * gch, -1, hop) + ci[..., None]).view(b, 2 * gch, t)
            a, gate = z.split(gch, 1)
            y = out(torch.tanh(a) * torch.sigmoid(gate))
            h = h + y[:, :r]
            skip = y[:, r:] if skip is None else skip + y[:, r:]
        return self.head2(F.relu(self.head1(F.relu(skip))))

    # -- cached incremental generation ----------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        steps: int,
        cond: torch.Tensor | None = None,
        g: torch.Tensor | None = None,
        *,
        batch: int | None = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        teacher: torch.Tensor | None = None,
        callback=None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generate ``steps`` symbols step by step with per-layer caches.

        cond: ``[B, C_cond, F]`` with ``F*hop >= steps``; g: ``[B, C_g]``.  ``temperature`` scales the logits
        (0: argmax).  ``teacher: [B, steps]`` feeds given symbols instead of samples and returns the logits
        ``[B, classes, steps]`` too (used to check generation against ``forward``).
        Returns ``(symbols [B, steps] long, logits or None)``.
        """
        cfg = self.cfg
        dev = self.embed.weight.device
        b = batch if batch is not None else (cond.shape[0] if cond is not None else g.shape[0])
        r, gch = cfg.residual_channels, cfg.gate_channels
        c = self.conditioning(cond, g, b)  # [B, L*2G, F]
        # fold the conv biases into the per-frame conditioning: one [B, L, 2G] row per frame
        bias = torch.stack([conv.bias for conv in self.convs])  # [L, 2G]
        if c is None:
            frames = bias[None, None].expand(b, 1, -1, -1)
        else:
            frames = c.transpose(1, 2).reshape(b, c.shape[-1], cfg.layers, 2 * gch) + bias
        per_frame = frames.shape[1] > 1
        # weights as matrices: h = prev @ w_prev + cur @ w_cur
        w_prev = [conv.weight[:, :, 0].t().contiguous() for conv in self.convs]  # [R, 2G]
        w_cur = [conv.weight[:, :, 1].t().contiguous() for conv in self.convs]
        w_out = [o.weight[:, :, 0].t().contiguous() for o in self.outs]  # [G, R+S]
        b_out = [o.bias for o in self.outs]
        h1w, h1b = self.head1.weight[:, :, 0].t(), self.head1.bias
        h2w, h2b = self.head2.weight[:, :, 0].t(), self.head2.bias
        caches = [torch.zeros(d, b, r, device=dev) for d in self.dilations]
        out = torch.empty(b, steps, dtype=torch.long, device=dev)
        logits_all = torch.empty(b, cfg.num_classes, steps, device=dev) if teacher is not None else None
        x_prev = torch.full((b,), cfg.num_classes, dtype=torch.long, device=dev)
        frame = frames[:, 0]
        for t in range(steps):
            if per_frame and t % cfg.hop == 0:
                frame = frames[:, t // cfg.hop]  # [B, L, 2G]
            h = self.embed(x_prev)  # [B, R]
            skip = None
            for i, d in enumerate(self.dilations):
                slot = caches[i][t % d]
                z = torch.addmm(frame[:, i], slot, w_prev[i]).addmm_(h, w_cur[i])
                slot.copy_(h)
                a, gate = z.split(gch, 1)
                y = torch.addmm(b_out[i], torch.tanh(a).mul_(torch.sigmoid(gate)), w_out[i])
                h = h + y[:, :r]
                skip = y[:, r:] if skip is None else skip.add_(y[:, r:])
            logits = torch.addmm(h2b, torch.relu(torch.addmm(h1b, torch.relu(skip), h1w)), h2w)
            if teacher is not None:
                logits_all[:, :, t] = logits
                x_prev = teacher[:, t]
            else:
                x_prev = _sample(logits, temperature, generator)
            out[:, t] = x_prev
            if callback is not None:
                callback(t + 1)
        return out, logits_all

    @torch.no_grad()
    def generate_naive(
        self, steps: int, cond: torch.Tensor | None = None, g: torch.Tensor | None = None, *, batch: int = 1
    ) -> torch.Tensor:
        """Reference generation that recomputes the whole receptive field at every step (for benchmarks).

        Greedy (argmax) decoding; returns ``[B, steps]``.
        """
        rf = self.receptive_field
        dev = self.embed.weight.device
        x = torch.zeros(batch, 0, dtype=torch.long, device=dev)
        hop = self.cfg.hop
        for t in range(steps):
            lo = max(0, (t - rf) // hop * hop)  # window start: covers the receptive field
            xin = torch.cat([x[:, lo:], torch.zeros(batch, 1, dtype=torch.long, device=dev)], 1)
            pad = (-xin.shape[1]) % hop
            xin = F.pad(xin, (0, pad))
            ci = None if cond is None else cond[:, :, lo // hop : (lo + xin.shape[1]) // hop]
            logits = self.forward(xin, ci, g)[:, :, t - lo]
            x = torch.cat([x, logits.argmax(1, keepdim=True)], 1)
        return x


def _sample(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """Draw one symbol per row of ``logits: [B, C]`` at ``temperature`` (0: argmax)."""
    if temperature <= 0:
        return logits.argmax(1)
    probs = torch.softmax(logits / temperature, dim=1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]
