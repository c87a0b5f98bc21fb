"""The one device rule: ``--device auto|cpu|cuda`` for every command, training task and inference helper."""

from __future__ import annotations

import os

import torch

from vqspeech.errors import InputError


def pick_device(name: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; under ``torchrun`` each rank uses ``cuda:LOCAL_RANK``.
    ``cuda`` without a GPU is an input error.  A ``torch.device`` (one already picked) is returned unchanged."""
    if isinstance(name, torch.device):
        return name
    if name not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device must be auto, cpu or cuda, not {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available; use --device cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)
