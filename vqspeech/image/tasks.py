"""Training tasks of the image kinds (the :class:`vqspeech.train.task.Task` protocol)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vqspeech.device import pick_device
from vqspeech.errors import InputError
from vqspeech.image.config import (
    IMAGE_PRIOR,
    IMAGE_VAE,
    IMAGE_VQVAE,
    ImageMeta,
    ImagePriorConfig,
    ImageVAEConfig,
    ImageVQVAEConfig,
)
from vqspeech.image.data import ImageSet, load_images
from vqspeech.image.eval import evaluate_vae, evaluate_vqvae, metrics_only, save_grid, vqvae_bound
from vqspeech.image.models import ImageVAE, ImageVQVAE, build_prior

FloatStats = dict[str, float]


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def build_vqvae(config: ImageVQVAEConfig, meta: dict[str, Any] | None = None) -> ImageVQVAE:
    """The VQ-VAE of a recipe (``meta`` unused: everything is in the config)."""
    return ImageVQVAE(config.model, config.quantizer, config.data.image_size)


def build_vae(config: ImageVAEConfig, meta: dict[str, Any] | None = None) -> ImageVAE:
    return ImageVAE(config.model, config.data.image_size)


def build_prior_model(config: ImagePriorConfig, meta: dict[str, Any]) -> nn.Module:
    """The prior needs ``num_codes`` and ``classes`` of its VQ-VAE, from checkpoint metadata."""
    m = ImageMeta.of(meta)
    return build_prior(config.model, m.num_codes, len(m.classes))


class _ImageTask:
    """Shared data handling: a seeded batch of training images, a fixed held-out subset."""

    kind = ""

    def __init__(self, config: Any, run_dir: Path, device: str | torch.device = "auto") -> None:
        """``device``: where the task encodes its corpus with a trained model (``--device``; a prior task's
        codes), by :func:`vqspeech.device.pick_device`."""
        self.config, self.run_dir = config, Path(run_dir)
        self.device = pick_device(device)
        self._train: ImageSet | None = None
        self._valid: tuple[np.ndarray, np.ndarray] | None = None

    def _load(self, split: str) -> ImageSet:
        d = self.config.data
        return load_images(d.root, split, layout=d.layout, image_size=d.image_size, resize=d.resize,
                           valid_fraction=d.valid_fraction, seed=self.config.train.seed)

    @property
    def train_set(self) -> ImageSet:
        if self._train is None:
            self._train = self._load("train")
            if len(self._train) == 0:
                raise InputError(f"{self.config.data.root}: no training images")
        return self._train

    def valid_set(self) -> tuple[np.ndarray, np.ndarray]:
        """``(uint8 [n, H, W, 3], labels [n])``: ``data.valid_images`` held-out images spread evenly over the
        held-out split (all of it when 0)."""
        if self._valid is None:
            s = self._load("test")
            n = len(s) if self.config.data.valid_images <= 0 else min(len(s), self.config.data.valid_images)
            idx = np.unique(np.linspace(0, len(s) - 1, n).round().astype(np.int64)) if n else np.zeros(0, np.int64)
            self._valid = (s.images(idx), s.labels[idx])
        return self._valid

    def describe(self) -> str:
        s = self.train_set
        return (f"{len(s)} training images of {s.size}x{s.size} in {len(s.classes)} classes from "
                f"{self.config.data.root}")

    def samples_per_batch(self) -> int:
        return self.config.train.batch_size

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        """``(uint8 [B, 3, H, W], labels [B])`` drawn with replacement; a function of ``seed`` only."""
        rng = np.random.default_rng(seed)
        s = self.train_set
        idx = rng.integers(0, len(s), self.config.train.batch_size)
        x = s.images(idx)
        if self.config.data.flip:
            flip = rng.random(len(idx)) < 0.5
            x[flip] = x[flip, :, ::-1]
        images = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
        return images, torch.from_numpy(s.labels[idx])

    def _meta(self, num_codes: int) -> dict[str, Any]:
        return ImageMeta(list(self.train_set.classes), self.config.data.image_size, num_codes).to_dict()


class ImageVQVAETask(_ImageTask):
    kind = IMAGE_VQVAE

    def build_model(self) -> nn.Module:
        return build_vqvae(self.config)

    def meta(self) -> dict[str, Any]:
        return self._meta(self.config.quantizer.num_codes)

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, FloatStats]:
        x = batch[0].to(_device_of(model))
        out = model(x)
        dims = x[0].numel()
        recon = out.nll.mean() / dims  # nats per sub-pixel (categorical) or mean squared error (mse)
        stats = {"vq_loss": float(out.vq_loss.detach()), "perplexity": float(out.perplexity),
                 "codes_used": float(out.codes_used)}
        if model.likelihood.kind == "categorical":
            stats["bits_per_dim_recon"] = float(recon.detach()) / np.log(2)
        else:
            stats["mse"] = float(recon.detach())
        return recon + out.vq_loss, stats

    def validate(self, model: nn.Module, device: torch.device) -> FloatStats:
        x, y = self.valid_set()
        return metrics_only(evaluate_vqvae(model, x, y, device=device, batch_size=self.config.train.batch_size))

    def final_report(self, model: nn.Module, device: torch.device) -> FloatStats:
        x, y = self.valid_set()
        res = evaluate_vqvae(model, x, y, device=device, batch_size=self.config.train.batch_size)
        k = min(32, len(x))
        save_grid(np.concatenate([x[:k], res["reconstructions"][:k]]), self.run_dir / "reconstructions.png")
        return metrics_only(res)


class ImageVAETask(_ImageTask):
    kind = IMAGE_VAE

    def build_model(self) -> nn.Module:
        return build_vae(self.config)

    def meta(self) -> dict[str, Any]:
        return self._meta(0)

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, FloatStats]:
        x = batch[0].to(_device_of(model))
        out = model(x)
        dims = x[0].numel()
        recon, kl = out.nll.mean() / dims, out.kl.mean() / dims
        stats = {"kl_bits_per_dim": float(kl.detach()) / np.log(2)}
        if model.likelihood.kind == "categorical":
            stats["recon_bits_per_dim"] = float(recon.detach()) / np.log(2)
            stats["neg_elbo_bits_per_dim"] = float((recon + kl).detach()) / np.log(2)
        else:
            stats["mse"] = float(recon.detach())
        return recon + kl, stats

    def validate(self, model: nn.Module, device: torch.device) -> FloatStats:
        x, _ = self.valid_set()
        return metrics_only(evaluate_vae(model, x, device=device, batch_size=self.config.train.batch_size))

    def final_report(self, model: nn.Module, device: torch.device) -> FloatStats:
        x, _ = self.valid_set()
        res = evaluate_vae(model, x, device=device, batch_size=self.config.train.batch_size)
        k = min(32, len(x))
        save_grid(np.concatenate([x[:k], res["reconstructions"][:k]]), self.run_dir / "reconstructions.png")
        return metrics_only(res)


class ImagePriorTask(_ImageTask):
    """The Gated PixelCNN prior, trained on the codes of ``data.root`` under the VQ-VAE ``data.vqvae`` (encoded
    once, held in memory and cached in the run dir by the VQ-VAE's sha256)."""

    kind = IMAGE_PRIOR

    def __init__(self, config: ImagePriorConfig, run_dir: Path, device: str | torch.device = "auto") -> None:
        super().__init__(config, run_dir, device)
        self._codes: np.ndarray | None = None
        self._vq: tuple[ImageVQVAE, ImageMeta, str] | None = None
        self._valid_codes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def vqvae(self) -> tuple[ImageVQVAE, ImageMeta, str]:
        """``(the VQ-VAE of data.vqvae, its metadata, its sha256)``, loaded once."""
        if self._vq is None:
            from vqspeech.io.atomic import sha256_file
            from vqspeech.registry import load_model

            path = self.config.data.vqvae
            if not path:
                raise InputError("image-prior: set data.vqvae to the VQ-VAE checkpoint whose codes it models")
            model, raw = load_model(path, expect=IMAGE_VQVAE)
            meta = ImageMeta.of(raw, str(path))
            if meta.image_size != self.config.data.image_size:
                raise InputError(f"{path}: the VQ-VAE takes {meta.image_size}x{meta.image_size} images but "
                                 f"data.image_size is {self.config.data.image_size}")
            self._vq = (model, meta, sha256_file(path))
        return self._vq

    def _encode(self, images: ImageSet | np.ndarray) -> np.ndarray:
        model = self.vqvae[0]
        dev = self.device
        model.to(dev)
        n = len(images)
        out = np.empty((n, *model.latent_shape), dtype=np.int16)
        for s in range(0, n, 256):
            idx = np.arange(s, min(n, s + 256))
            x = images.images(idx) if isinstance(images, ImageSet) else images[idx]
            xt = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).to(dev)
            out[idx] = model.encode(xt).cpu().numpy().astype(np.int16)
        model.cpu()
        return out

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            sha = self.vqvae[2]
            cache = self.run_dir / f"codes-{sha[:16]}.npy"
            if cache.exists():
                self._codes = np.load(cache)
            else:
                self._codes = self._encode(self.train_set)
                self.run_dir.mkdir(parents=True, exist_ok=True)
                np.save(cache, self._codes)
        return self._codes

    def build_model(self) -> nn.Module:
        return build_prior_model(self.config, self.meta())

    def meta(self) -> dict[str, Any]:
        model, meta, sha = self.vqvae
        return ImageMeta(list(meta.classes), meta.image_size, meta.num_codes, list(model.latent_shape),
                         str(self.config.data.vqvae), sha).to_dict()

    def describe(self) -> str:
        c = self.codes
        return f"{len(c)} code maps of {c.shape[1]}x{c.shape[2]} (K = {self.vqvae[1].num_codes}) " \
               f"from {self.config.data.root}"

    def samples_per_batch(self) -> int:
        return self.config.train.batch_size

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        """``(codes [B, h, w*m] long, labels [B])``."""
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(self.codes), self.config.train.batch_size)
        return torch.from_numpy(self.codes[idx].astype(np.int64)), torch.from_numpy(self.train_set.labels[idx])

    def _labels(self, model: nn.Module, y: torch.Tensor) -> torch.Tensor | None:
        return y if getattr(model, "num_classes", 0) > 0 else None

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, FloatStats]:
        dev = _device_of(model)
        codes, y = batch[0].to(dev), batch[1].to(dev)
        nll = model.nll(codes, self._labels(model, y)).mean() / codes[0].numel()
        return nll, {"bits_per_code": float(nll.detach()) / np.log(2)}

    def _held_out_codes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Held-out ``(codes, labels, -ln p(x|z_q) per image)`` under the VQ-VAE (computed once)."""
        if self._valid_codes is None:
            x, y = self.valid_set()
            res = evaluate_vqvae(self.vqvae[0], x, y, device=self.device)
            nll_x = res["recon_bits_per_dim"] if "recon_bits_per_dim" in res else float("nan")
            self._valid_codes = (res["codes"], y, np.full(len(y), nll_x))
        return self._valid_codes

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> FloatStats:
        codes, y, recon_bpd = self._held_out_codes()
        was = model.training
        model.eval()
        nll = []
        for s in range(0, len(codes), self.config.train.batch_size):
            c = torch.from_numpy(codes[s : s + self.config.train.batch_size]).long().to(device)
            lab = torch.from_numpy(y[s : s + len(c)]).to(device)
            nll.append(model.nll(c, self._labels(model, lab)).double().cpu())
        model.train(was)
        vq = self.vqvae[0]
        dims = 3 * vq.image_size**2
        prior_nll = torch.cat(nll)
        res = vqvae_bound(torch.zeros(len(codes)), vq.num_latents, vq.num_codes, dims, prior_nll)
        out = {"prior_bits_per_code": res["prior_bits_per_code"], "prior_bits_per_dim": res["prior_bits_per_dim"],
               "uniform_prior_bits_per_dim": res["uniform_prior_bits_per_dim"]}
        if np.isfinite(recon_bpd).all():
            out["recon_bits_per_dim"] = float(recon_bpd[0])
            out["bits_per_dim_prior"] = float(recon_bpd[0]) + res["prior_bits_per_dim"]
            out["bits_per_dim_uniform"] = float(recon_bpd[0]) + res["uniform_prior_bits_per_dim"]
        return out

    def final_report(self, model: nn.Module, device: torch.device) -> FloatStats:
        return self.validate(model, device)
