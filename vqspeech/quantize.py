"""The one vector quantizer of vqspeech (speech, image and video share it).

Notation follows van den Oord et al., *Neural Discrete Representation Learning* (2017):

* eq. (1)-(2): ``k = argmin_j ||z_e(x) - e_j||_2`` and ``z_q(x) = e_k``;
* eq. (3): ``L = log p(x|z_q) + ||sg[z_e] - e||^2 + beta * ||z_e - sg[e]||^2`` -- the first VQ term (the
  *codebook* term, weight 1) moves only the codebook, the second (the *commitment* term, weight beta) only
  the encoder; the straight-through estimator copies the decoder's gradient from ``z_q`` to ``z_e``;
* appendix A.1, eqs. (6)-(8): the EMA alternative to the codebook term,
  ``N_i <- gamma N_i + (1-gamma) n_i``, ``m_i <- gamma m_i + (1-gamma) sum_j z_{i,j}``, ``e_i = m_i / N_i``.

Squared distances are ``||z||^2 - 2 z e^T + ||e||^2`` computed in fp32 (also under autocast) over row chunks,
so memory is ``O(chunk * K)`` rather than ``O(N * K)``.  EMA statistics use ``bincount``/``index_add_``.
When ``torch.distributed`` is initialised the EMA statistics, data initialisation and dead-code restarts are
synchronised so that every rank holds the identical codebook.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

__all__ = ["VQOutput", "VectorQuantizer", "nearest_codes", "squared_distances"]


class VQOutput(NamedTuple):
    """Result of :meth:`VectorQuantizer.forward`.

    quantized: ``[B, D, *S]`` -- ``z_q`` with a straight-through gradient to ``z``.
    codes: ``LongTensor [B, *S]``.
    loss: scalar -- codebook + beta * commitment (EMA mode: beta * commitment only).
    perplexity: scalar -- ``exp(H(code histogram of this batch))``.
    codes_used: scalar ``LongTensor`` -- distinct codes in this batch.
    """

    quantized: torch.Tensor
    codes: torch.Tensor
    loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor


def squared_distances(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """``||z_n - e_k||^2`` for ``z: [N, D]`` and ``codebook: [K, D]`` -> ``[N, K]`` in fp32."""
    z = z.float()
    e = codebook.float()
    return (z * z).sum(1, keepdim=True) - 2.0 * (z @ e.t()) + (e * e).sum(1)[None, :]


def nearest_codes(
    z: torch.Tensor, codebook: torch.Tensor, chunk_size: int | None = 8192
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest code per row (eq. 1), in row chunks of ``chunk_size`` (``None``: all rows at once).

    z: ``[N, D]``; codebook: ``[K, D]``. Returns ``(codes [N] long, squared distance [N] fp32)``.
    """
    with torch.no_grad(), torch.autocast(z.device.type, enabled=False):
        z = z.float()
        e = codebook.float()
        e_sq = (e * e).sum(1)
        step = z.shape[0] if not chunk_size else chunk_size
        codes = torch.empty(z.shape[0], dtype=torch.long, device=z.device)
        best = torch.empty(z.shape[0], dtype=torch.float32, device=z.device)
        for start in range(0, z.shape[0], max(step, 1)):
            zc = z[start : start + step]
            # ||e||^2 - 2 z e^T, then add ||z||^2 once for the chosen code only
            d = torch.addmm(e_sq[None, :], zc, e.t(), beta=1.0, alpha=-2.0)
            val, idx = d.min(1)
            codes[start : start + step] = idx
            best[start : start + step] = val + (zc * zc).sum(1)
    return codes, best


