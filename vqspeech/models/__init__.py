"""Models built from a resolved recipe (the ``config`` stored in every checkpoint)."""

from __future__ import annotations

from typing import Any

from torch import nn

from vqspeech.errors import CheckpointError


def build_model(kind: str, config: dict[str, Any], meta: dict[str, Any]) -> nn.Module:
    """Construct an untrained model of ``kind`` from a resolved recipe and checkpoint metadata."""
    n_spk = len(meta.get("speakers") or []) or 1
    if kind == "speech-vqvae":
        from vqspeech.models.speech_vqvae import SpeechVQVAE

        return SpeechVQVAE(config["model"], config["quantizer"], n_spk)
    if kind == "speech-prior":
        from vqspeech.models.prior import CodePrior

        return CodePrior(config["model"], int(meta["num_codes"]), n_spk)
    raise CheckpointError(f"unknown model kind {kind!r}")
