"""Checkpoints written by 0.3 keep loading: the image, frame and global VQ-VAE fixtures in ``data/v0_3/`` (written
by ``scripts/write_v0_3_fixtures.py`` with the 0.3 models) rebuild from their stored config and give the codes and
decodings recorded with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vqspeech.registry import load_model

DATA = Path(__file__).parent / "data" / "v0_3"


@pytest.mark.parametrize(("name", "kind"), [("image_vqvae", "image-vqvae"), ("frame_vqvae", "video-vqvae"),
                                            ("global_vqvae", "video-global")])
def test_v0_3_checkpoints_load_and_give_the_recorded_codes(name: str, kind: str) -> None:
    model, meta = load_model(DATA / f"{name}.safetensors", expect=kind)
    rec = np.load(DATA / f"{name}.npz")
    assert meta["kind"] == kind and not model.training
    codes = model.encode(torch.from_numpy(rec["inputs"]))
    np.testing.assert_array_equal(codes.numpy(), rec["codes"])
    assert len(np.unique(rec["codes"])) > 1  # the fixture exercises the codebook, not one code
    with torch.no_grad():
        decoded = model.decode(codes, temperature=0.0) if kind == "video-global" else model.decode(codes)
    np.testing.assert_allclose(decoded.numpy(), rec["decoded"], rtol=1e-5, atol=1e-4)
