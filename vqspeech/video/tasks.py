"""Training tasks of the video kinds (the :class:`vqspeech.train.task.Task` protocol)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vqspeech.device import pick_device
from vqspeech.errors import InputError
from vqspeech.video.config import (
    VIDEO_GLOBAL,
    VIDEO_PRIOR,
    VIDEO_VQVAE,
    VideoGlobalConfig,
    VideoMeta,
    VideoPriorConfig,
    VideoVQVAEConfig,
)
from vqspeech.video.data.episodes import FrameStore, load_store
from vqspeech.video.models import FrameVQVAE, GlobalVQVAE, VideoPrior

FloatStats = dict[str, float]


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _nchw(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).contiguous()


def build_vqvae(config: VideoVQVAEConfig, meta: dict[str, Any] | None = None) -> FrameVQVAE:
    """The frame VQ-VAE of a recipe (``meta`` unused)."""
    return FrameVQVAE(config.model, config.quantizer, config.data.frame_size)


def build_prior(config: VideoPriorConfig, meta: dict[str, Any]) -> VideoPrior:
    """The prior needs ``num_codes``, the action names and the latent shape, from checkpoint metadata."""
    m = VideoMeta.of(meta)
    return VideoPrior(config.model, m.num_codes, len(m.actions), m.latent_shape)


def build_global(config: VideoGlobalConfig, meta: dict[str, Any]) -> GlobalVQVAE:
    """The second stage needs the frame VQ-VAE's ``frame_num_codes`` and ``frame_latent_shape`` (metadata)."""
    m = VideoMeta.of(meta)
    return GlobalVQVAE(config.model, config.quantizer, m.frame_num_codes, m.frame_latent_shape)


class _VideoTask:
    kind = ""

    def __init__(self, config: Any, run_dir: Path, device: str | torch.device = "auto") -> None:
        """``device``: where the task encodes its corpus with a trained model (``--device``; a prior task's
        codes), by :func:`vqspeech.device.pick_device`."""
        self.config, self.run_dir = config, Path(run_dir)
        self.device = pick_device(device)
        self._train: FrameStore | None = None
        self._valid: FrameStore | None = None

    def _load(self, split: str, max_episodes: int) -> FrameStore:
        d = self.config.data
        store = load_store(d.root, split, cache_dir=self.run_dir / "cache" if d.cache else None,
                           max_episodes=max_episodes)
        if store.frames.shape[1] != d.frame_size:
            raise InputError(f"{d.root}: frames are {store.frames.shape[1]}x{store.frames.shape[2]} but "
                             f"data.frame_size is {d.frame_size}")
        return store

    @property
    def train_set(self) -> FrameStore:
        if self._train is None:
            self._train = self._load("train", self.config.data.max_episodes)
        return self._train

    @property
    def valid_set(self) -> FrameStore:
        if self._valid is None:
            self._valid = self._load("test", max(1, self.config.data.valid_episodes))
        return self._valid

    def describe(self) -> str:
        s = self.train_set
        return (f"{s.num_episodes} training episodes, {len(s.frames)} frames of {s.frames.shape[1]}x"
                f"{s.frames.shape[2]}, {len(s.action_names)} actions, from {self.config.data.root}")


class VideoVQVAETask(_VideoTask):
    """The frame VQ-VAE: random frames of the training episodes."""

    kind = VIDEO_VQVAE

    def build_model(self) -> nn.Module:
        return build_vqvae(self.config)

    def meta(self) -> dict[str, Any]:
        m = build_vqvae(self.config)
        return VideoMeta(list(self.train_set.action_names), self.config.data.frame_size,
                         self.config.quantizer.num_codes, list(m.latent_shape)).to_dict()

    def samples_per_batch(self) -> int:
        return self.config.train.batch_size

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        """``(uint8 [B, 3, H, W],)``: frames drawn with replacement; a function of ``seed`` only."""
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.integers(0, len(self.train_set.frames), self.config.train.batch_size))
        return (_nchw(self.train_set.frames[idx]),)

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, FloatStats]:
        out = model(batch[0].to(_device_of(model)))
        stats = {"mse": float(out.mse.detach()), "vq_loss": float(out.vq_loss.detach()),
                 "perplexity": float(out.perplexity), "codes_used": float(out.codes_used)}
        return out.mse + out.vq_loss, stats

    def _valid_frames(self, n: int = 64) -> np.ndarray:
        f = self.valid_set.frames
        idx = np.unique(np.linspace(0, len(f) - 1, min(n, len(f))).round().astype(np.int64))
        return np.asarray(f[idx])

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> FloatStats:
        from vqspeech.video.eval import psnr
        from vqspeech.video.inference import decode_frames, encode_frames

        x = self._valid_frames()
        codes = encode_frames(model, x, device=device)
        rec = decode_frames(model, codes, device=device)
        return {"valid_psnr": psnr(rec, x), "valid_codes_used": float(len(np.unique(codes)))}

    def final_report(self, model: nn.Module, device: torch.device) -> FloatStats:
        from PIL import Image

        from vqspeech.video.inference import decode_frames, encode_frames

        res = self.validate(model, device)
        x = self._valid_frames(8)
        rec = decode_frames(model, encode_frames(model, x, device=device), device=device)
        Image.fromarray(np.concatenate([np.concatenate(list(x), 1), np.concatenate(list(rec), 1)], 0)).save(
            self.run_dir / "reconstructions.png")
        return res


