"""Typed recipes of the image kinds (see :mod:`vqspeech.train.recipe` for how YAML becomes these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vqspeech.io.checkpoint import FamilyMeta
from vqspeech.train.recipe import NoSection, QuantizerConfig, TrainConfig

# The kind names, spelled once.
IMAGE_VQVAE = "image-vqvae"
IMAGE_VAE = "image-vae"
IMAGE_PRIOR = "image-prior"


@dataclass
class ImageData:
    """Section ``data``: where the images are.

    root: a CIFAR-10 folder (``cifar-10-batches-py`` or its parent), an ImageNet root (``train/``, ``val/``) or
    ``ROOT/<class>/*.png|jpg``.  layout: ``auto`` detects which.  image_size: the side the model takes.
    resize: scale+centre-crop folder images of another size (ImageNet is always resized).  valid_fraction:
    held-out share of folder corpora (seeded by ``train.seed``).  valid_images: held-out images used by
    validation and the final report (0: all).  flip: random horizontal flips of training images.
    """

    root: str = "demo_images"
    layout: Literal["auto", "cifar10", "imagenet", "folders"] = "auto"
    image_size: int = 32
    resize: bool = False
    valid_fraction: float = 0.1
    valid_images: int = 1000
    flip: bool = False


@dataclass
class ImageModelConfig:
    """Section ``model`` of the VQ-VAE: the paper's encoder/decoder (section 4.1).

    hidden: channels of the strided and residual convolutions (paper: 256).  res_hidden: hidden channels inside
    a residual block.  res_blocks: residual 3x3 blocks on each side (paper: 2).  downsample: strided 4x4
    convolutions (paper: 2, so 32x32 -> 8x8 and 128x128 -> 32x32).  latents_per_position: discrete latents per
    latent position (section 3.2's 8x8x10 uses 10; each is one code of ``quantizer.dim`` dimensions).
    likelihood: ``categorical`` (a 256-way softmax per sub-pixel: a real discrete likelihood, bits/dim) or
    ``mse`` (the ImageNet choice; no likelihood, so no bits/dim).  out_hidden: 0 (the paper's layout) or the
    channels of the last transposed convolution, followed by a ReLU and a 1x1 convolution to the likelihood's
    channels (768 logits per pixel for ``categorical``): about a third of the decoder's output FLOPs at
    ``out_hidden = hidden``.
    """

    hidden: int = 256
    res_hidden: int = 256
    res_blocks: int = 2
    downsample: int = 2
    latents_per_position: int = 1
    likelihood: Literal["categorical", "mse"] = "categorical"
    out_hidden: int = 0


@dataclass
class VAEModelConfig(ImageModelConfig):
    """Section ``model`` of the continuous VAE baseline: the same network, a diagonal Gaussian latent of
    ``latent_dim`` dimensions per latent (and ``latents_per_position`` latents per position)."""

    latent_dim: int = 64


@dataclass
class PriorData(ImageData):
    """Section ``data`` of the prior: the images (``root``) and the VQ-VAE checkpoint that encodes them."""

    vqvae: str = ""


@dataclass
class PixelCNNConfig:
    """Section ``model`` of the prior: a Gated PixelCNN over the code map (see :mod:`vqspeech.nn.pixelcnn`)."""

    channels: int = 128
    layers: int = 12
    kernel: int = 5
    out_hidden: int = 256
    class_conditional: bool = True


@dataclass
class ImageVQVAEConfig:
    task: str = IMAGE_VQVAE
    data: ImageData = field(default_factory=ImageData)
    model: ImageModelConfig = field(default_factory=ImageModelConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class ImageVAEConfig:
    task: str = IMAGE_VAE
    data: ImageData = field(default_factory=ImageData)
    model: VAEModelConfig = field(default_factory=VAEModelConfig)
    quantizer: NoSection = field(default_factory=NoSection)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class ImagePriorConfig:
    task: str = IMAGE_PRIOR
    data: PriorData = field(default_factory=PriorData)
    model: PixelCNNConfig = field(default_factory=PixelCNNConfig)
    quantizer: NoSection = field(default_factory=NoSection)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class ImageMeta(FamilyMeta):
    """The image fields of a checkpoint's (and a token dataset's) metadata.

    classes: class names (label ``i`` is ``classes[i]``); image_size: ``H = W`` of the model's images;
    num_codes: ``K`` (0 for the continuous VAE); latent_shape: a prior's code map ``[h, w*m]``; vqvae_path,
    vqvae_sha256: the VQ-VAE a prior models.
    """

    classes: list[str]
    image_size: int
    num_codes: int
    latent_shape: list[int] = field(default_factory=list)
    vqvae_path: str = ""
    vqvae_sha256: str = ""