def _code_sums(flat: torch.Tensor, codes: torch.Tensor, num_codes: int, chunk_size: int | None) -> torch.Tensor:
    """``[K, D]`` sums of the rows of ``flat`` assigned to each code.  On CUDA, ``index_add_`` adds floats in a
    nondeterministic order, so there the sums are one-hot matmuls over row chunks (deterministic, exact resume)."""
    if not flat.is_cuda:
        return torch.zeros(num_codes, flat.shape[1], device=flat.device).index_add_(0, codes, flat)
    out = torch.zeros(num_codes, flat.shape[1], device=flat.device)
    step = chunk_size or flat.shape[0]
    for s in range(0, flat.shape[0], max(step, 1)):
        out += F.one_hot(codes[s : s + step], num_codes).to(flat.dtype).t() @ flat[s : s + step]
    return out


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class VectorQuantizer(nn.Module):
    """Nearest-neighbour vector quantizer with K codes of dimension D.

    Args:
        num_codes: K, the codebook size.
        dim: D, the code dimension (channel axis 1 of the input).
        beta: commitment weight (paper: 0.25).
        ema: update the codebook by exponential moving averages (eqs. 6-8) instead of the codebook loss.
        decay: gamma of the EMA (paper: 0.99).
        eps: Laplace smoothing of the EMA counts (keeps ``m_i / N_i`` finite for unused codes).
        chunk_size: rows per distance chunk (``None``: unchunked).
        restart_threshold: codes whose usage EMA falls below this count are re-seeded from current encoder
            outputs during training (``0`` disables).
        restart_relative: read ``restart_threshold`` as a fraction of the expected use of one code (the mean
            usage EMA, i.e. vectors per step / K, summed over ranks), so it means the same at any batch size
            and number of GPUs; a re-seeded code starts at the expected use (a grace period, not instant death).
        init: ``"none"``, ``"random"`` (codebook = random rows of the first training batch) or ``"kmeans"``
            (a few Lloyd iterations on the first training batch).
        kmeans_iters: Lloyd iterations for ``init="kmeans"``.

    Shapes: ``forward(z)`` takes ``z: [B, D, *S]`` (``S`` = ``T`` for speech, ``H, W`` for images) and returns
    a :class:`VQOutput`; ``embed(codes: [B, *S]) -> [B, D, *S]``; ``codebook`` is ``[K, D]``.
    """

    def __init__(
        self,
        num_codes: int,
        dim: int,
        *,
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        eps: float = 1e-5,
        chunk_size: int | None = 8192,
        restart_threshold: float = 0.0,
        restart_relative: bool = False,
        init: str = "none",
        kmeans_iters: int = 10,
    ) -> None:
        super().__init__()
        if init not in ("none", "random", "kmeans"):
            raise ValueError(f"init must be 'none', 'random' or 'kmeans', not {init!r}")
        self.num_codes, self.dim = num_codes, dim
        self.beta, self.ema, self.decay, self.eps = beta, ema, decay, eps
        self.chunk_size, self.restart_threshold = chunk_size, restart_threshold
        self.restart_relative = restart_relative
        self.init, self.kmeans_iters = init, kmeans_iters
        weight = torch.empty(num_codes, dim).uniform_(-1.0 / num_codes, 1.0 / num_codes)
        if ema:
            self.register_buffer("weight", weight)
        else:
            self.weight = nn.Parameter(weight)
        # usage EMA: N_i of eq. (6) in EMA mode; in paper mode it only feeds dead-code restarts.
        # Counts start at 1 and sums at the codes themselves, so m_i / N_i = e_i for codes never used.
        self.register_buffer("ema_count", torch.ones(num_codes))
        self.register_buffer("ema_sum", weight.clone() if ema else torch.zeros(0))
        self.register_buffer("initialized", torch.tensor(init == "none"))

    @property
    def codebook(self) -> torch.Tensor:
        """The ``[K, D]`` code table."""
        return self.weight

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Look codes up: ``[B, *S]`` long -> ``[B, D, *S]``."""
        out = F.embedding(codes, self.weight)  # [B, *S, D]
        return out.movedim(-1, 1)

    @torch.no_grad()
    def lookup(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, *S]`` (long) of ``z: [B, D, *S]``: the nearest code of each vector.  Never changes the
        codebook or its statistics (no data init, EMA or restart), in training mode too: what every model's
        ``encode`` uses."""
        if z.dim() < 3 or z.shape[1] != self.dim:
            raise ValueError(f"expected z of shape [B, {self.dim}, ...], got {tuple(z.shape)}")
        with torch.autocast(z.device.type, enabled=False):
            flat = z.float().movedim(1, -1).reshape(-1, self.dim)
            codes, _ = nearest_codes(flat, self.weight, self.chunk_size)
        return codes.view(z.shape[0], *z.shape[2:])

    def forward(self, z: torch.Tensor) -> VQOutput:
        """Quantize ``z: [B, D, *S]``; see the class docstring for the outputs."""
        if z.dim() < 3 or z.shape[1] != self.dim:
            raise ValueError(f"expected z of shape [B, {self.dim}, ...], got {tuple(z.shape)}")
        with torch.autocast(z.device.type, enabled=False):
            ze = z.float()
            flat = ze.movedim(1, -1).reshape(-1, self.dim)  # [N, D]
            if self.training and not bool(self.initialized):
                self._data_init(flat.detach())
            codes, _ = nearest_codes(flat, self.weight, self.chunk_size)
            counts = torch.bincount(codes, minlength=self.num_codes).float()
            q = F.embedding(codes, self.weight)  # [N, D], the codebook before this step's update
            if self.training:
                self._update_stats(flat.detach(), codes, counts)
            commitment = F.mse_loss(flat, q.detach())
            if self.ema:
                loss = self.beta * commitment
            else:
                loss = F.mse_loss(q, flat.detach()) + self.beta * commitment
            q = q.view(*ze.movedim(1, -1).shape).movedim(-1, 1)
            quantized = ze + (q - ze).detach()
            probs = counts / counts.sum().clamp_min(1.0)
            perplexity = torch.exp(-(probs * torch.log(probs.clamp_min(1e-10))).sum())
        codes = codes.view(z.shape[0], *z.shape[2:])
        return VQOutput(quantized.to(z.dtype), codes, loss, perplexity, (counts > 0).sum())

    # -- training-time codebook maintenance ------------------------------------------------------------

    @torch.no_grad()
    def _update_stats(self, flat: torch.Tensor, codes: torch.Tensor, counts: torch.Tensor) -> None:
        """EMA of counts (and, in EMA mode, sums and codes: eqs. 6-8), then dead-code restart."""
        sums = None
        if self.ema:
            sums = _code_sums(flat, codes, self.num_codes, self.chunk_size)
        if _distributed():
            dist.all_reduce(counts)
            if sums is not None:
                dist.all_reduce(sums)
        g = self.decay
        self.ema_count.mul_(g).add_(counts, alpha=1 - g)  # eq. (6)
        if self.ema:
            self.ema_sum.mul_(g).add_(sums, alpha=1 - g)  # eq. (7)
            n = self.ema_count.sum()
            smoothed = (self.ema_count + self.eps) / (n + self.num_codes * self.eps) * n
            self.weight.copy_(self.ema_sum / smoothed[:, None])  # eq. (8)
        if self.restart_threshold > 0:
            self._restart_dead(flat)

    @torch.no_grad()
    def _restart_dead(self, flat: torch.Tensor) -> None:
        expected = self.ema_count.mean()
        threshold = self.restart_threshold * expected if self.restart_relative else self.restart_threshold
        dead = self.ema_count < threshold  # identical on every rank
        n_dead = int(dead.sum())
        if n_dead == 0:
            return
        pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
        new = flat[pick].contiguous()
        if _distributed():
            dist.broadcast(new, src=0)
        self.weight.data[dead] = new
        self.ema_count[dead] = expected if self.restart_relative else 1.0
        if self.ema:
            self.ema_sum[dead] = new

    @torch.no_grad()
    def _data_init(self, flat: torch.Tensor) -> None:
        k = self.num_codes
        pick = torch.randperm(flat.shape[0], device=flat.device)[:k]
        if pick.numel() < k:
            pick = torch.randint(0, flat.shape[0], (k,), device=flat.device)
        centres = flat[pick].clone()
        if self.init == "kmeans":
            for _ in range(self.kmeans_iters):
                idx, _ = nearest_codes(flat, centres, self.chunk_size)
                cnt = torch.bincount(idx, minlength=k).float()
                tot = torch.zeros_like(centres).index_add_(0, idx, flat)
                used = cnt > 0
                centres[used] = tot[used] / cnt[used, None]
        if _distributed():
            dist.broadcast(centres, src=0)
        self.weight.data.copy_(centres)
        if self.ema:
            self.ema_sum.copy_(centres)
            self.ema_count.fill_(1.0)
        self.initialized.fill_(True)
