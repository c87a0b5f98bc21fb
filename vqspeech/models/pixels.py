"""RGB images <-> code maps through any VQ-VAE with ``encode(x uint8 [B, 3, H, W]) -> codes [B, h, w]`` and
``decode(codes) -> expected pixel values [B, 3, H, W]`` (the image and video families' models)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vqspeech.errors import InputError


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """``uint8 [B, 3, H, W]`` -> float in ``[-1, 1]`` (what the image and frame encoders take)."""
    return x.float() / 127.5 - 1.0


def to_uint8(mean: torch.Tensor) -> torch.Tensor:
    """Expected pixel values -> ``uint8`` (rounded, clipped to 0..255)."""
    return mean.round().clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def encode_rgb(model: nn.Module, images: np.ndarray, *, batch_size: int = 64,
               device: torch.device = torch.device("cpu")) -> np.ndarray:
    """``uint8 [N, H, W, 3]`` (already checked against the model's size) -> codes ``int64 [N, *latent_shape]``."""
    model.eval().to(device)
    out = []
    for s in range(0, len(images), batch_size):
        x = torch.from_numpy(np.array(images[s : s + batch_size])).permute(0, 3, 1, 2).to(device)
        out.append(model.encode(x).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, *model.latent_shape), np.int64)


@torch.no_grad()
def decode_rgb(model: nn.Module, codes: np.ndarray | torch.Tensor, size: int, *, batch_size: int = 64,
               device: torch.device = torch.device("cpu")) -> np.ndarray:
    """codes ``[N, *latent_shape]`` -> ``uint8 [N, size, size, 3]``; codes of the wrong shape or range are an
    :class:`InputError`."""
    c = torch.as_tensor(np.asarray(codes), dtype=torch.long)
    if c.dim() != 3 or tuple(c.shape[1:]) != tuple(model.latent_shape):
        raise InputError(f"codes must be [N, {model.latent_shape[0]}, {model.latent_shape[1]}] for this model, "
                         f"got {list(c.shape)}")
    if c.numel() and (int(c.min()) < 0 or int(c.max()) >= model.num_codes):
        raise InputError(f"codes must be in 0..{model.num_codes - 1}, got {int(c.min())}..{int(c.max())}")
    model.eval().to(device)
    out = [to_uint8(model.decode(c[s : s + batch_size].to(device))).permute(0, 2, 3, 1).cpu()
           for s in range(0, len(c), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, size, size, 3), np.uint8)
