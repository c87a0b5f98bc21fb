"""The VQ-VAE shell of the paper, for any modality: ``x -> encoder -> z_e -> quantizer -> z_q -> decoder``.

The encoder maps ``x`` to ``z_e: [B, D, *S]`` (``S`` = ``T`` for speech, ``h, w`` for images and frames, ``L``
for the global latents of a frame's code map).  The decoder is a module with ``nll(x, z_q, **cond)`` (the
family's negative log-likelihood of ``x``: speech a scalar in nats per sample, images ``[B]`` nats per image) and
``generate(z_q, **cond) -> x``.  ``cond`` carries what the decoder is conditioned on besides the codes (a speaker
id, a class label, actions).  The training loss is eq. (3): NLL + codebook + beta * commitment.

Every family's VQ-VAE is this shell with its own encoder and decoder injected, so ``encode`` (never updating the
codebook) and ``decode`` exist once; a family whose forward returns more (the decoder's raw output) overrides
``forward`` only, quantizing through :meth:`VQVAE.quantize`.  :meth:`VQVAE.freeze_codes` starts the second stage
of a two-stage schedule (``train.freeze_codes_after``): encoder and codebook fixed, the decoder trained on the
codes they give.  A family that moved weights into the injected modules lists ``KEY_RENAMES`` so checkpoints of
the older layout still load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from vqspeech.quantize import VectorQuantizer, VQOutput


class VQVAEOutput(NamedTuple):
    """``loss`` = ``nll`` + ``vq_loss``; ``nll`` in nats per element of ``x``; VQ statistics; ``codes [B, *S]``."""

    loss: torch.Tensor
    nll: torch.Tensor
    vq_loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor
    codes: torch.Tensor


def rename_prefixes(state: Mapping[str, Any], renames: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """State-dict keys of an older layout in this one: a key already under one of the ``new`` prefixes is kept;
    any other key that starts with ``old`` gets ``new`` in its place, for the first ``(old, new)`` that applies."""
    current = tuple(new for _, new in renames)
    out = {}
    for k, v in state.items():
        if not k.startswith(current):
            for old, new in renames:
                if k.startswith(old):
                    k = new + k[len(old) :]
                    break
        out[k] = v
    return out


class VQVAE(nn.Module):
    """forward(x, **cond) -> :class:`VQVAEOutput`; encode(x) -> codes ``[B, *S]``; decode(codes, **cond) -> x.

    ``KEY_RENAMES``: ``(old prefix, new prefix)`` pairs applied by :meth:`load_state_dict` (older checkpoints).
    """

    KEY_RENAMES: tuple[tuple[str, str], ...] = ()

    def __init__(self, encoder: nn.Module, quantizer: VectorQuantizer, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.codes_frozen = False

    def quantize(self, x: torch.Tensor) -> VQOutput:
        """``quantizer(encoder(x))``: ``z_q [B, D, *S]``, codes, losses; without gradients or codebook updates
        once :meth:`freeze_codes` was called."""
        if not self.codes_frozen:
            return self.quantizer(self.encoder(x))
        with torch.no_grad():
            return self.quantizer(self.encoder(x))

    def freeze_codes(self) -> None:
        """Stage two of a two-stage schedule: the encoder and codebook stop learning (no gradient, no EMA, no
        dead-code restart; both stay in eval mode) and only the decoder trains, on codes that no longer move.
        Not saved in checkpoints: the training loop calls it again on ``--resume`` past the switch."""
        self.codes_frozen = True
        for m in (self.encoder, self.quantizer):
            m.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> VQVAE:
        super().train(mode)
        if self.codes_frozen:
            self.encoder.eval()
            self.quantizer.eval()
        return self

    def forward(self, x: torch.Tensor, **cond: Any) -> VQVAEOutput:
        vq = self.quantize(x)
        nll = self.decoder.nll(x, vq.quantized, **cond)
        return VQVAEOutput(nll + vq.loss, nll, vq.loss, vq.perplexity, vq.codes_used, vq.codes)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, *S]`` of ``x``.  Never updates the codebook, even in training mode (no EMA, no restart)."""
        return self.quantizer.lookup(self.encoder(x))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, **cond: Any) -> torch.Tensor:
        """``x`` generated from ``codes: [B, *S]`` (and the decoder's conditioning)."""
        return self.decoder.generate(self.quantizer.embed(codes), **cond)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        return super().load_state_dict(rename_prefixes(state_dict, self.KEY_RENAMES), strict=strict, assign=assign)
