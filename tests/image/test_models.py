from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.image.conftest import SMALL_DATA, TINY_MODEL, TINY_QUANT, make_config, save, train_steps
from vqspeech.image.config import IMAGE_VQVAE, ImageModelConfig, ImageVAEConfig, ImageVQVAEConfig, VAEModelConfig
from vqspeech.image.eval import evaluate_vae, evaluate_vqvae, uniform_prior_nats, vqvae_bound
from vqspeech.image.models import ImageVAE, ImageVQVAE, from_map, gaussian_kl, to_map
from vqspeech.image.tasks import ImageVAETask, ImageVQVAETask
from vqspeech.registry import load_model
from vqspeech.train.recipe import QuantizerConfig

TINY = ImageModelConfig(hidden=16, res_hidden=8, res_blocks=1)


def test_paper_architecture_shapes() -> None:
    m = ImageVQVAE(ImageModelConfig(), QuantizerConfig(num_codes=512, dim=64), 32)
    convs = [c for c in m.encoder.net.convs if isinstance(c, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.out_channels) for c in convs[:2]] == [((4, 4), (2, 2), 256)] * 2
    assert len(m.encoder.net.res.blocks) == 2 and m.encoder.net.res.blocks[0].conv3.kernel_size == (3, 3)
    assert m.encoder.net.res.blocks[0].conv1.kernel_size == (1, 1)
    assert m.latent_shape == (8, 8)
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    out = m(x)
    assert out.out.shape == (2, 3 * 256, 32, 32) and out.codes.shape == (2, 8, 8) and out.nll.shape == (2,)
    # section 3.2's 8x8x10 field: 10 codes per position, laid side by side
    m10 = ImageVQVAE(ImageModelConfig(hidden=16, res_hidden=8, res_blocks=1, latents_per_position=10),
                     QuantizerConfig(num_codes=512, dim=4), 32)
    codes = m10.encode(x)
    assert codes.shape == (2, 8, 80) and m10.num_latents == 640
    assert m10.decode(codes).shape == (2, 3, 32, 32)
    # imagenet: 128x128 -> 32x32
    assert ImageVQVAE(TINY, QuantizerConfig(num_codes=512, dim=4), 128).latent_shape == (32, 32)


def test_pointwise_output_head() -> None:
    """``out_hidden``: the last transposed convolution narrows to it and a 1x1 convolution writes the logits;
    it starts at the uniform distribution and the likelihood equals a plain cross-entropy over the levels."""
    torch.manual_seed(0)
    m = ImageVQVAE(ImageModelConfig(hidden=16, res_hidden=8, res_blocks=1, out_hidden=12),
                   QuantizerConfig(num_codes=16, dim=4), 16)
    assert m.decoder.net.deconvs[-1].out_channels == 12 and m.decoder.net.last.kernel_size == (1, 1)
    x = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    out = m(x)
    assert out.out.shape == (2, 768, 16, 16)
    assert out.nll.tolist() == pytest.approx([3 * 256 * math.log(256)] * 2)
    torch.nn.init.normal_(m.decoder.net.last.weight)
    out = m(x)
    ref = torch.nn.functional.cross_entropy(out.out.view(2, 3, 256, 16, 16).transpose(1, 2), x.long(),
                                            reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(out.nll, ref)
    out.nll.sum().backward()
    assert m.encoder.net.proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="out_hidden"):
        ImageVQVAE(ImageModelConfig(hidden=16, res_hidden=8, res_blocks=1, out_hidden=-1),
                   QuantizerConfig(num_codes=16, dim=4), 16)


def test_latent_map_layout_round_trips() -> None:
    m = ImageVQVAE(ImageModelConfig(hidden=16, res_hidden=8, res_blocks=1, latents_per_position=3),
                   QuantizerConfig(num_codes=8, dim=4), 16)
    z = torch.randn(2, 12, 4, 4)
    assert torch.equal(from_map(to_map(z, m.m), m.m), z)
    # the m codes of position (i, j) are its channels [k*D:(k+1)*D], at columns j*m + k
    assert torch.equal(to_map(z, m.m)[:, :, 1, 2 * 3 + 1], z[:, 4:8, 1, 2])
    assert m.latent_shape == (4, 12) and m.encode(torch.zeros(1, 3, 16, 16, dtype=torch.uint8)).shape == (1, 4, 12)


