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

from vqspeech.nn import wavenet_fast

__all__ = ["WaveNet", "WaveNetConfig"]

# The compiled step streams the weights once per sequence and step; batched matmuls in PyTorch reuse them across the
# batch.  Measured on 2 cores: the compiled step wins at every batch up to 32 for the demo decoder (~70k weights,
# cache-resident) and up to batch 4-8 for the 30-layer paper decoder (~12M weights, 47 MB).
FAST_MAX_BATCH = 4
FAST_SMALL_WEIGHTS = 1 << 20  # decoders with fewer weights per step use the compiled step at any batch
NOISE_BLOCK = 256  # Gumbel noise is drawn for this many steps at a time (both paths: same draws, same samples)
FRAME_BLOCK = 8  # the PyTorch path projects the conditioning of this many frames at a time


def _gumbel(steps: int, b: int, classes: int, temperature: float, generator: torch.Generator | None,
            device: torch.device) -> torch.Tensor:
    """Gumbel noise scaled by the temperature: ``[steps, B, classes]``."""
    u = torch.rand(steps, b, classes, generator=generator, device=device)
    return -torch.log(-torch.log(u.clamp_(1e-10, 1.0 - 1e-7))).mul_(temperature)


@dataclass
class WaveNetConfig:
    """Sizes of a :class:`WaveNet`."""

    num_classes: int = 256
    residual_channels: int = 64
    gate_channels: int = 128  # output channels of each dilated conv, split into tanh and sigmoid halves
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
        r, s = cfg.residual_channels, cfg.skip_channels
        if cfg.gate_channels % 2:
            raise ValueError("gate_channels must be even (tanh and sigmoid halves)")
        gch = cfg.gate_channels // 2
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

    @property
    def step_weights(self) -> int:
        """Weights read by one generation step (dilated convs, 1x1 outputs, head)."""
        mods = [*self.convs, *self.outs, self.head1, self.head2]
        return sum(p.numel() for m in mods for p in m.parameters())

    def conditioning(self, cond: torch.Tensor | None, g: torch.Tensor | None) -> torch.Tensor | None:
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
        c = self.conditioning(cond, g)
        hop = self.cfg.hop
        if c is not None and c.shape[-1] > 1:
            frames = c.shape[-1]
            if frames * hop != t:
                raise ValueError(f"conditioning has {frames} frames of {hop} steps but x has {t} steps")
        r, gch = self.cfg.residual_channels, self.cfg.gate_channels // 2
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
        choose=None,
        callback=None,
        fast: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generate ``steps`` symbols step by step with per-layer caches.

        cond: ``[B, C_cond, F]`` with ``F*hop >= steps``; g: ``[B, C_g]``.  ``temperature`` scales the logits
        (0: argmax).  ``teacher: [B, steps]`` feeds given symbols instead of samples and returns the logits
        ``[B, classes, steps]`` too (used to check generation against ``forward``).  ``choose(t, logits [B,
        classes]) -> [B]`` picks the symbols of step ``t`` instead (an entropy decoder feeding back what it reads).
        ``fast``: use the compiled step of :mod:`vqspeech.nn.wavenet_fast` (default: on CPU when it is available
        and the batch is at most ``FAST_MAX_BATCH`` or the decoder is small; never with ``choose``).
        Returns ``(symbols [B, steps] long, logits or None)``.
        """
        cfg = self.cfg
        dev = self.embed.weight.device
        b = batch if batch is not None else (cond.shape[0] if cond is not None else g.shape[0])
        r, gch, L = cfg.residual_channels, cfg.gate_channels // 2, cfg.layers
        bias = torch.stack([conv.bias for conv in self.convs])  # [L, 2G]
        local = self.cond_proj is not None and cond is not None
        n_frames = cond.shape[-1] if local else 1

        def frames_at(f0: int, f1: int) -> torch.Tensor:
            """The conditioning of frames ``[f0, f1)`` projected once per frame (not per sample), conv biases
            folded in: ``[B, f1 - f0, L, 2G]`` (one frame when there is no local conditioning)."""
            c = self.conditioning(cond[:, :, f0:f1] if local else cond, g)  # [B, L*2G, F']
            if c is None:
                return bias[None, None].expand(b, 1, -1, -1)
            return c.transpose(1, 2).reshape(b, c.shape[-1], L, 2 * gch) + bias

        if n_frames > 1 and n_frames * cfg.hop < steps:
            raise ValueError(f"conditioning has {n_frames} frames of {cfg.hop} steps, fewer than {steps} steps")
        if teacher is not None and teacher.shape[1] < steps:
            raise ValueError(f"teacher has {teacher.shape[1]} steps, fewer than {steps}")
        if fast is None:
            small = self.step_weights < FAST_SMALL_WEIGHTS
            fast = dev.type == "cpu" and (b <= FAST_MAX_BATCH or small) and wavenet_fast.available()
        if fast and choose is None:  # a `choose` callback (the codec's entropy decoder) needs the PyTorch path
            return self._generate_fast(steps, frames_at(0, n_frames), temperature, generator, teacher, callback)
        # tanh(a) * sigmoid(g) = sigmoid(g) - 2 * sigmoid(-2a) * sigmoid(g): one sigmoid over [B, 2G] and one
        # addcmul instead of tanh + sigmoid + mul.  Scale the tanh half of weights and biases by -2.
        scale = torch.cat([torch.full((gch,), -2.0, device=dev), torch.ones(gch, device=dev)])
        per_frame = n_frames > 1
        # Frames are projected FRAME_BLOCK at a time as generation reaches them: all of them at once would hold
        # B x F x L x 2G floats (8 GB for a second of the paper-size decoder at batch 256).
        frames = (frames_at(0, min(FRAME_BLOCK, n_frames)) * scale).contiguous()
        w_prev = [(conv.weight[:, :, 0] * scale[:, None]).t().contiguous() for conv in self.convs]  # [R, 2G]
        w_cur = [(conv.weight[:, :, 1] * scale[:, None]).t().contiguous() for conv in self.convs]
        w_res = [o.weight[:r, :, 0].t().contiguous() for o in self.outs]  # [G, R]
        b_res = [o.bias[:r] for o in self.outs]
        # skip outputs of all layers in one matmul over the concatenated gated activations [B, L*G]
        w_skip = torch.cat([o.weight[r:, :, 0].t() for o in self.outs]).contiguous()  # [L*G, S]
        b_skip = torch.stack([o.bias[r:] for o in self.outs]).sum(0)
        h1w, h1b = self.head1.weight[:, :, 0].t().contiguous(), self.head1.bias
        h2w, h2b = self.head2.weight[:, :, 0].t().contiguous(), self.head2.bias
        # ring[i] holds the last d+1 inputs of layer i; the input of layer i+1 is written straight into it
        rings = [torch.zeros(d + 1, b, r, device=dev) for d in self.dilations]
        gated = torch.empty(b, L * gch, device=dev)
        gviews = [gated[:, i * gch : (i + 1) * gch] for i in range(L)]
        symbols: list[torch.Tensor] = []
        logits_all = torch.empty(b, cfg.num_classes, steps, device=dev) if teacher is not None else None
        x_prev = torch.full((b,), cfg.num_classes, dtype=torch.long, device=dev)
        rows = frames[:, 0].unbind(1)  # per-layer [B, 2G] views of the current frame
        emb = self.embed.weight
        last = L - 1
        noise = None
        block = NOISE_BLOCK
        for t in range(steps):
            if per_frame and t % cfg.hop == 0:
                f = t // cfg.hop
                if f % FRAME_BLOCK == 0 and f > 0:
                    frames = (frames_at(f, min(f + FRAME_BLOCK, n_frames)) * scale).contiguous()
                rows = frames[:, f % FRAME_BLOCK].unbind(1)
            cur = rings[0][t % (self.dilations[0] + 1)]
            torch.index_select(emb, 0, x_prev, out=cur)
            for i, d in enumerate(self.dilations):
                z = torch.addmm(rows[i], rings[i][(t - d) % (d + 1)], w_prev[i]).addmm_(cur, w_cur[i])
                sa, sg = torch.sigmoid(z).chunk(2, 1)
                gi = gviews[i]
                torch.addcmul(sg, sa, sg, value=-2.0, out=gi)
                if i < last:
                    nxt = rings[i + 1][t % (self.dilations[i + 1] + 1)]
                    torch.addmm(cur, gi, w_res[i], out=nxt).add_(b_res[i])
                    cur = nxt
            skip = torch.addmm(b_skip, gated, w_skip)
            logits = torch.addmm(h2b, torch.relu(torch.addmm(h1b, skip.relu_(), h1w)), h2w)
            if teacher is not None:
                logits_all[:, :, t] = logits
                x_prev = teacher[:, t]
            elif choose is not None:
                x_prev = choose(t, logits)
            elif temperature <= 0:
                x_prev = logits.argmax(1)
            else:
                # Gumbel-max sampling: argmax(logits / T + Gumbel noise), noise drawn in blocks of steps
                if t % block == 0:
                    noise = _gumbel(block, b, cfg.num_classes, temperature, generator, dev)
                x_prev = torch.add(logits, noise[t % block]).argmax(1)
            symbols.append(x_prev)
            if callback is not None:
                callback(t + 1)
        out = torch.stack(symbols, 1) if symbols else torch.empty(b, 0, dtype=torch.long, device=dev)
        return out, logits_all

    def _generate_fast(self, steps: int, frames: torch.Tensor, temperature: float,
                       generator: torch.Generator | None, teacher: torch.Tensor | None,
                       callback) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``generate`` through the compiled step, in blocks of ``NOISE_BLOCK`` steps (same noise draws)."""
        b = frames.shape[0]
        if teacher is not None and teacher.numel() and not (0 <= int(teacher.min()) and int(teacher.max())
                                                             < self.cfg.num_classes):
            raise ValueError(f"teacher symbols must be in [0, {self.cfg.num_classes})")
        state = wavenet_fast.FastState(self, frames)
        mode = (wavenet_fast.MODE_TEACHER if teacher is not None else
                wavenet_fast.MODE_GREEDY if temperature <= 0 else wavenet_fast.MODE_SAMPLE)
        symbols, logits = [], []
        for t0 in range(0, steps, NOISE_BLOCK):
            n = min(NOISE_BLOCK, steps - t0)
            noise = None
            if mode == wavenet_fast.MODE_SAMPLE:
                noise = _gumbel(NOISE_BLOCK, b, self.cfg.num_classes, temperature, generator, frames.device)[:n]
            sym, lg = state.run(t0, n, mode, noise, teacher[:, t0 : t0 + n] if teacher is not None else None)
            symbols.append(torch.from_numpy(sym).to(frames.device))
            if lg is not None:
                logits.append(torch.from_numpy(lg).to(frames.device))
            if callback is not None:
                callback(t0 + n)
        dev = frames.device
        out = torch.cat(symbols, 1) if symbols else torch.empty(b, 0, dtype=torch.long, device=dev)
        if teacher is None:
            return out, None
        return out, torch.cat(logits, 2) if logits else torch.empty(b, self.cfg.num_classes, 0, device=dev)

    @torch.no_grad()
    def generate_naive(
        self, steps: int, cond: torch.Tensor | None = None, g: torch.Tensor | None = None, *, batch: int = 1,
        history: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Reference generation that recomputes the whole receptive field at every step (for benchmarks and
        tests).  Greedy (argmax).  ``history: [B, H]`` symbols already generated (conditioning must cover
        ``H + steps``).  Returns the ``[B, steps]`` new symbols."""
        rf = self.receptive_field
        dev = self.embed.weight.device
        x = history if history is not None else torch.zeros(batch, 0, dtype=torch.long, device=dev)
        start = x.shape[1]
        hop = self.cfg.hop
        for t in range(start, start + steps):
            lo = max(0, (t - rf) // hop * hop)  # window start: covers the receptive field
            xin = torch.cat([x[:, lo:], torch.zeros(x.shape[0], 1, dtype=torch.long, device=dev)], 1)
            xin = F.pad(xin, (0, (-xin.shape[1]) % hop))
            ci = None if cond is None else cond[:, :, lo // hop : (lo + xin.shape[1]) // hop]
            logits = self.forward(xin, ci, g)[:, :, t - lo]
            x = torch.cat([x, logits.argmax(1, keepdim=True)], 1)
        return x[:, start:]
