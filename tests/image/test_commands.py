from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.image.conftest import SMALL_DATA, make_config, save, train_steps
from vqspeech.errors import InputError
from vqspeech.image import commands
from vqspeech.image.config import ImagePriorConfig
from vqspeech.image.tasks import ImagePriorTask


def test_evaluate_and_sample(small_folder: Path, tiny_vqvae: Path, tmp_path: Path) -> None:
    cfg = make_config(ImagePriorConfig, {
        "data": {"root": str(small_folder), "vqvae": str(tiny_vqvae), **SMALL_DATA},
        "model": {"channels": 8, "layers": 2, "kernel": 3, "out_hidden": 16}, "train": {"batch_size": 4}})
    task = ImagePriorTask(cfg, tmp_path / "prior")
    model, _ = train_steps(task, 5)
    prior = save(task, model, tmp_path / "prior.safetensors")
    rep = commands.evaluate(small_folder, tiny_vqvae, prior=prior, json_path=tmp_path / "e.json",
                            md_path=tmp_path / "e.md", out_dir=tmp_path / "figs", device="cpu", samples=2,
                            valid_fraction=0.25)
    vq = rep["vqvae"]
    assert vq["bits_per_dim_uniform"] == pytest.approx(vq["recon_bits_per_dim"] + 16 * 4 / (3 * 16 * 16))
    assert "bits_per_dim_prior" in vq and (tmp_path / "figs" / "samples.png").exists()
    assert json.loads((tmp_path / "e.json").read_text())["images"] == 3
    assert "PixelCNN prior" in (tmp_path / "e.md").read_text()
    png = commands.sample(tmp_path / "s.png", prior, n=3, label=task.meta()["classes"][0], seed=2, device="cpu")
    codes = np.load(png.with_suffix(".npz"))["codes"]
    assert codes.shape == (3, 4, 4) and png.exists()
    with pytest.raises(InputError, match="known labels"):
        commands.sample(tmp_path / "t.png", prior, n=1, label="zebra", device="cpu")
    with pytest.raises(InputError, match="-n"):
        commands.sample(tmp_path / "t.png", prior, n=0, device="cpu")
