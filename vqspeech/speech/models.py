"""The paper's speech models on the shared core.

* :class:`SpeechVQVAE` -- raw waveform -> strided encoder (on mu-law companded input) -> vector quantizer ->
  WaveNet decoder conditioned on the quantized latents (local) and a learned speaker embedding (global),
  256-way mu-law output.  A :class:`vqspeech.models.VQVAE`.
* :class:`CodePrior` -- a WaveNet over code sequences, optionally conditioned on the speaker.  A
  :class:`vqspeech.models.LatentPrior`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vqspeech.models import VQVAE, VQVAEOutput
from vqspeech.nn.encoder import StridedEncoder
from vqspeech.nn.logmel import LogMelEncoder
from vqspeech.nn.mulaw import mulaw_compand, mulaw_decode, mulaw_encode
from vqspeech.nn.wavenet import WaveNet, WaveNetConfig
from vqspeech.speech.config import PriorModel, VQVAEModel
from vqspeech.train.recipe import QuantizerConfig


class SpeechEncoder(StridedEncoder):
    """forward(audio [B, T] in [-1, 1]) -> z_e [B, D, T/hop].  The encoder sees mu-law companded audio (speech
    RMS ~0.3 instead of ~0.05); without it the latents started almost constant and the codebook collapsed."""

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return super().forward(mulaw_compand(audio)[:, None, :])


def time_jitter(z: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``z: [B, D, F]`` with each frame replaced, with probability ``p``, by its left or right neighbour (equally
    likely; the ends use themselves).  Chorowski et al. (2019)'s regulariser: codes must hold over a phone."""
    b, _, f = z.shape
    u = torch.rand(b, f, generator=generator, device=z.device if generator is None else generator.device)
    shift = torch.where(u < p / 2, -1, torch.where(u < p, 1, 0)).to(z.device)
    idx = (torch.arange(f, device=z.device)[None, :] + shift).clamp(0, f - 1)
    return z.gather(2, idx[:, None, :].expand_as(z))


def preemphasis(audio: torch.Tensor, a: float) -> torch.Tensor:
    """``y[t] = x[t] - a x[t-1]`` along the last axis (``x[-1] = 0``), clipped to [-1, 1]."""
    return (audio - a * F.pad(audio[..., :-1], (1, 0))).clamp(-1.0, 1.0)


def deemphasis(audio: torch.Tensor, a: float) -> torch.Tensor:
    """The inverse filter ``y[t] = x[t] + a y[t-1]`` along the last axis of ``audio: [B, T]``."""
    from scipy.signal import lfilter

    out = lfilter([1.0], [1.0, -a], audio.detach().cpu().double().numpy(), axis=-1)
    return torch.from_numpy(out).to(audio.dtype).to(audio.device)


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


