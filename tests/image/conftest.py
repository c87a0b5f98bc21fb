from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from vqspeech.io.checkpoint import save_checkpoint
from vqspeech.train.recipe import build, to_dict

TINY_MODEL = {"hidden": 32, "res_hidden": 16, "res_blocks": 1}
TINY_QUANT = {"num_codes": 16, "dim": 8, "init": "kmeans", "restart_threshold": 0.3}


@pytest.fixture(scope="session")
def patches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small corpus in the real CIFAR-10 layout, from the demo builder (natural patches)."""
    from vqspeech.image.data.demo import build_image_corpus

    out = tmp_path_factory.mktemp("images")
    build_image_corpus(out, train_per_class=6, test_per_class=2, imagenet=False, seed=0)
    return out


def make_config(cls: type, raw: dict[str, Any]) -> Any:
    return build(cls, raw, "test")


def train_steps(task: Any, steps: int, lr: float = 2e-3, model: torch.nn.Module | None = None,
                seed0: int = 0) -> tuple[torch.nn.Module, list[float]]:
    """The tiny local harness: Adam over ``task.loss(model, task.batch(seed))``."""
    torch.manual_seed(0)
    model = model if model is not None else task.build_model()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        loss, _ = task.loss(model, task.batch(seed0 + step))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return model.eval(), losses


def save(task: Any, model: torch.nn.Module, path: Path, step: int = 1) -> Path:
    save_checkpoint(path, model, {"kind": task.kind, "config": to_dict(task.config), "step": step, **task.meta()})
    return path


@pytest.fixture(scope="session")
def small_folder(patches: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 natural 16x16 images (downscaled patches) in the ROOT/<class>/*.png layout: 4x cheaper to train on."""
    from PIL import Image

    from vqspeech.image.data import load_images

    s = load_images(patches, "train")
    out = tmp_path_factory.mktemp("folder")
    for i in range(12):
        d = out / s.classes[s.labels[i]]
        d.mkdir(exist_ok=True)
        Image.fromarray(s.images([i])[0]).resize((16, 16), Image.Resampling.BOX).save(d / f"{i}.png")
    return out


SMALL_DATA = {"image_size": 16, "valid_fraction": 0.25}


@pytest.fixture(scope="session")
def tiny_vqvae(small_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny VQ-VAE trained briefly on the patches; returns its checkpoint."""
    from vqspeech.image.config import ImageVQVAEConfig
    from vqspeech.image.tasks import ImageVQVAETask

    cfg = make_config(ImageVQVAEConfig, {
        "data": {"root": str(small_folder), **SMALL_DATA}, "model": TINY_MODEL,
        "quantizer": TINY_QUANT, "train": {"batch_size": 8}})
    run = tmp_path_factory.mktemp("vq")
    task = ImageVQVAETask(cfg, run)
    model, _ = train_steps(task, 20, lr=5e-3)
    return save(task, model, run / "last.safetensors", 20)
