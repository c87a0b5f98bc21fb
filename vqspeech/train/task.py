"""The ``Task`` protocol: what the one training loop (:mod:`vqspeech.train.loop`) needs from a task kind.

A task is built from its typed recipe and run dir by the kind's factory (see :mod:`vqspeech.registry`);
tests pass their own task objects to :func:`vqspeech.train.loop.train` instead of patching internals.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class Task(Protocol):
    """One trainable kind: its data, model, loss and validation."""

    kind: str

    def describe(self) -> str:
        """One line on the data (shown when training starts)."""

    def meta(self) -> dict[str, Any]:
        """The family's checkpoint metadata fields (e.g. speakers, sample rate, hop length, num_codes)."""

    def build_model(self) -> nn.Module:
        """A freshly initialised model."""

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        """The training batch for ``seed`` (a function of the seed only, so ``--resume`` is exact)."""

    def samples_per_batch(self) -> int:
        """Items (audio samples, pixels' images, frames...) per batch, for the throughput column."""

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, float]]:
        """``(loss to minimise, statistics to log)``."""

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Held-out metrics (model in eval mode; may be empty)."""

    def final_report(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Metrics written once at the end of training (may be empty)."""


__all__ = ["Task"]
