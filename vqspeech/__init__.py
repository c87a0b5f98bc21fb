"""vqspeech: the VQ-VAE of van den Oord et al. (2017) for speech, images and video, on one quantizer core."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.5.0"

if TYPE_CHECKING:
    from torch import nn


def load(path: str | Path) -> nn.Module:
    """Return the model stored in a vqspeech checkpoint (any family), on CPU, in eval mode (never unpickles)."""
    from vqspeech.registry import load_model

    return load_model(path)[0]