class SpeakerAdversary(nn.Module):
    """A speaker classifier on latents ``[B, D, F]`` (two width-5 convolutions, mean over time) whose gradient
    reaches the latents reversed and scaled by ``weight`` (Ganin & Lempitsky's gradient reversal): it learns to
    tell speakers apart while pushing the encoder to make that impossible."""

    def __init__(self, dim: int, num_speakers: int, weight: float, hidden: int = 128) -> None:
        super().__init__()
        self.weight = weight
        self.net = nn.Sequential(nn.Conv1d(dim, hidden, 5, padding=2), nn.ReLU(),
                                 nn.Conv1d(hidden, hidden, 5, padding=2), nn.ReLU())
        self.out = nn.Linear(hidden, num_speakers)

    def forward(self, z: torch.Tensor, speaker: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(cross-entropy, accuracy)`` of telling ``speaker: [B]`` from ``z: [B, D, F]``."""
        logits = self.out(self.net(_ReverseGrad.apply(z, self.weight)).mean(-1))
        return F.cross_entropy(logits.float(), speaker), (logits.argmax(-1) == speaker).float().mean()


class SpeechDecoder(nn.Module):
    """WaveNet over mu-law samples, conditioned on ``z_q`` (through a width-3 convolution, so each frame sees its
    neighbours) and on a speaker embedding.  ``model.jitter`` jitters ``z_q`` in training; ``model.preemphasis``
    makes the WaveNet model pre-emphasised audio, de-emphasised after generation."""

    def __init__(self, model: VQVAEModel, dim: int, num_speakers: int) -> None:
        super().__init__()
        self.jitter, self.preemphasis = model.jitter, model.preemphasis
        cc = model.cond_channels
        self.cond_net = nn.Sequential(nn.Conv1d(dim, cc, 3, padding=1), nn.ReLU())
        self.speakers = nn.Embedding(max(num_speakers, 1), model.speaker_dim)
        self.wavenet = WaveNet(WaveNetConfig(
            num_classes=256, residual_channels=model.residual_channels, gate_channels=model.gate_channels,
            skip_channels=model.skip_channels, layers=model.layers, cycle=model.cycle, cond_channels=cc,
            global_channels=model.speaker_dim, hop=model.hop,
        ))

    def nll(self, audio: torch.Tensor, zq: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        """Mean NLL in nats per sample of ``audio: [B, T]`` given ``zq: [B, D, T/hop]``, ``speaker: [B]``."""
        if self.preemphasis > 0:
            audio = preemphasis(audio, self.preemphasis)
        if self.training and self.jitter > 0:
            zq = time_jitter(zq, self.jitter)
        target = mulaw_encode(audio)
        logits = self.wavenet(target, self.cond_net(zq), self.speakers(speaker))
        return F.cross_entropy(logits.float(), target)

    def generate(
        self, zq: torch.Tensor, speaker: torch.Tensor, *, temperature: float = 1.0,
        generator: torch.Generator | None = None, callback: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        """Audio ``[B, F*hop]`` for ``zq: [B, D, F]`` in the voices ``speaker: [B]``."""
        out, _ = self.wavenet.generate(zq.shape[-1] * self.wavenet.cfg.hop, self.cond_net(zq), self.speakers(speaker),
                                       temperature=temperature, generator=generator, callback=callback)
        audio = mulaw_decode(out)
        return deemphasis(audio, self.preemphasis) if self.preemphasis > 0 else audio


def _upgrade_v1_keys(state: Mapping[str, Any]) -> dict[str, Any]:
    """0.1 checkpoints kept ``cond_net``/``speakers`` at the top and the WaveNet as ``decoder``."""
    out = {}
    for k, v in state.items():
        if k.startswith(("cond_net.", "speakers.")):
            k = "decoder." + k
        elif k.startswith("decoder.") and not k.startswith(("decoder.cond_net.", "decoder.speakers.",
                                                             "decoder.wavenet.")):
            k = "decoder.wavenet." + k[len("decoder."):]
        out[k] = v
    return out


class SpeechVQVAE(VQVAE):
    """Speech VQ-VAE.

    forward(audio [B, T] float in [-1, 1], speaker [B] long) -> :class:`VQVAEOutput` (T a multiple of ``hop``).
    encode(audio [B, T]) -> codes [B, T/hop];  decode(codes [B, F], speaker [B]) -> audio [B, F*hop].
    """

    def __init__(self, model: VQVAEModel, quantizer: QuantizerConfig, num_speakers: int,
                 sample_rate: int = 16000) -> None:
        q = quantizer
        if model.encoder_input == "logmel":
            norm = round(model.norm_seconds * sample_rate / model.hop) if model.norm_seconds > 0 else 0
            if model.norm_seconds > 0 and norm < 3:
                raise ValueError(f"model.norm_seconds={model.norm_seconds} is under 3 code frames "
                                 f"({3 * model.hop / sample_rate:g} s at this rate): nothing left to normalise")
            encoder: nn.Module = LogMelEncoder(sample_rate, model.hop, q.dim, channels=model.encoder_channels,
                                               n_mels=model.n_mels, layers=model.encoder_layers, norm_frames=norm)
        else:
            encoder = SpeechEncoder(1, model.encoder_channels, q.dim, model.downsample_layers, model.encoder_kernel,
                                    model.strides)
        super().__init__(
            encoder,
            q.build(),
            SpeechDecoder(model, q.dim, num_speakers),
        )
        self.hop = model.hop
        self.adversary = (SpeakerAdversary(q.dim, max(num_speakers, 1), model.speaker_adversary)
                          if model.speaker_adversary > 0 else None)
        self.adversary_stats: dict[str, float] = {}

    def forward(self, audio: torch.Tensor, speaker: torch.Tensor) -> VQVAEOutput:  # type: ignore[override]
        """With ``model.speaker_adversary`` > 0 the loss adds the adversary's cross-entropy (its gradient reaches
        the encoder reversed); ``adversary_stats`` then holds its last ``adv_ce`` and ``adv_acc``.  Once the codes are
        frozen (two-stage schedule) the encoder no longer learns, so the adversary is skipped."""
        if self.adversary is None or self.codes_frozen:
            return super().forward(audio, speaker=speaker)
        vq = self.quantize(audio)
        nll = self.decoder.nll(audio, vq.quantized, speaker=speaker)
        ce, acc = self.adversary(vq.quantized, speaker)
        self.adversary_stats = {"adv_ce": ce.item(), "adv_acc": acc.item()}
        return VQVAEOutput(nll + vq.loss + ce, nll, vq.loss, vq.perplexity, vq.codes_used, vq.codes)

    def freeze_codes(self) -> None:
        """Stage two of a two-stage schedule (see :meth:`VQVAE.freeze_codes`); the speaker adversary stops too (it
        only shapes the encoder, which no longer learns), so no parameter is left without a gradient under DDP."""
        super().freeze_codes()
        if self.adversary is not None:
            self.adversary.requires_grad_(False)
        self.adversary_stats = {}

    @torch.no_grad()
    def decode(  # type: ignore[override]
        self, codes: torch.Tensor, speaker: torch.Tensor, *, lengths: torch.Tensor | None = None,
        temperature: float = 1.0, generator: torch.Generator | None = None,
        callback: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        """Audio ``[B, F*hop]`` for ``codes: [B, F]`` in the voices ``speaker: [B]``.  ``lengths: [B]`` marks
        padded batches: latents past an utterance's end are zeros, exactly as when it is decoded alone."""
        zq = self.quantizer.embed(codes)
        if lengths is not None:
            frames = torch.arange(codes.shape[1], device=codes.device)
            zq = zq * (frames[None, :] < lengths[:, None]).to(zq.dtype)[:, None, :]
        return self.decoder.generate(zq, speaker, temperature=temperature, generator=generator, callback=callback)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        return super().load_state_dict(_upgrade_v1_keys(state_dict), strict=strict, assign=assign)

    def compile_targets(self) -> list[nn.Module]:
        """What ``train.compile`` compiles: the WaveNet decoder (most of a step's time)."""
        return [self.decoder.wavenet]


