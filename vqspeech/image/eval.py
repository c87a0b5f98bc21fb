"""Image evaluation: bits/dim, PSNR, codes used, PNG grids.

bits/dim of a discrete model of ``D = 3 H W`` sub-pixels is ``nats / (D ln 2)`` per image, averaged over images.

* VQ-VAE bound (section 4.1): ``[-ln p(x | z_q) - ln p(z_q)] / (D ln 2)``; with the uniform prior
  ``-ln p(z_q) = N_z ln K`` (an 8x8x10 map at K = 512 contributes ``640 * 9 / 3072 = 1.875`` bits/dim);
  with a learned prior, its negative log-likelihood of the codes.  ``ln K`` is *added* (it is a cost), and
  since the decoder is a 256-way softmax over the discrete values, no ``ln 256`` bin-width term enters.
* Continuous VAE: the negative ELBO ``E_q[-ln p(x | z)] + KL(q(z | x) || p(z))``, KL included.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech.device import pick_device
from vqspeech.image.models import ImageVAE, ImageVQVAE
from vqspeech.models.pixels import to_uint8

LN2 = math.log(2.0)


def bits_per_dim(nats: torch.Tensor | float, dims: int) -> float:
    """Mean over images of ``nats / (dims ln 2)`` (``nats``: per image)."""
    t = torch.as_tensor(nats, dtype=torch.float64)
    return float(t.mean() / (dims * LN2))


def uniform_prior_nats(num_latents: int, num_codes: int) -> float:
    """``-ln p(z)`` of any code map under the uniform prior: ``N_z ln K``."""
    return num_latents * math.log(num_codes)


def vqvae_bound(nll_x: torch.Tensor, num_latents: int, num_codes: int, dims: int,
                prior_nll: torch.Tensor | None = None) -> dict[str, float]:
    """The VQ-VAE's bits/dim terms from per-image ``nll_x`` (nats) and, optionally, the prior's per-image NLL."""
    out = {
        "recon_bits_per_dim": bits_per_dim(nll_x, dims),
        "uniform_prior_bits_per_dim": uniform_prior_nats(num_latents, num_codes) / (dims * LN2),
    }
    out["bits_per_dim_uniform"] = out["recon_bits_per_dim"] + out["uniform_prior_bits_per_dim"]
    if prior_nll is not None:
        out["prior_bits_per_dim"] = bits_per_dim(prior_nll, dims)
        out["prior_bits_per_code"] = bits_per_dim(prior_nll, num_latents)
        out["bits_per_dim_prior"] = out["recon_bits_per_dim"] + out["prior_bits_per_dim"]
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the per-image PSNR (dB) of ``uint8 [N, H, W, 3]`` arrays (peak 255)."""
    d = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = d.reshape(len(a), -1).mean(1)
    return float(np.mean(10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))))


def _batches(n: int, size: int):
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))


def _nchw(images: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous().to(device)


@torch.no_grad()
def evaluate_vqvae(model: ImageVQVAE, images: np.ndarray, labels: np.ndarray | None = None, prior: Any = None,
                   *, batch_size: int = 64, device: str | torch.device = "cpu") -> dict[str, Any]:
    """bits/dim (uniform and, with ``prior``, learned), PSNR and codes used on ``uint8 [N, H, W, 3]`` images.

    Returns the metrics plus ``reconstructions`` (``uint8 [N, H, W, 3]``) and ``codes`` (``[N, h, w*m]``).
    """
    device = pick_device(device)
    was = model.training
    model.eval().to(device)
    nll, prior_nll, recon, codes = [], [], [], []
    for sl in _batches(len(images), batch_size):
        x = _nchw(images[sl], device)
        out = model(x)
        nll.append(out.nll.double().cpu())
        codes.append(out.codes.cpu())
        recon.append(to_uint8(model.likelihood.mean(out.out)).permute(0, 2, 3, 1).cpu().numpy())
        if prior is not None:
            lab = None
            if getattr(prior, "num_classes", 0) > 0:
                lab = torch.as_tensor(labels[sl], dtype=torch.long, device=device)
            prior_nll.append(prior.to(device).eval().nll(out.codes, lab).double().cpu())
    model.train(was)
    n_x = torch.cat(nll)
    all_codes = torch.cat(codes)
    rec = np.concatenate(recon)
    dims = int(np.prod(images.shape[1:]))
    res: dict[str, Any] = {"images": len(images), "dims": dims, "num_codes": model.num_codes,
                           "num_latents": model.num_latents}
    if model.likelihood.kind == "categorical":
        res.update(vqvae_bound(n_x, model.num_latents, model.num_codes, dims,
                               torch.cat(prior_nll) if prior is not None else None))
    else:
        res["mse"] = float(n_x.mean() / dims)
        if prior is not None:
            res["prior_bits_per_code"] = bits_per_dim(torch.cat(prior_nll), model.num_latents)
    counts = torch.bincount(all_codes.flatten(), minlength=model.num_codes).double()
    p = counts / counts.sum()
    res["codes_used"] = int((counts > 0).sum())
    res["code_perplexity"] = float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))
    res["psnr"] = psnr(images, rec)
    res["reconstructions"], res["codes"] = rec, all_codes.numpy()
    return res


@torch.no_grad()
def evaluate_vae(model: ImageVAE, images: np.ndarray, *, batch_size: int = 64, device: str | torch.device = "cpu",
                 seed: int = 0) -> dict[str, Any]:
    """The continuous VAE's negative ELBO in bits/dim (its reconstruction and KL terms beside it) and PSNR of the
    posterior-mean reconstruction; one seeded posterior sample per image."""
    device = pick_device(device)
    was = model.training
    model.eval().to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    nll, kl, recon = [], [], []
    for sl in _batches(len(images), batch_size):
        x = _nchw(images[sl], device)
        out = model(x, sample=True, generator=gen)
        nll.append(out.nll.double().cpu())
        kl.append(out.kl.double().cpu())
        mean = model(x, sample=False)
        recon.append(to_uint8(model.likelihood.mean(mean.out)).permute(0, 2, 3, 1).cpu().numpy())
    model.train(was)
    dims = int(np.prod(images.shape[1:]))
    n_x, k = torch.cat(nll), torch.cat(kl)
    rec = np.concatenate(recon)
    res: dict[str, Any] = {"images": len(images), "dims": dims}
    if model.likelihood.kind == "categorical":
        res["recon_bits_per_dim"] = bits_per_dim(n_x, dims)
        res["kl_bits_per_dim"] = bits_per_dim(k, dims)
        res["neg_elbo_bits_per_dim"] = bits_per_dim(n_x + k, dims)
    else:
        res["mse"] = float(n_x.mean() / dims)
        res["kl_bits_per_dim"] = bits_per_dim(k, dims)
    res["psnr"] = psnr(images, rec)
    res["reconstructions"] = rec
    return res


def save_grid(images: np.ndarray, path: str | Path, ncol: int = 8, pad: int = 2, scale: int = 1) -> Path:
    """Tile ``uint8 [N, H, W, 3]`` images into one PNG (Pillow), ``ncol`` per row, white gaps."""
    from PIL import Image

    from vqspeech.io.atomic import atomic_write

    n, h, w, _ = images.shape
    ncol = max(1, min(ncol, n))
    nrow = -(-n // ncol)
    grid = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = images[i]
    img = Image.fromarray(grid)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    return path


def metrics_only(res: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of an evaluation result (arrays dropped)."""
    return {k: v for k, v in res.items() if isinstance(v, int | float)}
