from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.image.conftest import SMALL_DATA, make_config, save, train_steps
from vqspeech.errors import InputError
from vqspeech.image.config import IMAGE_PRIOR, ImagePriorConfig
from vqspeech.image.inference import decode_codes, resolve_labels, sample_codes
from vqspeech.image.tasks import ImagePriorTask
from vqspeech.nn.pixelcnn import GatedPixelCNN
from vqspeech.registry import load_model


def test_toy_prior_learns_a_deterministic_class_pattern() -> None:
    torch.manual_seed(0)
    k, h, w = 4, 3, 3
    patterns = torch.stack([(torch.arange(h * w).view(h, w) + c) % k for c in range(2)])  # one map per class
    model = GatedPixelCNN(k, channels=16, layers=3, kernel=3, num_classes=2, out_hidden=32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    labels = torch.tensor([0, 1] * 4)
    for _ in range(150):
        loss = model.nll(patterns[labels], labels).mean() / (h * w)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.05  # nats per code: the pattern is learned
    model.eval()
    s = model.sample(4, (h, w), torch.tensor([0, 1, 0, 1]), generator=torch.Generator().manual_seed(0))
    assert torch.equal(s, patterns[torch.tensor([0, 1, 0, 1])])


def test_prior_task_end_to_end(small_folder: Path, tiny_vqvae: Path, tmp_path: Path) -> None:
    cfg = make_config(ImagePriorConfig, {
        "data": {"root": str(small_folder), "vqvae": str(tiny_vqvae), **SMALL_DATA},
        "model": {"channels": 8, "layers": 2, "kernel": 3, "out_hidden": 16}, "train": {"batch_size": 4}})
    task = ImagePriorTask(cfg, tmp_path)
    meta = task.meta()
    assert meta["latent_shape"] == [4, 4] and meta["num_codes"] == 16 and len(meta["vqvae_sha256"]) == 64
    codes, labels = task.batch(3)
    assert codes.shape == (4, 4, 4) and torch.equal(task.batch(3)[0], codes)
    before = task.validate(task.build_model(), torch.device("cpu"))
    model, losses = train_steps(task, 30, lr=1e-2)
    after = task.validate(model, torch.device("cpu"))
    assert after["prior_bits_per_code"] < before["prior_bits_per_code"]
    assert after["bits_per_dim_prior"] == pytest.approx(after["recon_bits_per_dim"] + after["prior_bits_per_dim"])
    assert list(tmp_path.glob("codes-*.npy"))  # encoded once, cached
    path = save(task, model, tmp_path / "prior.safetensors")
    prior, pmeta = load_model(path, expect=IMAGE_PRIOR)
    vq, _ = load_model(tiny_vqvae)
    lab = resolve_labels(pmeta["classes"][1], pmeta["classes"], 3, conditional=True)
    a = sample_codes(prior, 3, pmeta["latent_shape"], lab, seed=1)
    assert np.array_equal(a, sample_codes(prior, 3, pmeta["latent_shape"], lab, seed=1))
    assert decode_codes(vq, a).shape == (3, 16, 16, 3)
    with pytest.raises(InputError, match="known labels"):
        resolve_labels("zebra", pmeta["classes"], 3, conditional=True)


def test_prior_task_encodes_its_corpus_on_the_device_it_is_given(small_folder: Path, tiny_vqvae: Path,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``--device cpu`` is honoured with CUDA available (mocked: moving the VQ-VAE to CUDA would fail here), and
    under torchrun the task's device is ``cuda:LOCAL_RANK``, not ``cuda:0``."""
    from vqspeech import registry
    from vqspeech.device import pick_device

    cfg = make_config(ImagePriorConfig, {
        "data": {"root": str(small_folder), "vqvae": str(tiny_vqvae), **SMALL_DATA},
        "model": {"channels": 8, "layers": 2, "kernel": 3, "out_hidden": 16}, "train": {"batch_size": 4}})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    task = registry.get(IMAGE_PRIOR).task(cfg, tmp_path, pick_device("cpu"))
    assert task.device == torch.device("cpu")
    assert task.codes.shape[1:] == (4, 4)
    assert "prior_bits_per_code" in task.validate(task.build_model(), torch.device("cpu"))
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert registry.get(IMAGE_PRIOR).task(cfg, tmp_path, pick_device("auto")).device == torch.device("cuda", 1)