class CodePrior(nn.Module):
    """A WaveNet over code sequences.

    nll(codes [B, N] long, speaker [B] long | None, mask [B, N] | None) -> NLL in nats per code;
    sample((B, N), speaker) -> codes [B, N].  ``forward`` is ``nll``.
    """

    def __init__(self, model: PriorModel, num_codes: int, num_speakers: int) -> None:
        super().__init__()
        sd = model.speaker_dim
        self.num_codes = num_codes
        self.speakers = nn.Embedding(max(num_speakers, 1), sd) if sd > 0 else None
        self.net = WaveNet(WaveNetConfig(
            num_classes=num_codes, residual_channels=model.residual_channels, gate_channels=model.gate_channels,
            skip_channels=model.skip_channels, layers=model.layers, cycle=model.cycle, global_channels=sd,
        ))

    def compile_targets(self) -> list[nn.Module]:
        """What ``train.compile`` compiles: the WaveNet."""
        return [self.net]

    def _g(self, speaker: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if self.speakers is None:
            return None
        if speaker is None:
            speaker = torch.zeros(batch, dtype=torch.long, device=self.net.embed.weight.device)
        return self.speakers(speaker)

    def logits(self, codes: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        """Next-code logits ``[B, K, N]``: ``logits[:, :, t]`` predicts ``codes[:, t]`` from ``codes[:, :t]``."""
        return self.net(codes, None, self._g(speaker, codes.shape[0]))

    def nll(self, codes: torch.Tensor, speaker: torch.Tensor | None = None,
            mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean NLL (nats per code) of ``codes: [B, N]``; ``mask: [B, N]`` bool marks real (not padded) codes."""
        nll = F.cross_entropy(self.logits(codes, speaker).float(), codes, reduction="none")
        if mask is None:
            return nll.mean()
        return (nll * mask).sum() / mask.sum().clamp_min(1)

    forward = nll

    @torch.no_grad()
    def sample(self, shape: tuple[int, int], speaker: torch.Tensor | None = None, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes of ``shape = (B, N)`` by cached incremental generation."""
        n, steps = shape
        out, _ = self.net.generate(steps, None, self._g(speaker, n), batch=n, temperature=temperature,
                                   generator=generator)
        return out