def _zero_decoder(m: torch.nn.Module) -> None:
    last = getattr(m.decoder, "net", m.decoder).last  # a VQ-VAE's decoder wraps the network
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)


def test_bits_per_dim_against_hand_computation() -> None:
    torch.manual_seed(0)
    m = ImageVQVAE(TINY, QuantizerConfig(num_codes=512, dim=4), 32)
    _zero_decoder(m)
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    res = evaluate_vqvae(m, x)
    # uniform logits over 256 values: exactly 8 bits per sub-pixel, no extra ln 256 bin term
    assert res["recon_bits_per_dim"] == pytest.approx(8.0, abs=1e-5)
    # uniform prior: N_z log2 K / 3072 = 64 * 9 / 3072, added (not subtracted)
    assert res["uniform_prior_bits_per_dim"] == pytest.approx(64 * 9 / 3072)
    assert res["bits_per_dim_uniform"] == pytest.approx(8.0 + 0.1875)
    # the paper's 8x8x10 field at K = 512 costs 1.875 bits/dim by itself
    assert uniform_prior_nats(640, 512) / (3072 * math.log(2)) == pytest.approx(1.875)

    # a decoder that puts logit L on value 0: -ln p(0) = ln(e^L + 255) - L per sub-pixel
    big = 3.0
    last = m.decoder.net.last
    with torch.no_grad():
        last.bias.view(3, 256)[:, 0] = big
    zeros = np.zeros((2, 32, 32, 3), np.uint8)
    res = evaluate_vqvae(m, zeros)
    per_dim = (math.log(math.exp(big) + 255) - big) / math.log(2)
    assert res["recon_bits_per_dim"] == pytest.approx(per_dim, rel=1e-5)
    # a learned prior's NLL replaces N_z ln K, and nats are averaged over images (not summed)
    b = vqvae_bound(torch.tensor([3072 * math.log(2), 3 * 3072 * math.log(2)]), 64, 512, 3072,
                    prior_nll=torch.tensor([64 * math.log(2), 64 * math.log(2)]))
    assert b["recon_bits_per_dim"] == pytest.approx(2.0)
    assert b["prior_bits_per_code"] == pytest.approx(1.0)
    assert b["bits_per_dim_prior"] == pytest.approx(2.0 + 64 / 3072)


def test_vae_elbo_closed_form() -> None:
    # KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - 1 - ln s^2) / 2 per dimension
    mu, logvar = torch.full((1, 5), 0.5), torch.full((1, 5), math.log(0.25))
    assert float(gaussian_kl(mu, logvar)[0]) == pytest.approx(5 * 0.5 * (0.25 + 0.25 - 1 - math.log(0.25)))
    torch.manual_seed(0)
    vae = ImageVAE(VAEModelConfig(hidden=16, res_hidden=8, res_blocks=1, latent_dim=4), 32)
    _zero_decoder(vae)
    proj = vae.encoder.proj
    torch.nn.init.zeros_(proj.weight)
    with torch.no_grad():  # mu = 0.5, logvar = ln 0.25 at every latent
        proj.bias[:4] = 0.5
        proj.bias[4:] = math.log(0.25)
    x = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    res = evaluate_vae(vae, x)
    kl_bpd = 4 * 8 * 8 * 0.5 * (0.25 + 0.25 - 1 - math.log(0.25)) / (3072 * math.log(2))
    assert res["kl_bits_per_dim"] == pytest.approx(kl_bpd, rel=1e-5)
    assert res["recon_bits_per_dim"] == pytest.approx(8.0)
    assert res["neg_elbo_bits_per_dim"] == pytest.approx(8.0 + kl_bpd, rel=1e-5)  # KL included


