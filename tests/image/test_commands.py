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
    for bad in ("t.jpg", "t"):  # the name is never silently changed
        with pytest.raises(InputError, match="NAME.png"):
            commands.sample(tmp_path / bad, prior, n=1, device="cpu")
    with pytest.raises(InputError, match="does not exist"):
        commands.sample(tmp_path / "nowhere" / "t.png", prior, n=1, device="cpu")
    assert not list(tmp_path.glob("t.*"))
    png = commands.sample(tmp_path / "g.npz", prior, n=4, ncol=2, seed=2, device="cpu")
    from PIL import Image

    assert png == tmp_path / "g.png" and Image.open(png).size[0] < Image.open(tmp_path / "s.png").size[0]
    upper = commands.sample(tmp_path / "U.PNG", prior, n=1, device="cpu")
    assert upper == tmp_path / "U.PNG" and upper.exists() and (tmp_path / "U.npz").exists()


def test_encode_decode_cli_round_trip(small_folder: Path, tiny_vqvae: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Class folders -> a shaped token dataset (codes [h, w], label) -> PNGs equal to decode(encode(x))."""
    import pandas as pd
    from helpers import run_cli
    from PIL import Image

    import vqspeech
    from vqspeech.image.data import load_images
    from vqspeech.image.inference import decode_codes, encode_images

    code, _, err = run_cli(["encode", str(small_folder), "-o", str(tmp_path / "tok"), "-c", str(tiny_vqvae),
                            "--device", "cpu"], monkeypatch, capsys)
    assert code == 0, err
    df = pd.read_parquet(tmp_path / "tok").sort_values("id").reset_index(drop=True)
    model = vqspeech.load(tiny_vqvae)
    images = load_images(small_folder, "all", image_size=16)
    assert len(df) == len(images) == 12
    assert all(list(s) == list(model.latent_shape) for s in df["shape"])
    assert [images.labels[images.ids.index(p)] for p in df["path"]] == list(df["label"])
    code, _, err = run_cli(["decode", str(tmp_path / "tok"), "-o", str(tmp_path / "png"), "-c", str(tiny_vqvae),
                            "--device", "cpu"], monkeypatch, capsys)
    assert code == 0, err
    png = sorted((tmp_path / "png").glob("*.png"))
    assert len(png) == 12
    i = images.ids.index(df["path"][0])
    ref = decode_codes(model, encode_images(model, images.images([i])))[0]
    import re

    assert np.array_equal(np.asarray(Image.open(tmp_path / "png" / (re.sub(r"[^\w.-]", "_", df["id"][0]) + ".png"))),
                          ref)
