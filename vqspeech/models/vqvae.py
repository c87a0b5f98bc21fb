"""The VQ-VAE shell of the paper, for any modality: ``x -> encoder -> z_e -> quantizer -> z_q -> decoder``.

The encoder maps ``x`` to ``z_e: [B, D, *S]`` (``S`` = ``T`` for speech, ``H, W`` for images).  The decoder is a
module with ``nll(x, z_q, **cond) -> scalar`` (mean negative log-likelihood in nats per element of ``x``) and
``generate(z_q, **cond) -> x``.  ``cond`` carries what the decoder is conditioned on besides the codes (a speaker
id, a class label, actions).  The training loss is eq. (3): NLL + codebook + beta * commitment.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from vqspeech.quantize import VectorQuantizer


class VQVAEOutput(NamedTuple):
    """``loss`` = ``nll`` + ``vq_loss``; ``nll`` in nats per element of ``x``; VQ statistics; ``codes [B, *S]``."""

    loss: torch.Tensor
    nll: torch.Tensor
    vq_loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor
    codes: torch.Tensor


class VQVAE(nn.Module):
    """forward(x, **cond) -> :class:`VQVAEOutput`; encode(x) -> codes ``[B, *S]``; decode(codes, **cond) -> x."""

    def __init__(self, encoder: nn.Module, quantizer: VectorQuantizer, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder

    def forward(self, x: torch.Tensor, **cond: Any) -> VQVAEOutput:
        vq = self.quantizer(self.encoder(x))
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