def test_tiny_vqvae_overfits_and_round_trips(small_folder: Path, tmp_path: Path) -> None:
    cfg = make_config(ImageVQVAEConfig, {
        "data": {"root": str(small_folder), **SMALL_DATA}, "model": TINY_MODEL,
        "quantizer": TINY_QUANT, "train": {"batch_size": 8}})
    task = ImageVQVAETask(cfg, tmp_path)
    assert len(task.train_set) == 9  # 12 images, a seeded quarter held out
    model, losses = train_steps(task, 40, lr=5e-3)
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < first - 1.0, (first, last)  # nats per sub-pixel: from ~ln 256 = 5.5 down by a clear margin
    stats = task.validate(model, torch.device("cpu"))
    assert stats["bits_per_dim_uniform"] > stats["recon_bits_per_dim"] > 0 and stats["codes_used"] >= 1
    xt = torch.from_numpy(task.train_set.images(range(len(task.train_set)))).permute(0, 3, 1, 2)
    assert len(model.encode(xt).unique()) >= 2
    assert task.meta()["classes"] == task.train_set.classes and task.meta()["num_codes"] == 16
    path = save(task, model, tmp_path / "vq.safetensors")
    loaded, meta = load_model(path, expect=IMAGE_VQVAE)
    x = torch.from_numpy(task.valid_set()[0]).permute(0, 3, 1, 2)
    assert torch.equal(loaded.encode(x), model.encode(x))
    assert meta["image_size"] == 16


def test_vae_task_trains_and_reports_kl(small_folder: Path, tmp_path: Path) -> None:
    cfg = make_config(ImageVAEConfig, {"data": {"root": str(small_folder), **SMALL_DATA},
                                       "model": {**TINY_MODEL, "latent_dim": 4}, "train": {"batch_size": 8}})
    task = ImageVAETask(cfg, tmp_path)
    model, losses = train_steps(task, 30, lr=5e-3)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    stats = task.final_report(model, torch.device("cpu"))
    assert stats["kl_bits_per_dim"] > 0
    assert stats["neg_elbo_bits_per_dim"] == pytest.approx(stats["recon_bits_per_dim"] + stats["kl_bits_per_dim"])
    assert (tmp_path / "reconstructions.png").exists()
    loaded, _ = load_model(save(task, model, tmp_path / "vae.safetensors"))
    assert isinstance(loaded, ImageVAE)


@pytest.mark.parametrize("name", ["cifar10", "cifar10_vae", "cifar10_prior", "imagenet", "imagenet_prior",
                                  "images_demo", "images_demo_vae", "images_demo_prior"])
def test_recipes_validate(name: str) -> None:
    from vqspeech.registry import get
    from vqspeech.train.recipe import build, read_yaml

    raw = read_yaml(f"recipes/{name}.yaml")
    cfg = build(get(raw["task"]).config, raw, name)
    if raw["task"] != "image-prior":
        get(raw["task"]).build(cfg, {})  # the model builds from the recipe alone


def test_frozen_codes_train_the_decoder_only() -> None:
    """The shell's two-stage switch (``train.freeze_codes_after``) holds for the image family too: after
    ``freeze_codes`` no gradient reaches the encoder or codebook and the decoder still learns."""
    torch.manual_seed(0)
    m = ImageVQVAE(TINY, QuantizerConfig(num_codes=16, dim=4), 32).train()
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32), dtype=np.uint8))
    m(x).nll.mean().backward()
    assert any(p.grad is not None for p in m.encoder.parameters())  # off when off
    m.zero_grad(set_to_none=True)
    m.freeze_codes()
    m.train()
    out = m(x)
    (out.nll.mean() + out.vq_loss).backward()
    assert all(p.grad is None for p in [*m.encoder.parameters(), *m.quantizer.parameters()])
    assert all(p.grad is not None for p in m.decoder.parameters())
    assert not m.encoder.training and m.decoder.training
