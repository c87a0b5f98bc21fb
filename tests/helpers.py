"""Helpers shared by the test folders (importable as ``helpers``: pytest's pythonpath includes tests/)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

TINY_SET = [
    "model.encoder_channels=16", "model.downsample_layers=4", "model.cond_channels=8", "model.speaker_dim=4",
    "model.residual_channels=8", "model.gate_channels=16", "model.skip_channels=8", "model.layers=4",
    "model.cycle=4", "quantizer.num_codes=32", "quantizer.dim=4", "quantizer.ema=true",
    "quantizer.restart_threshold=0.5", "quantizer.init=random", "data.crop_samples=1024", "train.batch_size=4",
    "train.lr=0.003", "train.log_every=10", "train.checkpoint_every=0", "train.valid_every=0",
    "train.max_minutes=0", "data.sample_rate=16000", "train.compile=false", "train.lr_schedule=constant",
    "train.warmup_steps=0", "train.grad_clip=0",
]

PRIOR_SET = ["model.residual_channels=16", "model.gate_channels=32", "model.skip_channels=16", "model.layers=4",
             "model.cycle=4", "model.speaker_dim=4", "train.batch_size=8", "train.log_every=10",
             "train.checkpoint_every=0", "train.valid_every=0", "train.max_minutes=0", "data.crop_codes=32"]


def write_tone(path: Path, seconds: float = 0.5, sr: int = 16000, channels: int = 1, freq: float = 220.0) -> Path:
    """A short sine tone with a little noise (deterministic)."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    data = np.stack([x] * channels, 1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), sr)
    return path


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Run ``vqspeech --quiet ARGS`` in-process; returns ``(exit code, stdout, stderr)``."""
    from vqspeech import progress
    from vqspeech.cli import main

    monkeypatch.setattr(sys, "argv", ["vqspeech", "--quiet", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        progress.set_quiet(True)
    out, err = capsys.readouterr()
    return code, out, err


def free_port() -> int:
    """A TCP port free on localhost (for gloo process groups)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save_toy_prior(path: Path, vqvae: Path, *, log_probs: np.ndarray | None = None, seed: int = 0) -> Path:
    """A small speech prior checkpoint for ``vqvae`` (random weights; or, with ``log_probs [K]``, one whose every
    next-code distribution is exactly ``softmax(log_probs)``).  Its ``vqvae_path`` is how files name ``vqvae``."""
    from dataclasses import asdict

    import torch

    from vqspeech.io.atomic import sha256_file
    from vqspeech.io.checkpoint import read_meta, save_checkpoint
    from vqspeech.io.shipped import model_ref
    from vqspeech.speech.config import SPEECH_PRIOR, PriorModel, SpeechMeta, SpeechPriorConfig
    from vqspeech.speech.models import CodePrior

    vm = SpeechMeta.of(read_meta(vqvae))
    cfg = SpeechPriorConfig(model=PriorModel(residual_channels=16, gate_channels=32, skip_channels=16, layers=4,
                                             cycle=4, speaker_dim=4))
    torch.manual_seed(seed)
    prior = CodePrior(cfg.model, vm.num_codes, len(vm.speakers))
    with torch.no_grad():
        for p in prior.parameters():  # sharper than the default init: a prior with real preferences
            p.mul_(3.0)
        if log_probs is not None:
            prior.net.head2.weight.zero_()
            prior.net.head2.bias.copy_(torch.as_tensor(log_probs, dtype=torch.float32))
    meta = SpeechMeta(vm.speakers, vm.sample_rate, vm.hop_length, vm.num_codes, model_ref(vqvae), sha256_file(vqvae))
    save_checkpoint(path, prior, {"kind": SPEECH_PRIOR, "config": asdict(cfg), "step": 0, **meta.to_dict()})
    return path
