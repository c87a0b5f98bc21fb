from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

torch.set_num_threads(2)


def write_tone(path: Path, seconds: float = 0.5, sr: int = 16000, channels: int = 1, freq: float = 220.0) -> Path:
    """A short sine tone with a little noise (deterministic)."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    data = np.stack([x] * channels, 1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), sr)
    return path


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vqspeech.data.demo_corpus import build_demo_corpus

    out = tmp_path_factory.mktemp("demo") / "corpus"
    build_demo_corpus(out, speakers=3, utterances=4, seed=0, log=False)
    return out


TINY_SET = [
    "model.encoder_channels=16", "model.downsample_layers=4", "model.cond_channels=8", "model.speaker_dim=4",
    "model.residual_channels=8", "model.gate_channels=16", "model.skip_channels=8", "model.layers=4",
    "model.cycle=4", "quantizer.num_codes=32", "quantizer.dim=4", "quantizer.ema=true",
    "quantizer.restart_threshold=0.5", "quantizer.init=random", "data.crop_samples=1024", "train.batch_size=4",
    "train.lr=0.003", "train.log_every=10", "train.checkpoint_every=0", "train.valid_every=0",
    "train.max_minutes=0",
]


@pytest.fixture(scope="session")
def tiny_model(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny speech VQ-VAE trained briefly on the tiny demo corpus; returns its last checkpoint."""
    from vqspeech.tasks.train import train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    return train("recipes/demo.yaml", out=run, overrides=[*TINY_SET, f"data.root={demo_corpus}"], max_steps=60,
                 device="cpu", quiet=True)
