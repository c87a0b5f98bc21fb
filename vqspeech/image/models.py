"""Image models: the paper's VQ-VAE (section 4.1), the continuous VAE baseline with the same network, and the
Gated PixelCNN prior over code maps.

Images enter as ``uint8 [B, 3, H, W]`` and are scaled to ``[-1, 1]``.  With ``likelihood="categorical"`` the
decoder outputs 256 logits per sub-pixel, so ``-ln p(x | z)`` is the exact negative log-likelihood of the
discrete pixel values (no ``ln 256`` bin term is needed or allowed); with ``"mse"`` it outputs the pixel mean.

Code maps are ``[B, h, w * m]`` with ``m = latents_per_position``: the ``m`` codes of one position sit side by
side in raster order, so a 2-D prior models any ``m`` unchanged (``m = 1``: ``[B, h, w]``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from vqspeech.image.config import ImageModelConfig, PixelCNNConfig, VAEModelConfig
from vqspeech.models.pixels import to_unit
from vqspeech.models.vqvae import VQVAE
from vqspeech.nn.conv import Decoder2d, Encoder2d
from vqspeech.nn.pixelcnn import GatedPixelCNN
from vqspeech.train.recipe import QuantizerConfig

LEVELS = 256


class _Likelihood(nn.Module):
    """The decoder's output distribution over ``uint8`` pixels."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.out_channels = 3 * LEVELS if kind == "categorical" else 3

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``-ln p(x | z)`` per image in nats (categorical), or the summed squared error in ``[-1, 1]`` units."""
        if self.kind == "categorical":  # log-softmax over the level axis in place: no transposed copy
            b, _, h, w = out.shape
            logp = out.float().view(b, 3, LEVELS, h, w).log_softmax(2)
            return -logp.gather(2, x.long().unsqueeze(2)).flatten(1).sum(1)
        return ((out.float() - to_unit(x)) ** 2).flatten(1).sum(1)

    @staticmethod
    def logits(out: torch.Tensor) -> torch.Tensor:
        """``[B, 3*256, H, W]`` -> ``[B, 256, 3, H, W]``."""
        b, _, h, w = out.shape
        return out.view(b, 3, LEVELS, h, w).transpose(1, 2)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """Expected pixel values, float ``[B, 3, H, W]`` in ``[0, 255]``."""
        if self.kind == "categorical":
            p = torch.softmax(self.logits(out).float(), dim=1)
            levels = torch.arange(LEVELS, device=out.device, dtype=p.dtype)
            return (p * levels[None, :, None, None, None]).sum(1)
        return ((out.float() + 1.0) * 127.5).clamp(0, 255)


def _zero_last(decoder: Decoder2d) -> None:
    """Start from the uniform pixel distribution (categorical) or mid-grey (mse): a zero output layer keeps the
    first steps stable; its weights move at once, so gradients reach the rest after one step."""
    last = decoder.last
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)


class VQVAEOutput(NamedTuple):
    """``out``: decoder output ``[B, C, H, W]``; ``nll``: ``[B]`` (nats, or squared error for ``mse``);
    ``codes``: ``[B, h, w*m]``; ``vq_loss``, ``perplexity``, ``codes_used``: scalars."""

    out: torch.Tensor
    nll: torch.Tensor
    codes: torch.Tensor
    vq_loss: torch.Tensor
    perplexity: torch.Tensor
    codes_used: torch.Tensor


class ImageEncoder(nn.Module):
    """``uint8 [B, 3, H, W]`` -> ``z_e [B, D, h, w*m]``: the strided encoder, its ``m`` latents per position laid
    side by side (:func:`to_map`)."""

    def __init__(self, model: ImageModelConfig, dim: int) -> None:
        super().__init__()
        self.m, self.dim = model.latents_per_position, dim
        self.net = Encoder2d(3, model.hidden, self.m * dim, downsample=model.downsample, res_blocks=model.res_blocks,
                             res_hidden=model.res_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_map(self.net(to_unit(x)), self.m)


class ImageDecoder(nn.Module):
    """``z_q [B, D, h, w*m]`` -> the likelihood's parameters ``[B, C, H, W]`` (``forward``); ``nll(x, z_q)`` ->
    ``[B]`` nats per image (categorical) or summed squared error (mse); ``generate(z_q)`` -> expected pixel values
    ``float [B, 3, H, W]`` in ``[0, 255]``."""

    def __init__(self, model: ImageModelConfig, dim: int) -> None:
        super().__init__()
        self.m = model.latents_per_position
        self.likelihood = _Likelihood(model.likelihood)
        self.net = Decoder2d(self.m * dim, model.hidden, self.likelihood.out_channels, upsample=model.downsample,
                             res_blocks=model.res_blocks, res_hidden=model.res_hidden, out_hidden=model.out_hidden)
        _zero_last(self.net)

    def forward(self, zq: torch.Tensor) -> torch.Tensor:
        return self.net(from_map(zq, self.m))

    def nll(self, x: torch.Tensor, zq: torch.Tensor) -> torch.Tensor:
        return self.likelihood.nll(self(zq), x)

    def generate(self, zq: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self(zq))


def to_map(z: torch.Tensor, m: int) -> torch.Tensor:
    """``[B, m*D, h, w]`` -> ``[B, D, h, w*m]`` (the ``m`` latents of a position side by side)."""
    b, c, h, w = z.shape
    d = c // m
    return z.view(b, m, d, h, w).permute(0, 2, 3, 4, 1).reshape(b, d, h, w * m)


def from_map(q: torch.Tensor, m: int) -> torch.Tensor:
    """``[B, D, h, w*m]`` -> ``[B, m*D, h, w]`` (inverse of :func:`to_map`)."""
    b, d, h, wm = q.shape
    w = wm // m
    return q.view(b, d, h, w, m).permute(0, 4, 1, 2, 3).reshape(b, m * d, h, w)


class ImageVQVAE(VQVAE):
    """The image VQ-VAE: the core shell with :class:`ImageEncoder` and :class:`ImageDecoder` injected.

    forward(x: ``uint8 [B, 3, H, W]``) -> :class:`VQVAEOutput` (with the decoder's raw output, for bits/dim);
    ``encode(x) -> codes [B, h, w*m]``; ``decode(codes) -> float [B, 3, H, W]`` (expected pixel values in
    ``[0, 255]``).  0.3 checkpoints (``encoder.*``/``decoder.*`` the bare networks) load unchanged.
    """

    KEY_RENAMES = (("encoder.", "encoder.net."), ("decoder.", "decoder.net."))

    def __init__(self, model: ImageModelConfig, quantizer: QuantizerConfig, image_size: int) -> None:
        f = 2**model.downsample
        if image_size % f:
            raise ValueError(f"image_size {image_size} is not a multiple of 2**downsample = {f}")
        super().__init__(ImageEncoder(model, quantizer.dim), quantizer.build(), ImageDecoder(model, quantizer.dim))
        self.m, self.dim = model.latents_per_position, quantizer.dim
        self.num_codes, self.image_size = quantizer.num_codes, image_size
        self.latent_shape = (image_size // f, image_size // f * self.m)

    @property
    def likelihood(self) -> _Likelihood:
        return self.decoder.likelihood

    @property
    def num_latents(self) -> int:
        """Discrete latents per image (``N_z``)."""
        return self.latent_shape[0] * self.latent_shape[1]

    def forward(self, x: torch.Tensor) -> VQVAEOutput:  # type: ignore[override]
        vq = self.quantize(x)
        out = self.decoder(vq.quantized)
        return VQVAEOutput(out, self.likelihood.nll(out, x), vq.codes, vq.loss, vq.perplexity, vq.codes_used)

    def decoder_output(self, codes: torch.Tensor) -> torch.Tensor:
        """The likelihood's parameters ``[B, C, H, W]`` for ``codes [B, h, w*m]``."""
        return self.decoder(self.quantizer.embed(codes))


class VAEOutput(NamedTuple):
    """``out``: decoder output; ``nll``: ``[B]`` nats; ``kl``: ``[B]`` nats (``KL(q(z|x) || N(0, I))``)."""

    out: torch.Tensor
    nll: torch.Tensor
    kl: torch.Tensor


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, 1))`` summed over all but the batch axis, ``[B]`` nats."""
    return 0.5 * (mu.float() ** 2 + logvar.float().exp() - 1.0 - logvar.float()).flatten(1).sum(1)


class ImageVAE(nn.Module):
    """The continuous VAE baseline: the same encoder/decoder, a diagonal Gaussian posterior per latent and a
    standard normal prior.  forward(x, sample=True) -> :class:`VAEOutput`; the negative ELBO is
    ``nll + kl`` (one reparameterised sample; ``sample=False`` decodes the posterior mean)."""

    def __init__(self, model: VAEModelConfig, image_size: int) -> None:
        super().__init__()
        self.m, self.dim, self.image_size = model.latents_per_position, model.latent_dim, image_size
        f = 2**model.downsample
        if image_size % f:
            raise ValueError(f"image_size {image_size} is not a multiple of 2**downsample = {f}")
        self.latent_shape = (image_size // f, image_size // f)
        self.likelihood = _Likelihood(model.likelihood)
        self.encoder = Encoder2d(3, model.hidden, 2 * self.m * self.dim, downsample=model.downsample,
                                 res_blocks=model.res_blocks, res_hidden=model.res_hidden)
        self.decoder = Decoder2d(self.m * self.dim, model.hidden, self.likelihood.out_channels,
                                 upsample=model.downsample, res_blocks=model.res_blocks, res_hidden=model.res_hidden,
                                 out_hidden=model.out_hidden)
        _zero_last(self.decoder)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``[B, m*D, h, w]``."""
        mu, logvar = self.encoder(to_unit(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def forward(self, x: torch.Tensor, sample: bool = True, generator: torch.Generator | None = None) -> VAEOutput:
        mu, logvar = self.posterior(x)
        z = mu
        if sample:
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            z = mu + (0.5 * logvar).exp() * eps
        out = self.decoder(z)
        return VAEOutput(out, self.likelihood.nll(out, x), gaussian_kl(mu, logvar))

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.decoder(z))


def build_prior(model: PixelCNNConfig, num_codes: int, num_classes: int) -> GatedPixelCNN:
    """The class-conditional (when ``model.class_conditional``) Gated PixelCNN prior over code maps."""
    return GatedPixelCNN(num_codes, channels=model.channels, layers=model.layers, kernel=model.kernel,
                         num_classes=num_classes if model.class_conditional else 0, out_hidden=model.out_hidden)




LN2 = math.log(2.0)
