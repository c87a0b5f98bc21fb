"""Compiled per-sample WaveNet generation (numba): the cached generator of :mod:`vqspeech.nn.wavenet` as one
machine-code loop, so a single stream runs at the speed of its arithmetic instead of the ~5 µs each PyTorch call
costs (a 10-layer step is ~60 calls).

Same recurrence, same ring buffers, same Gumbel noise (drawn by the caller from the caller's generator, in the same
blocks as the PyTorch path), so the logits agree with ``WaveNet.forward`` to fp32 rounding and a seeded run picks
the same symbols as the PyTorch path.  Sequences in a batch are independent, so the batch is split across threads
(``prange``) with no synchronisation between steps.

Used by ``WaveNet.generate`` on CPU when numba imports and ``VQSPEECH_FAST`` is not ``0``; otherwise the PyTorch
path runs unchanged.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

try:  # numba is a dependency, but the PyTorch path must keep working without it
    from numba import config, njit, prange, set_num_threads
except ImportError:  # pragma: no cover - exercised only where numba is missing
    njit = None

__all__ = ["available", "FastState"]

MODE_SAMPLE, MODE_GREEDY, MODE_TEACHER = 0, 1, 2


def available() -> bool:
    """True when the compiled path can run (numba imports and ``VQSPEECH_FAST`` is not ``0``)."""
    return njit is not None and os.environ.get("VQSPEECH_FAST", "1") != "0"


def _relu_affine(x, w, b, out):  # pragma: no cover - compiled
    """``out = b + relu(x) @ w`` for x [K], w [K, N], b and out [N] (the output head's two 1x1 layers)."""
    for j in range(out.shape[0]):
        out[j] = b[j]
    for k in range(x.shape[0]):
        xk = max(x[k], 0.0)
        for j in range(out.shape[0]):
            out[j] += xk * w[k, j]


if njit is not None:
    _relu_affine = njit(cache=True, nogil=True)(_relu_affine)


def _steps(t0, n, hop, x_prev, frames, dil, off, ring, emb, w_in, w_res, b_res, w_skip, b_skip,
           h1w, h1b, h2w, h2b, mode, noise, teacher, out_sym, out_logits):  # pragma: no cover - compiled
    """Run steps ``t0 .. t0+n-1`` for every sequence; state lives in ``ring`` and ``x_prev`` (updated in place).

    frames [B, F, L, 2G] (conditioning + conv bias), ring [sum(d+1), B, R], w_in [L, 2R, 2G] (rows: the input
    d steps back, then the current input), w_res [L, G, R], w_skip [L, G, S], h1w [S, S], h2w [S, C],
    noise [n, B, C], teacher [B, n], out_sym [B, n], out_logits [B, C, n] (teacher mode only).
    """
    b = x_prev.shape[0]
    layers = dil.shape[0]
    r = emb.shape[1]
    g2 = w_in.shape[2]
    g = g2 // 2
    s_ch = b_skip.shape[0]
    c = h2b.shape[0]
    per_frame = frames.shape[1] > 1
    for bb in prange(b):
        z = np.empty(g2, np.float32)
        gt = np.empty(g, np.float32)
        skip = np.empty(s_ch, np.float32)
        hid = np.empty(s_ch, np.float32)
        logits = np.empty(c, np.float32)
        for s in range(n):
            t = t0 + s
            f = t // hop if per_frame else 0
            cur = ring[off[0] + t % (dil[0] + 1), bb]
            e = emb[x_prev[bb]]
            for j in range(r):
                cur[j] = e[j]
            for j in range(s_ch):
                skip[j] = b_skip[j]
            for i in range(layers):
                d = dil[i]
                prev = ring[off[i] + (t + 1) % (d + 1), bb]  # the input d steps back: (t - d) mod (d + 1)
                fr = frames[bb, f, i]
                for j in range(g2):
                    z[j] = fr[j]
                w = w_in[i]
                for k in range(r):
                    pk = prev[k]
                    ck = cur[k]
                    for j in range(g2):
                        z[j] += pk * w[k, j] + ck * w[r + k, j]
                for j in range(g):
                    gt[j] = math.tanh(z[j]) / (1.0 + math.exp(-z[g + j]))
                ws = w_skip[i]
                for k in range(g):
                    gk = gt[k]
                    for j in range(s_ch):
                        skip[j] += gk * ws[k, j]
                if i < layers - 1:
                    nxt = ring[off[i + 1] + t % (dil[i + 1] + 1), bb]
                    br = b_res[i]
                    for j in range(r):
                        nxt[j] = cur[j] + br[j]
                    wr = w_res[i]
                    for k in range(g):
                        gk = gt[k]
                        for j in range(r):
                            nxt[j] += gk * wr[k, j]
                    cur = nxt
            _relu_affine(skip, h1w, h1b, hid)
            _relu_affine(hid, h2w, h2b, logits)
            if mode == MODE_TEACHER:
                for j in range(c):
                    out_logits[bb, j, s] = logits[j]
                x = teacher[bb, s]
            else:
                best = 0
                bv = -np.inf
                for j in range(c):
                    v = logits[j] + noise[s, bb, j] if mode == MODE_SAMPLE else logits[j]
                    if v > bv:
                        bv = v
                        best = j
                x = best
            x_prev[bb] = x
            out_sym[bb, s] = x


_kernel = njit(cache=True, parallel=True, nogil=True)(_steps) if njit is not None else None


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())


