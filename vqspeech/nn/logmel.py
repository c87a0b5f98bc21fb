"""A log-mel front end for encoders: audio -> log-mel frames at exactly one frame per ``hop`` samples,
optionally normalised over a sliding window (per-utterance-style mean and variance normalisation that stays
local, so chunked encoding still equals whole-file encoding), then width-3 convolutions to the latent size.

Frame ``f`` is the window of ``n_fft`` samples centred at ``(f + 1/2) * hop`` (the same centre the strided
encoder's frames and ``phoneme-eval`` use); ``T`` samples give ``T / hop`` frames."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """Triangular mel filters ``[n_fft // 2 + 1, n_mels]`` (HTK mel scale, 20 Hz to Nyquist, area-normalised)."""
    import librosa

    fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=20.0, htk=True)
    return torch.from_numpy(fb.T.copy()).float()


def sliding_normalise(x: torch.Tensor, frames: int, eps: float = 1e-5) -> torch.Tensor:
    """``x: [B, C, F]`` minus its mean over the ``frames`` frames centred on each frame, divided by their
    standard deviation (windows are cut at the ends: only real frames count)."""
    w = frames // 2
    k = 2 * w + 1
    mean = F.avg_pool1d(x, k, stride=1, padding=w, count_include_pad=False)
    sq = F.avg_pool1d(x * x, k, stride=1, padding=w, count_include_pad=False)
    return (x - mean) * torch.rsqrt((sq - mean * mean).clamp_min(0) + eps)


class LogMelEncoder(nn.Module):
    """forward(audio: [B, T] in [-1, 1], T a multiple of ``hop``) -> z_e ``[B, D, T / hop]``.

    ``norm_frames`` > 0: sliding mean/variance normalisation of each mel channel over that many frames (what
    removes the channel and much of the speaker's spectral tilt, as per-utterance normalisation does)."""

    def __init__(self, sample_rate: int, hop: int, out_dim: int, *, channels: int = 256, n_mels: int = 40,
                 layers: int = 3, norm_frames: int = 0) -> None:
        super().__init__()
        n_fft = max(2 * hop, 2 * math.ceil(0.016 * sample_rate))  # >= 32 ms windows, 50 % overlap at least
        if (n_fft - hop) % 2:
            n_fft += 1
        self.hop, self.n_fft, self.norm_frames, self.strides = hop, n_fft, norm_frames, [hop]
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        self.register_buffer("mel", mel_filterbank(sample_rate, n_fft, n_mels), persistent=False)
        mods: list[nn.Module] = []
        c = n_mels
        for _ in range(layers):
            mods += [nn.Conv1d(c, channels, 3, padding=1), nn.ReLU()]
            c = channels
        mods.append(nn.Conv1d(c, out_dim, 1))
        self.net = nn.Sequential(*mods)
        for m in self.net:
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        self.layers = layers
        self.hop_frames_reach = layers + (norm_frames // 2 if norm_frames > 0 else 0)

    @property
    def receptive_field(self) -> int:
        """Input samples that one output frame depends on."""
        return self.n_fft + 2 * self.hop_frames_reach * self.hop

    @property
    def front_end_flops_per_frame(self) -> float:
        """Floating-point operations of one log-mel frame before the convolutions: the window, a real FFT
        (``2.5 n log2 n``, half a complex one), the power spectrum and the mel matmul."""
        n, freqs = self.n_fft, self.n_fft // 2 + 1
        return n + 2.5 * n * math.log2(n) + 3 * freqs + 2 * freqs * self.mel.shape[1]

    @property
    def activation_floats(self) -> float:
        """fp32 values alive per input sample at the widest point (frames of ``n_fft`` and their spectra)."""
        return 3 + 4 * self.n_fft / self.hop

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Log-mel frames ``[B, n_mels, T / hop]`` of ``audio: [B, T]`` (normalised when ``norm_frames`` > 0)."""
        left = (self.n_fft - self.hop) // 2
        x = F.pad(audio, (left, self.n_fft - self.hop - left))
        frames = x.unfold(-1, self.n_fft, self.hop) * self.window  # [B, F, n_fft]
        power = torch.fft.rfft(frames, dim=-1).abs().square()
        logmel = torch.log(power @ self.mel + 1e-6).transpose(1, 2)
        return sliding_normalise(logmel, self.norm_frames) if self.norm_frames > 0 else logmel

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.net(self.features(audio))
