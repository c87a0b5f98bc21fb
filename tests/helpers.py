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