class FastState:
    """Weights and caches of one generation run, laid out for the compiled step.

    net: a :class:`~vqspeech.nn.wavenet.WaveNet`; frames: ``[B, F, L, 2G]`` per-frame conditioning with the conv
    biases folded in.
    """

    def __init__(self, net, frames: torch.Tensor) -> None:
        cfg = net.cfg
        r = cfg.residual_channels
        b = frames.shape[0]
        self.hop = cfg.hop
        self.frames = _np(frames)
        self.dil = np.asarray(net.dilations, np.int64)
        sizes = self.dil + 1
        self.off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.ring = np.zeros((int(sizes.sum()), b, r), np.float32)
        self.emb = _np(net.embed.weight)
        self.w_in = _np(torch.stack([torch.cat([c.weight[:, :, 0].t(), c.weight[:, :, 1].t()]) for c in net.convs]))
        self.w_res = _np(torch.stack([o.weight[:r, :, 0].t() for o in net.outs]))
        self.b_res = _np(torch.stack([o.bias[:r] for o in net.outs]))
        self.w_skip = _np(torch.stack([o.weight[r:, :, 0].t() for o in net.outs]))
        self.b_skip = _np(torch.stack([o.bias[r:] for o in net.outs]).sum(0))
        self.h1w, self.h1b = _np(net.head1.weight[:, :, 0].t()), _np(net.head1.bias)
        self.h2w, self.h2b = _np(net.head2.weight[:, :, 0].t()), _np(net.head2.bias)
        self.x_prev = np.full(b, cfg.num_classes, np.int64)
        self.classes = cfg.num_classes

    def run(self, t0: int, n: int, mode: int, noise: torch.Tensor | None = None,
            teacher: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Advance ``n`` steps from step ``t0``.  noise: ``[n, B, classes]`` (sample mode); teacher: ``[B, n]``.
        Returns ``(symbols [B, n], logits [B, classes, n] or None)``."""
        b = self.x_prev.shape[0]
        out_sym = np.empty((b, n), np.int64)
        out_logits = np.empty((b, self.classes, n), np.float32) if mode == MODE_TEACHER else np.empty((1, 1, 1),
                                                                                                       np.float32)
        nz = _np(noise) if noise is not None else np.zeros((1, 1, 1), np.float32)
        tc = np.ascontiguousarray(teacher.cpu().numpy().astype(np.int64)) if teacher is not None else np.zeros(
            (1, 1), np.int64)
        set_num_threads(max(1, min(torch.get_num_threads(), config.NUMBA_NUM_THREADS)))  # torch's thread setting
        _kernel(t0, n, self.hop, self.x_prev, self.frames, self.dil, self.off, self.ring, self.emb, self.w_in,
                self.w_res, self.b_res, self.w_skip, self.b_skip, self.h1w, self.h1b, self.h2w, self.h2b, mode, nz,
                tc, out_sym, out_logits)
        return out_sym, (out_logits if mode == MODE_TEACHER else None)
