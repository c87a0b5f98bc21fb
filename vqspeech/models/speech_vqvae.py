"""The paper's speech VQ-VAE: raw waveform -> strided encoder -> vector quantizer -> WaveNet decoder
conditioned on the quantized latents (local) and a learned speaker embedding (global), 256-way mu-law output."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vqspeech.data.audio import mulaw_decode, mulaw_encode
from vqspeech.nn.encoder import StridedEncoder
from vqspeech.nn.wavenet import WaveNet, WaveNetConfig
from vqspeech.quantize import VectorQuantizer


class SpeechOutput(NamedTuple):
    """Training outputs: ``loss`` = NLL + VQ loss, ``nll`` in nats per sample, VQ statistics."""

    loss: torch.Tensor
    nll: torch.Tensor
    vq_loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor
    codes: torch.Tensor


class SpeechVQVAE(nn.Module):
    """Speech VQ-VAE.

    forward(audio [B, T] float in [-1, 1], speaker [B] long) -> :class:`SpeechOutput` (T multiple of ``hop``).
    encode(audio [B, T]) -> codes [B, T/hop];  decode(codes [B, F], speaker [B]) -> audio [B, F*hop].
    """

    kind = "speech-vqvae"

    def __init__(self, model: dict[str, Any], quantizer: dict[str, Any], num_speakers: int) -> None:
        super().__init__()
        q = quantizer
        self.encoder = StridedEncoder(1, model["encoder_channels"], q["dim"], model["downsample_layers"],
                                      model["encoder_kernel"])
        self.hop = self.encoder.hop
        self.quantizer = VectorQuantizer(
            q["num_codes"], q["dim"], beta=q["beta"], ema=q["ema"], decay=q["decay"],
            restart_threshold=q["restart_threshold"], init=q["init"], chunk_size=q["chunk_size"],
        )
        cc = model["cond_channels"]
        # a small non-causal conv over the latents gives each frame its neighbours' context
        self.cond_net = nn.Sequential(nn.Conv1d(q["dim"], cc, 3, padding=1), nn.ReLU())
        self.speakers = nn.Embedding(max(num_speakers, 1), model["speaker_dim"])
        self.decoder = WaveNet(WaveNetConfig(
            num_classes=256, residual_channels=model["residual_channels"], gate_channels=model["gate_channels"],
            skip_channels=model["skip_channels"], layers=model["layers"], cycle=model["cycle"],
            cond_channels=cc, global_channels=model["speaker_dim"], hop=self.hop,
        ))

    def forward(self, audio: torch.Tensor, speaker: torch.Tensor) -> SpeechOutput:
        target = mulaw_encode(audio)
        vq = self.quantizer(self._encode(audio))
        logits = self.decoder(target, self.cond_net(vq.quantized), self.speakers(speaker))
        nll = F.cross_entropy(logits.float(), target)
        return SpeechOutput(nll + vq.loss, nll, vq.loss, vq.perplexity, vq.codes_used, vq.codes)

    @torch.no_grad()
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, T/hop]`` for ``audio: [B, T]``."""
        return self.quantizer(self._encode(audio)).codes

    def _encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Encoder outputs ``[B, D, T/hop]``; the encoder sees mu-law companded audio (speech RMS ~0.3, not ~0.05)."""
        x = torch.sign(audio) * torch.log1p(255 * audio.abs().clamp(max=1)) / math.log(256)
        return self.encoder(x[:, None, :])

    @torch.no_grad()
    def decode(
        self, codes: torch.Tensor, speaker: torch.Tensor, *, temperature: float = 1.0,
        generator: torch.Generator | None = None, callback=None,
    ) -> torch.Tensor:
        """Generate audio ``[B, F*hop]`` for ``codes: [B, F]`` in the voices ``speaker: [B]``."""
        cond = self.cond_net(self.quantizer.embed(codes))
        out, _ = self.decoder.generate(codes.shape[1] * self.hop, cond, self.speakers(speaker),
                                       temperature=temperature, generator=generator, callback=callback)
        return mulaw_decode(out)
