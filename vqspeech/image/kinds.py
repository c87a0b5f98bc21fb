"""The image family's kinds, read by :mod:`vqspeech.registry`."""

from __future__ import annotations

from vqspeech.image.config import (
    IMAGE_PRIOR,
    IMAGE_VAE,
    IMAGE_VQVAE,
    ImagePriorConfig,
    ImageVAEConfig,
    ImageVQVAEConfig,
)
from vqspeech.image.tasks import ImagePriorTask, ImageVAETask, ImageVQVAETask, build_prior_model, build_vae, build_vqvae
from vqspeech.registry import Kind

KINDS = [
    Kind(IMAGE_VQVAE, "image", "vqvae", ImageVQVAEConfig, build_vqvae, ImageVQVAETask),
    Kind(IMAGE_VAE, "image", "vae", ImageVAEConfig, build_vae, ImageVAETask),
    Kind(IMAGE_PRIOR, "image", "prior", ImagePriorConfig, build_prior_model, ImagePriorTask),
]
