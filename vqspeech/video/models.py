"""Video models: the frame VQ-VAE (84x84 -> 21x21 codes, section 4.2) and the action-conditioned prior over frame
code maps through time (section 4.4's video model, which generates purely in latent space).

Frames enter as ``uint8 [B, 3, H, W]`` and are scaled to ``[-1, 1]``; the frame decoder outputs the pixel mean
(squared-error likelihood).  Episodes of codes are ``[B, T, h, w]``; ``actions[:, t]`` is taken after frame ``t``
and leads to frame ``t + 1``; action ``num_actions`` (:attr:`VideoPrior.no_action`) means "withheld".
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vqspeech.models.pixels import to_uint8, to_unit
from vqspeech.models.vqvae import VQVAE
from vqspeech.nn.conv import Decoder2d, Encoder2d
from vqspeech.nn.pixelcnn import GatedPixelCNN
from vqspeech.train.recipe import QuantizerConfig
from vqspeech.video.config import FrameModelConfig, GlobalModelConfig, VideoPriorModel


class FrameOutput(NamedTuple):
    """``recon``: ``[B, 3, H, W]`` in ``[-1, 1]`` units; ``mse``: scalar; ``codes``: ``[B, h, w]``; VQ statistics."""

    recon: torch.Tensor
    mse: torch.Tensor
    codes: torch.Tensor
    vq_loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor


class FrameEncoder(nn.Module):
    """``uint8 [B, 3, H, W]`` -> ``z_e [B, D, h, w]``."""

    def __init__(self, model: FrameModelConfig, dim: int) -> None:
        super().__init__()
        self.net = Encoder2d(3, model.hidden, dim, downsample=model.downsample, res_blocks=model.res_blocks,
                             res_hidden=model.res_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(to_unit(x))


class FrameDecoder(nn.Module):
    """``z_q [B, D, h, w]`` -> the pixel mean ``[B, 3, H, W]`` in ``[-1, 1]`` units (``forward``); ``nll(x, z_q)``
    -> the mean squared error against ``x`` (``uint8``) in those units (a Gaussian likelihood up to constants);
    ``generate(z_q)`` -> pixel values ``float [B, 3, H, W]`` in ``[0, 255]``."""

    def __init__(self, model: FrameModelConfig, dim: int) -> None:
        super().__init__()
        self.net = Decoder2d(dim, model.hidden, 3, upsample=model.downsample, res_blocks=model.res_blocks,
                             res_hidden=model.res_hidden)

    def forward(self, zq: torch.Tensor) -> torch.Tensor:
        return self.net(zq)

    def nll(self, x: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(zq).float(), to_unit(x))

    def generate(self, zq: torch.Tensor) -> torch.Tensor:
        return ((self(zq).float() + 1.0) * 127.5).clamp(0, 255)


class FrameVQVAE(VQVAE):
    """The frame VQ-VAE: the core shell with :class:`FrameEncoder` and :class:`FrameDecoder` injected.
    forward(x uint8 ``[B, 3, H, W]``) -> :class:`FrameOutput`; ``encode(x) -> [B, h, w]``; ``decode(codes) ->
    float [B, 3, H, W]`` in ``[0, 255]``.  0.3 checkpoints (bare ``encoder.*``/``decoder.*``) load unchanged."""

    KEY_RENAMES = (("encoder.", "encoder.net."), ("decoder.", "decoder.net."))

    def __init__(self, model: FrameModelConfig, quantizer: QuantizerConfig, frame_size: int) -> None:
        f = 2**model.downsample
        if frame_size % f:
            raise ValueError(f"frame_size {frame_size} is not a multiple of 2**downsample = {f}")
        super().__init__(FrameEncoder(model, quantizer.dim), quantizer.build(), FrameDecoder(model, quantizer.dim))
        self.frame_size, self.num_codes = frame_size, quantizer.num_codes
        self.latent_shape = (frame_size // f, frame_size // f)

    def forward(self, x: torch.Tensor) -> FrameOutput:  # type: ignore[override]
        vq = self.quantize(x)
        recon = self.decoder(vq.quantized)
        mse = F.mse_loss(recon.float(), to_unit(x))
        return FrameOutput(recon, mse, vq.codes, vq.loss, vq.perplexity, vq.codes_used)


class _ActionBlock(nn.Module):
    """``x + conv1x1(relu(dilated conv3x3(relu(x + action bias))))``, ``[B, C, h, w]``."""

    def __init__(self, channels: int, action_dim: int, dilation: int) -> None:
        super().__init__()
        self.act = nn.Linear(action_dim, channels)
        self.conv = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return x + self.out(torch.relu(self.conv(torch.relu(x + self.act(a)[:, :, None, None]))))


class VideoPrior(nn.Module):
    """An autoregressive model of episodes of code maps ``[B, T, h, w]`` given the actions ``[B, T]``.

    ``p(z_t | z_{t-K..t-1}, a_{t-1})`` for each frame, raster order inside a frame (a Gated PixelCNN whose every
    layer is conditioned on a map computed from the earlier frames and the action), so frame ``t``'s predictions
    never depend on frame ``t`` or later (except frame ``t``'s earlier codes in raster order) nor on actions
    ``a_t`` or later.  ``forward(codes, actions) -> logits [B, T, K, h, w]``; ``nll(codes, actions) -> [B, T]``
    nats per frame; :meth:`next_frame` draws one frame given the past.
    """

    def __init__(self, cfg: VideoPriorModel, num_codes: int, num_actions: int,
                 latent_shape: tuple[int, int] | list[int]) -> None:
        super().__init__()
        self.num_codes, self.num_actions = num_codes, num_actions
        self.context_frames = cfg.context_frames
        self.latent_shape = (int(latent_shape[0]), int(latent_shape[1]))
        c = cfg.channels
        self.frame_embed = nn.Embedding(num_codes + 1, c)  # + "no frame" before the episode starts
        self.action_embed = nn.Embedding(num_actions + 1, cfg.action_dim)  # + "withheld"
        self.cond_in = nn.Conv2d(cfg.context_frames * c, c, 1)
        self.pos = nn.Parameter(torch.zeros(1, c, *self.latent_shape))
        self.blocks = nn.ModuleList(_ActionBlock(c, cfg.action_dim, 2 ** (i % 4)) for i in range(cfg.cond_layers))
        self.spatial = cfg.pixelcnn_layers > 0
        if self.spatial:
            self.pixelcnn = GatedPixelCNN(num_codes, channels=c, layers=cfg.pixelcnn_layers, kernel=cfg.kernel,
                                          out_hidden=cfg.out_hidden, cond_channels=c)
        else:
            self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c, cfg.out_hidden, 1), nn.ReLU(),
                                      nn.Conv2d(cfg.out_hidden, num_codes, 1))

    @property
    def no_action(self) -> int:
        return self.num_actions

    def _actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Negative ids (withheld) -> :attr:`no_action`."""
        return torch.where(actions < 0, torch.full_like(actions, self.no_action), actions)

    def condition(self, past: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """``past``: ``[N, K, h, w]`` codes of the ``K = context_frames`` frames before (oldest first; ``num_codes``
        = no frame), ``action``: ``[N]`` the action after the last of them -> the map ``[N, C, h, w]``."""
        n, k, h, w = past.shape
        e = self.frame_embed(past).permute(0, 1, 4, 2, 3).reshape(n, k * self.frame_embed.embedding_dim, h, w)
        x = self.cond_in(e) + self.pos
        a = self.action_embed(self._actions(action))
        for b in self.blocks:
            x = b(x, a)
        return x

    def past_frames(self, codes: torch.Tensor) -> torch.Tensor:
        """``[B, T, h, w]`` -> for every frame the ``K`` frames before it, ``[B, T, K, h, w]``."""
        b, t, h, w = codes.shape
        k = self.context_frames
        pad = torch.full((b, k, h, w), self.num_codes, dtype=codes.dtype, device=codes.device)
        padded = torch.cat([pad, codes], 1)
        return torch.stack([padded[:, i : i + t] for i in range(k)], 2)

    def forward(self, codes: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        b, t, h, w = codes.shape
        prev = torch.cat([torch.full_like(actions[:, :1], self.no_action), actions[:, :-1]], 1)
        cond = self.condition(self.past_frames(codes).reshape(b * t, self.context_frames, h, w), prev.reshape(b * t))
        flat = codes.reshape(b * t, h, w)
        logits = self.pixelcnn(flat, cond=cond) if self.spatial else self.head(cond)
        return logits.view(b, t, self.num_codes, h, w)

    def nll(self, codes: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``-ln p(z_t | past, a_{t-1})`` per frame, ``[B, T]`` nats (summed over the ``h * w`` codes)."""
        logits = self.forward(codes, actions)
        b, t = codes.shape[:2]
        ce = F.cross_entropy(logits.float().flatten(0, 1), codes.flatten(0, 1), reduction="none")
        return ce.view(b, t, -1).sum(-1)

    @torch.no_grad()
    def next_frame(self, past: torch.Tensor, action: torch.Tensor, *, temperature: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw the next frame's codes ``[N, h, w]`` given ``past [N, K, h, w]`` and ``action [N]`` (temperature
        0: the most likely code at each position, in raster order)."""
        cond = self.condition(past, action)
        if self.spatial:
            return self.pixelcnn.sample(len(past), self.latent_shape, temperature=temperature, generator=generator,
                                        cond=cond)
        logits = self.head(cond).float()
        if temperature <= 0:
            return logits.argmax(1)
        probs = torch.softmax(logits / temperature, 1).permute(0, 2, 3, 1).reshape(-1, self.num_codes).cpu()
        pick = torch.multinomial(probs, 1, generator=generator)[:, 0]
        return pick.view(len(past), *self.latent_shape).to(past.device)


class GlobalOutput(NamedTuple):
    """``nll``: ``[B]`` nats per code map; ``latents``: ``[B, L]``; VQ statistics (scalars)."""

    nll: torch.Tensor
    latents: torch.Tensor
    vq_loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor


class GlobalEncoder(nn.Module):
    """A frame's code map ``[B, h, w]`` -> continuous global latents ``z_e [B, D, L]``."""

    def __init__(self, cfg: GlobalModelConfig, frame_codes: int, dim: int) -> None:
        super().__init__()
        c, self.num_latents = cfg.channels, cfg.latents
        self.embed = nn.Embedding(frame_codes, c)
        layers: list[nn.Module] = []
        for _ in range(cfg.encoder_layers):
            layers += [nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        self.to_latents = nn.Linear(c, cfg.latents * dim)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        x = self.convs(self.embed(codes).permute(0, 3, 1, 2)).mean((2, 3))
        return self.to_latents(x).view(len(codes), self.num_latents, -1).transpose(1, 2)


class GlobalDecoder(nn.Module):
    """A Gated PixelCNN over the frame's code map conditioned on the quantized global latents ``z_q [B, D, L]``:
    ``nll(codes, z_q)`` -> ``[B]`` nats per code map; ``generate(z_q, temperature=0, generator=None)`` -> code
    maps ``[B, h, w]`` sampled in raster order (temperature 0: the most likely code each time)."""

    def __init__(self, cfg: GlobalModelConfig, frame_codes: int, dim: int, latent_shape: tuple[int, int]) -> None:
        super().__init__()
        c, self.latent_shape = cfg.channels, latent_shape
        self.from_latents = nn.Linear(cfg.latents * dim, c)
        self.pos = nn.Parameter(torch.randn(1, c, *latent_shape) * 0.02)
        self.cond = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(cfg.cond_layers))
        self.pixelcnn = GatedPixelCNN(frame_codes, channels=c, layers=cfg.pixelcnn_layers, kernel=cfg.kernel,
                                      out_hidden=cfg.out_hidden, cond_channels=c)

    def condition(self, zq: torch.Tensor) -> torch.Tensor:
        """``z_q [B, D, L]`` -> the PixelCNN's conditioning map ``[B, C, h, w]``."""
        x = self.pos + self.from_latents(zq.transpose(1, 2).flatten(1))[:, :, None, None]
        for conv in self.cond:
            x = x + conv(torch.relu(x))
        return x

    def nll(self, codes: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
        return self.pixelcnn.nll(codes, cond=self.condition(zq))

    def generate(self, zq: torch.Tensor, *, temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        return self.pixelcnn.sample(len(zq), self.latent_shape, temperature=temperature, generator=generator,
                                    cond=self.condition(zq))


class GlobalVQVAE(VQVAE):
    """The paper's second stage: a frame's code map ``[B, h, w]`` (``frame_codes`` values) -> ``L`` global codes
    (``[B, L]``, K each) -> a Gated PixelCNN over the code map conditioned on them; the core shell with
    :class:`GlobalEncoder` and :class:`GlobalDecoder` injected.

    forward(codes) -> :class:`GlobalOutput`; ``encode(codes) -> [B, L]`` (never updates the codebook);
    ``decode(latents, temperature=0, generator=None) -> [B, h, w]``.  0.3 checkpoints load unchanged.
    """

    KEY_RENAMES = (("embed.", "encoder.embed."), ("encoder.", "encoder.convs."), ("to_latents.", "encoder.to_latents."),
                   ("from_latents.", "decoder.from_latents."), ("pos", "decoder.pos"), ("cond.", "decoder.cond."),
                   ("pixelcnn.", "decoder.pixelcnn."))

    def __init__(self, cfg: GlobalModelConfig, quantizer: QuantizerConfig, frame_codes: int,
                 latent_shape: tuple[int, int] | list[int]) -> None:
        shape = (int(latent_shape[0]), int(latent_shape[1]))
        super().__init__(GlobalEncoder(cfg, frame_codes, quantizer.dim), quantizer.build(),
                         GlobalDecoder(cfg, frame_codes, quantizer.dim, shape))
        self.frame_codes, self.num_codes, self.num_latents = frame_codes, quantizer.num_codes, cfg.latents
        self.latent_shape = shape

    def forward(self, codes: torch.Tensor) -> GlobalOutput:  # type: ignore[override]
        vq = self.quantize(codes)
        return GlobalOutput(self.decoder.nll(codes, vq.quantized), vq.codes, vq.loss, vq.perplexity, vq.codes_used)


__all__ = ["FrameVQVAE", "FrameEncoder", "FrameDecoder", "FrameOutput", "VideoPrior", "GlobalVQVAE", "GlobalEncoder",
           "GlobalDecoder", "GlobalOutput", "to_unit", "to_uint8"]
