"""Latent prior: a WaveNet over code sequences (code embedding in, K-way softmax out), optionally
conditioned on the speaker."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vqspeech.nn.wavenet import WaveNet, WaveNetConfig


class CodePrior(nn.Module):
    """forward(codes [B, N] long, speaker [B] long | None, mask [B, N] | None) -> NLL in nats per code.
    generate(n, steps, speaker) -> codes [n, steps]."""

    kind = "speech-prior"

    def __init__(self, model: dict[str, Any], num_codes: int, num_speakers: int) -> None:
        super().__init__()
        sd = model["speaker_dim"]
        self.speakers = nn.Embedding(max(num_speakers, 1), sd) if sd > 0 else None
        self.net = WaveNet(WaveNetConfig(
            num_classes=num_codes, residual_channels=model["residual_channels"],
            gate_channels=model["gate_channels"], skip_channels=model["skip_channels"], layers=model["layers"],
            cycle=model["cycle"], global_channels=sd,
        ))

    def _g(self, speaker: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if self.speakers is None:
            return None
        if speaker is None:
            speaker = torch.zeros(batch, dtype=torch.long, device=self.net.embed.weight.device)
        return self.speakers(speaker)

    def forward(
        self, codes: torch.Tensor, speaker: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Mean NLL (nats per code) of ``codes: [B, N]``; ``mask: [B, N]`` bool marks real (not padded) codes."""
        logits = self.net(codes, None, self._g(speaker, codes.shape[0]))
        nll = F.cross_entropy(logits.float(), codes, reduction="none")
        if mask is None:
            return nll.mean()
        return (nll * mask).sum() / mask.sum().clamp_min(1)

    @torch.no_grad()
    def generate(
        self, n: int, steps: int, speaker: torch.Tensor | None = None, *, temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample ``[n, steps]`` codes by cached incremental generation."""
        out, _ = self.net.generate(steps, None, self._g(speaker, n), batch=n, temperature=temperature,
                                   generator=generator)
        return out
