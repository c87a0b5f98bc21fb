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
from vqspeech.nn.conv import Decoder2d, Encoder2d
from vqspeech.nn.pixelcnn import GatedPixelCNN
from vqspeech.train.recipe import QuantizerConfig

LEVELS = 256


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """``uint8 [B, 3, H, W]`` -> float in ``[-1, 1]``."""
    return x.float() / 127.5 - 1.0


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


class ImageVQVAE(nn.Module):
    """The image VQ-VAE: ``Encoder2d -> VectorQuantizer -> Decoder2d``.

    forward(x: ``uint8 [B, 3, H, W]``) -> :class:`VQVAEOutput`; ``encode(x) -> codes [B, h, w*m]``;
    ``decode(codes) -> float [B, 3, H, W]`` (expected pixel values in ``[0, 255]``).
    """

    def __init__(self, model: ImageModelConfig, quantizer: QuantizerConfig, image_size: int) -> None:
        super().__init__()
        self.m, self.dim = model.latents_per_position, quantizer.dim
        self.num_codes, self.image_size = quantizer.num_codes, image_size
        f = 2**model.downsample
        if image_size % f:
            raise ValueError(f"image_size {image_size} is not a multiple of 2**downsample = {f}")
        self.latent_shape = (image_size // f, image_size // f * self.m)
        self.likelihood = _Likelihood(model.likelihood)
        self.encoder = Encoder2d(3, model.hidden, self.m * self.dim, downsample=model.downsample,
                                 res_blocks=model.res_blocks, res_hidden=model.res_hidden)
        self.quantizer = quantizer.build()
        self.decoder = Decoder2d(self.m * self.dim, model.hidden, self.likelihood.out_channels,
                                 upsample=model.downsample, res_blocks=model.res_blocks, res_hidden=model.res_hidden,
                                 out_hidden=model.out_hidden)
        _zero_last(self.decoder)

    @property
    def num_latents(self) -> int:
        """Discrete latents per image (``N_z``)."""
        return self.latent_shape[0] * self.latent_shape[1]

    def _to_map(self, z: torch.Tensor) -> torch.Tensor:
        """``[B, m*D, h, w]`` -> ``[B, D, h, w*m]``."""
        b, _, h, w = z.shape
        return z.view(b, self.m, self.dim, h, w).permute(0, 2, 3, 4, 1).reshape(b, self.dim, h, w * self.m)

    def _from_map(self, q: torch.Tensor) -> torch.Tensor:
        """``[B, D, h, w*m]`` -> ``[B, m*D, h, w]``."""
        b, _, h, wm = q.shape
        w = wm // self.m
        return q.view(b, self.dim, h, w, self.m).permute(0, 4, 1, 2, 3).reshape(b, self.m * self.dim, h, w)

    def forward(self, x: torch.Tensor) -> VQVAEOutput:
        vq = self.quantizer(self._to_map(self.encoder(to_unit(x))))
        out = self.decoder(self._from_map(vq.quantized))
        return VQVAEOutput(out, self.likelihood.nll(out, x), vq.codes, vq.loss, vq.perplexity, vq.codes_used)

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``uint8 [B, 3, H, W]`` -> codes ``[B, h, w*m]`` (never updates the codebook, even in training mode)."""
        return self.quantizer.lookup(self._to_map(self.encoder(to_unit(x))))

    def decoder_output(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(self._from_map(self.quantizer.embed(codes)))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes ``[B, h, w*m]`` -> expected pixel values ``float [B, 3, H, W]`` in ``[0, 255]``."""
        return self.likelihood.mean(self.decoder_output(codes))


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
