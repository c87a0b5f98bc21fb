"""Modality-agnostic model shells: :class:`VQVAE` (encoder -> quantizer -> decoder) and the
:class:`LatentPrior` protocol.  Families supply the encoders, decoders and priors."""

from vqspeech.models.prior import LatentPrior
from vqspeech.models.vqvae import VQVAE, VQVAEOutput

__all__ = ["VQVAE", "VQVAEOutput", "LatentPrior"]