class VideoPriorTask(_VideoTask):
    """The action-conditioned prior, trained on windows of the training episodes' codes under the frame VQ-VAE
    ``data.vqvae`` (encoded once and cached in the run dir by the VQ-VAE's sha256)."""

    kind = VIDEO_PRIOR

    def __init__(self, config: VideoPriorConfig, run_dir: Path, device: str | torch.device = "auto") -> None:
        super().__init__(config, run_dir, device)
        self._vq: tuple[FrameVQVAE, VideoMeta, str] | None = None
        self._codes: np.ndarray | None = None
        self._valid_codes: np.ndarray | None = None

    @property
    def vqvae(self) -> tuple[FrameVQVAE, VideoMeta, str]:
        """``(the frame VQ-VAE of data.vqvae, its metadata, its sha256)``, loaded once."""
        if self._vq is None:
            from vqspeech.io.atomic import sha256_file
            from vqspeech.registry import load_model

            path = self.config.data.vqvae
            if not path:
                raise InputError("video-prior: set data.vqvae to the frame VQ-VAE checkpoint whose codes it models")
            model, raw = load_model(path, expect=VIDEO_VQVAE)
            meta = VideoMeta.of(raw, str(path))
            if meta.frame_size != self.config.data.frame_size:
                raise InputError(f"{path}: the VQ-VAE takes {meta.frame_size}x{meta.frame_size} frames but "
                                 f"data.frame_size is {self.config.data.frame_size}")
            self._vq = (model, meta, sha256_file(path))
        return self._vq

    def _encode(self, store: FrameStore, name: str) -> np.ndarray:
        from vqspeech.video.inference import encode_frames

        sha = self.vqvae[2]
        cache = self.run_dir / "cache" / f"codes-{name}-{sha[:16]}-{len(store.frames)}.npy"
        if cache.exists():
            return np.load(cache)
        codes = encode_frames(self.vqvae[0], store.frames, device=self.device).astype(np.int16)
        self.vqvae[0].cpu()
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, codes)
        return codes

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = self._encode(self.train_set, "train")
            w = self.config.data.window
            if self.train_set.lengths().max() < w:
                raise InputError(f"{self.config.data.root}: no training episode has data.window = {w} frames")
        return self._codes

    def build_model(self) -> nn.Module:
        return build_prior(self.config, self.meta())

    def meta(self) -> dict[str, Any]:
        model, meta, sha = self.vqvae
        names = list(self.train_set.action_names)
        if len(meta.actions) > len(names):
            names = list(meta.actions)
        return VideoMeta(names, meta.frame_size, meta.num_codes, list(model.latent_shape), str(self.config.data.vqvae),
                         sha, context_frames=self.config.model.context_frames).to_dict()

    def describe(self) -> str:
        c = self.codes
        return (f"{self.train_set.num_episodes} episodes, {len(c)} code maps of {c.shape[1]}x{c.shape[2]} "
                f"(K = {self.vqvae[1].num_codes}), windows of {self.config.data.window} frames, "
                f"{len(VideoMeta.of(self.meta()).actions)} actions, from {self.config.data.root}")

    def samples_per_batch(self) -> int:
        return self.config.train.batch_size * self.config.data.window

    def _windows(self, store: FrameStore, codes: np.ndarray, starts: list[tuple[int, int]]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.config.data.window
        c = np.stack([codes[store.starts[e] + s : store.starts[e] + s + w] for e, s in starts])
        a = np.stack([store.actions[store.starts[e] + s : store.starts[e] + s + w] for e, s in starts])
        return torch.from_numpy(c.astype(np.int64)), torch.from_numpy(a.astype(np.int64))

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        """``(codes [B, W, h, w], actions [B, W])``: random windows; in a share ``model.action_dropout`` of them
        the actions are withheld (``-1``).  A function of ``seed`` only."""
        rng = np.random.default_rng(seed)
        store, w = self.train_set, self.config.data.window
        codes = self.codes
        ok = np.flatnonzero(store.lengths() >= w)
        eps = ok[rng.integers(0, len(ok), self.config.train.batch_size)]
        starts = [(int(e), int(rng.integers(0, store.lengths()[e] - w + 1))) for e in eps]
        c, a = self._windows(store, codes, starts)
        drop = torch.from_numpy(rng.random(len(eps)) < self.config.model.action_dropout)
        a[drop] = -1
        return c, a

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, FloatStats]:
        dev = _device_of(model)
        codes, actions = batch[0].to(dev), batch[1].to(dev)
        nll = model.nll(codes, actions).mean() / codes[0, 0].numel()
        return nll, {"bits_per_code": float(nll.detach()) / np.log(2)}

    def _held_out(self) -> tuple[torch.Tensor, torch.Tensor]:
        store = self.valid_set
        if self._valid_codes is None:
            self._valid_codes = self._encode(store, "test")
        w = self.config.data.window
        starts = [(e, s) for e in range(store.num_episodes) for s in range(0, int(store.lengths()[e]) - w + 1, w)]
        return self._windows(store, self._valid_codes, starts[:64])

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> FloatStats:
        codes, actions = self._held_out()
        if len(codes) == 0:
            return {}
        n = codes[0, 0].numel() * np.log(2)
        k = self.config.model.context_frames
        out: FloatStats = {}
        for name, a in (("valid_bits_per_code", actions), ("valid_bits_per_code_no_actions", torch.full_like(
                actions, -1))):
            nll = torch.cat([model.nll(codes[s : s + 8].to(device), a[s : s + 8].to(device)).cpu()
                             for s in range(0, len(codes), 8)])
            full = nll[:, k:] if nll.shape[1] > k else nll  # frames with a full context, where there are any
            out[name] = float(full.mean()) / n
        return out

    def final_report(self, model: nn.Module, device: torch.device) -> FloatStats:
        return self.validate(model, device)


