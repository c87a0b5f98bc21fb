"""The speech family's kinds (the registry reads ``KINDS``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vqspeech.registry import Kind
from vqspeech.speech.config import SPEECH_PRIOR, SPEECH_VQVAE, SpeechPriorConfig, SpeechVQVAEConfig


def _build_vqvae(cfg: SpeechVQVAEConfig, meta: dict[str, Any]) -> nn.Module:
    from vqspeech.speech.models import SpeechVQVAE

    return SpeechVQVAE(cfg.model, cfg.quantizer, len(meta.get("speakers") or []) or 1,
                       int(meta.get("sample_rate") or cfg.data.sample_rate))


def _build_prior(cfg: SpeechPriorConfig, meta: dict[str, Any]) -> nn.Module:
    from vqspeech.speech.models import CodePrior

    return CodePrior(cfg.model, int(meta["num_codes"]), len(meta.get("speakers") or []) or 1)


def _vqvae_task(cfg: SpeechVQVAEConfig, run_dir: Any, device: torch.device) -> Any:
    from vqspeech.speech.tasks import SpeechVQVAETask

    return SpeechVQVAETask(cfg, run_dir, device)


def _prior_task(cfg: SpeechPriorConfig, run_dir: Any, device: torch.device) -> Any:
    from vqspeech.speech.tasks import SpeechPriorTask

    return SpeechPriorTask(cfg, run_dir, device)


KINDS = [
    Kind(SPEECH_VQVAE, "speech", "vqvae", SpeechVQVAEConfig, _build_vqvae, _vqvae_task),
    Kind(SPEECH_PRIOR, "speech", "prior", SpeechPriorConfig, _build_prior, _prior_task),
]
