"""Typed recipes and checkpoint metadata of the speech family (kinds ``speech-vqvae`` and ``speech-prior``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from vqspeech.errors import CheckpointError
from vqspeech.train.recipe import NoSection, QuantizerConfig, TrainConfig, positive

SPEECH_VQVAE = "speech-vqvae"
SPEECH_PRIOR = "speech-prior"


@dataclass
class AudioData:
    """Section ``data`` shared by the speech kinds: where the corpus is and how it is read."""

    root: str = ""
    layout: Literal["auto", "vctk", "librispeech", "generic", "manifest"] = "auto"
    mic: Literal["mic1", "mic2"] = "mic1"
    sample_rate: int = 16000
    trim_silence: bool = False
    top_db: float = 40.0
    valid_fraction: float = 0.05
    unseen_speakers: list[str] = field(default_factory=list)
    max_utterances: int = 0
    # on-disk int16 corpus cache, memory-mapped by every rank; "auto": .audio-cache beside the run dir; "": in RAM
    cache_dir: str = "auto"


@dataclass
class VQVAEData(AudioData):
    crop_samples: int = 16384


@dataclass
class PriorData(AudioData):
    tokens: str = ""
    vqvae: str = ""
    crop_codes: int = 320


@dataclass
class WaveNetSizes:
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    layers: int = 10
    cycle: int = 10

    def __post_init__(self) -> None:
        positive(self, "residual_channels", "gate_channels", "skip_channels", "layers", "cycle")
        if self.gate_channels % 2:
            raise ValueError(f"gate_channels must be even (tanh and sigmoid halves), not {self.gate_channels}")


@dataclass
class VQVAEModel(WaveNetSizes):
    """Section ``model`` of ``speech-vqvae``: strided encoder + WaveNet decoder sizes."""

    encoder_channels: int = 256
    downsample_layers: int = 6  # stride-2 layers of window encoder_kernel (when strides is empty)
    encoder_kernel: int = 4
    strides: list[int] = field(default_factory=list)  # e.g. [2, 2, 2, 2, 2, 4, 5]: 640x, windows 2x the stride
    cond_channels: int = 128
    speaker_dim: int = 64
    # Levers for phonetic, speaker-free codes (all off by default, as in the paper; README "Speech levers"):
    encoder_input: Literal["waveform", "logmel"] = "waveform"  # logmel: log-mel frames at the code rate
    n_mels: int = 40
    encoder_layers: int = 3  # logmel: width-3 convolutions after the front end
    norm_seconds: float = 0.0  # logmel: sliding mean/variance normalisation over this many seconds (0: off)
    jitter: float = 0.0  # time jitter (Chorowski et al. 2019): a latent frame is replaced by a neighbour
    preemphasis: float = 0.0  # decoder models x[t] - a x[t-1] (mu-law noise shaped under speech); de-emphasised
    speaker_adversary: float = 0.0  # weight of a gradient-reversed speaker classifier on the quantized latents

    def __post_init__(self) -> None:
        super().__post_init__()
        positive(self, "encoder_channels", "cond_channels", "encoder_kernel", "n_mels", "encoder_layers")
        if any(s < 1 for s in self.strides):
            raise ValueError(f"model.strides must be positive integers, not {self.strides}")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"model.jitter is a probability in [0, 1), not {self.jitter}")
        if not 0.0 <= self.preemphasis < 1.0:
            raise ValueError(f"model.preemphasis must be in [0, 1), not {self.preemphasis}")
        if self.norm_seconds < 0 or self.speaker_adversary < 0:
            raise ValueError("model.norm_seconds and model.speaker_adversary must be >= 0")
        if self.norm_seconds > 0 and self.encoder_input != "logmel":
            raise ValueError("model.norm_seconds needs model.encoder_input: logmel (it normalises mel channels)")

    @property
    def hop(self) -> int:
        """Audio samples per code frame: the product of the encoder's strides."""
        return math.prod(self.strides) if self.strides else 2**self.downsample_layers


@dataclass
class PriorModel(WaveNetSizes):
    """Section ``model`` of ``speech-prior``: a WaveNet over codes (``speaker_dim`` 0: unconditional)."""

    speaker_dim: int = 0


@dataclass
class SpeechVQVAEConfig:
    task: str = SPEECH_VQVAE
    data: VQVAEData = field(default_factory=VQVAEData)
    model: VQVAEModel = field(default_factory=VQVAEModel)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class SpeechPriorConfig:
    task: str = SPEECH_PRIOR
    data: PriorData = field(default_factory=PriorData)
    model: PriorModel = field(default_factory=PriorModel)
    quantizer: NoSection = field(default_factory=NoSection)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class SpeechMeta:
    """The speech fields of a checkpoint's (and a token dataset's) metadata."""

    speakers: list[str]
    sample_rate: int
    hop_length: int
    num_codes: int
    vqvae_path: str = ""  # priors: the VQ-VAE whose codes they model
    vqvae_sha256: str = ""

    @property
    def frame_rate(self) -> float:
        """Codes per second."""
        return self.sample_rate / self.hop_length

    @classmethod
    def of(cls, meta: dict[str, Any], source: str = "checkpoint") -> SpeechMeta:
        """The speech fields of a metadata mapping (other keys are the shared ones: kind, config, step...)."""
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in meta.items() if k in names})
        except TypeError as exc:
            raise CheckpointError(f"{source}: incomplete speech metadata ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["frame_rate"] = self.frame_rate
        if not self.vqvae_path:
            del out["vqvae_path"], out["vqvae_sha256"]
        return out

    def speaker_index(self, speaker: str | None, fallback: str | None = None) -> int:
        """Row of ``speaker`` in the speaker table.  ``None``: ``fallback`` if known, else the first speaker."""
        from vqspeech.errors import InputError

        if speaker is None:
            return self.speakers.index(fallback) if fallback in self.speakers else 0
        if speaker not in self.speakers:
            raise InputError(f"unknown speaker {speaker!r}; this model knows: {', '.join(self.speakers)}")
        return self.speakers.index(speaker)