class VideoGlobalTask(VideoPriorTask):
    """The two-stage model's second stage, trained on the code maps of random training frames (encoded once by
    the frame VQ-VAE ``data.vqvae`` and cached)."""

    kind = VIDEO_GLOBAL

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = self._encode(self.train_set, "train")
        return self._codes

    def build_model(self) -> nn.Module:
        return build_global(self.config, self.meta())

    def meta(self) -> dict[str, Any]:
        model, meta, sha = self.vqvae
        return VideoMeta(list(meta.actions), meta.frame_size, self.config.quantizer.num_codes,
                         vqvae_path=str(self.config.data.vqvae), vqvae_sha256=sha, latents=self.config.model.latents,
                         frame_num_codes=meta.num_codes, frame_latent_shape=list(model.latent_shape)).to_dict()

    def describe(self) -> str:
        c = self.codes
        return (f"{len(c)} frame code maps of {c.shape[1]}x{c.shape[2]} (K = {self.vqvae[1].num_codes}) -> "
                f"{self.config.model.latents} latents of K = {self.config.quantizer.num_codes}, from "
                f"{self.config.data.root}")

    def samples_per_batch(self) -> int:
        return self.config.train.batch_size

    def batch(self, seed: int) -> tuple[torch.Tensor, ...]:
        """``(codes [B, h, w],)``: code maps of random training frames."""
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(self.codes), self.config.train.batch_size)
        return (torch.from_numpy(self.codes[idx].astype(np.int64)),)

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, FloatStats]:
        codes = batch[0].to(_device_of(model))
        out = model(codes)
        nll = out.nll.mean() / codes[0].numel()
        return nll + out.vq_loss, {"bits_per_code": float(nll.detach()) / np.log(2),
                                   "vq_loss": float(out.vq_loss.detach()), "perplexity": float(out.perplexity),
                                   "codes_used": float(out.codes_used)}

    def _valid_maps(self, n: int = 64) -> np.ndarray:
        if self._valid_codes is None:
            self._valid_codes = self._encode(self.valid_set, "test")
        idx = np.unique(np.linspace(0, len(self._valid_codes) - 1, min(n, len(self._valid_codes))).round()
                        .astype(np.int64))
        return self._valid_codes[idx].astype(np.int64)

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> FloatStats:
        c = torch.from_numpy(self._valid_maps()).to(device)
        out = model(c)
        return {"valid_bits_per_code": float(out.nll.mean()) / (c[0].numel() * np.log(2)),
                "valid_latents_used": float(len(torch.unique(out.latents)))}

    def final_report(self, model: nn.Module, device: torch.device) -> FloatStats:
        """Adds the PSNR of frames rebuilt from their 3 latents alone (greedy PixelCNN decoding) vs the frame
        VQ-VAE's own reconstructions, and a grid (truth, frame VQ-VAE, from the latents)."""
        from PIL import Image

        from vqspeech.video.eval import psnr
        from vqspeech.video.inference import decode_frames

        res = self.validate(model, device)
        vq = self.vqvae[0]
        c = self._valid_maps(8)
        lat = model.encode(torch.from_numpy(c).to(device))
        rebuilt = model.decode(lat).cpu().numpy()
        a, b = decode_frames(vq, c), decode_frames(vq, rebuilt)
        res["psnr_from_latents_vs_vqvae"] = psnr(b, a)
        res["code_accuracy_from_latents"] = float((rebuilt == c).mean())
        Image.fromarray(np.concatenate([np.concatenate(list(a), 1), np.concatenate(list(b), 1)], 0)).save(
            self.run_dir / "global_reconstructions.png")
        return res


__all__ = ["VideoVQVAETask", "VideoPriorTask", "VideoGlobalTask", "build_vqvae", "build_prior", "build_global"]
