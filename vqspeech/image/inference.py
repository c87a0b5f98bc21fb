"""Image inference beside the models: images -> codes, codes -> images, prior samples -> images.

Images are ``uint8 [N, H, W, 3]`` numpy arrays (as the loaders give them); codes are ``[N, h, w*m]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from vqspeech.device import pick_device
from vqspeech.errors import InputError
from vqspeech.image.models import ImageVQVAE
from vqspeech.models.pixels import decode_rgb, encode_rgb
from vqspeech.nn.pixelcnn import GatedPixelCNN


@torch.no_grad()
def encode_images(model: ImageVQVAE, images: np.ndarray, *, batch_size: int = 64,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """``uint8 [N, H, W, 3]`` -> codes ``int64 [N, h, w*m]``."""
    if images.ndim != 4 or images.shape[1:] != (model.image_size, model.image_size, 3):
        raise InputError(f"images must be [N, {model.image_size}, {model.image_size}, 3], got {list(images.shape)}")
    return encode_rgb(model, images, batch_size=batch_size, device=pick_device(device))


@torch.no_grad()
def decode_codes(model: ImageVQVAE, codes: np.ndarray | torch.Tensor, *, batch_size: int = 64,
                 device: str | torch.device = "cpu") -> np.ndarray:
    """codes ``[N, h, w*m]`` -> ``uint8 [N, H, W, 3]`` (expected pixel values of the decoder, rounded)."""
    return decode_rgb(model, codes, model.image_size, batch_size=batch_size, device=pick_device(device))


def resolve_labels(label: str | int | None, classes: Sequence[str], n: int, conditional: bool) -> torch.Tensor | None:
    """``--label`` (a class name or index; None: cycle through the classes) -> ``[n]`` long, or None for an
    unconditional prior.  An unknown name is an :class:`InputError` listing the known ones."""
    if not conditional:
        if label is not None:
            raise InputError("this prior is not class-conditional; drop --label")
        return None
    if label is None:
        return torch.arange(n) % len(classes)
    names = list(classes)
    if isinstance(label, str) and label in names:
        idx = names.index(label)
    elif isinstance(label, int) or (isinstance(label, str) and label.isdigit()):
        idx = int(label)
        if not 0 <= idx < len(names):
            raise InputError(f"--label {label}: out of range; known labels: {', '.join(names)}")
    else:
        raise InputError(f"--label {label!r}: unknown class; known labels: {', '.join(names)}")
    return torch.full((n,), idx, dtype=torch.long)


@torch.no_grad()
def sample_codes(prior: GatedPixelCNN, n: int, latent_shape: Sequence[int], labels: torch.Tensor | None = None, *,
                 temperature: float = 1.0, seed: int = 0, device: str | torch.device = "cpu") -> np.ndarray:
    """Draw ``n`` code maps of ``latent_shape`` from the prior (seeded) -> ``int64 [n, h, w*m]``."""
    dev = pick_device(device)
    prior.eval().to(dev)
    gen = torch.Generator().manual_seed(seed)
    h, w = int(latent_shape[0]), int(latent_shape[1])
    return prior.sample(n, (h, w), labels, temperature=temperature, generator=gen).cpu().numpy()
