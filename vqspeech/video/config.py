"""Typed recipes of the video kinds (see :mod:`vqspeech.train.recipe` for how YAML becomes these)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vqspeech.io.checkpoint import FamilyMeta
from vqspeech.train.recipe import NoSection, QuantizerConfig, TrainConfig

# The kind names, spelled once.
VIDEO_VQVAE = "video-vqvae"
VIDEO_PRIOR = "video-prior"


@dataclass
class VideoData:
    """Section ``data``: an episode corpus ``ROOT/{train,test}/<shard>/<episode>.npz`` (DMLab-40k layout or
    ``corpus maze``/``corpus vizdoom``).

    frame_size: the side of the square frames (paper: 84; DMLab-40k: 64).  valid_episodes: held-out episodes
    (from ``test/``) used by validation and the final report.  max_episodes: use only the first N training
    episodes (0: all).  cache: keep the frames in one memory-mapped ``.npy`` in the run dir (large corpora).
    """

    root: str = "demo_maze"
    frame_size: int = 84
    valid_episodes: int = 8
    max_episodes: int = 0
    cache: bool = True


@dataclass
class FrameModelConfig:
    """Section ``model`` of the frame VQ-VAE (paper, section 4.2: the image architecture on 84x84 frames).

    hidden: channels of the strided and residual convolutions (paper: 256).  res_hidden: hidden channels in a
    residual block.  res_blocks: residual 3x3 blocks on each side (paper: 2).  downsample: strided 4x4
    convolutions (paper: 2, so 84x84 -> 21x21).  The decoder outputs the pixel mean (squared-error likelihood).
    """

    hidden: int = 256
    res_hidden: int = 256
    res_blocks: int = 2
    downsample: int = 2


@dataclass
class VideoVQVAEConfig:
    task: str = VIDEO_VQVAE
    data: VideoData = field(default_factory=VideoData)
    model: FrameModelConfig = field(default_factory=FrameModelConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class VideoPriorData(VideoData):
    """Section ``data`` of the video prior: the episodes (``root``), the frame VQ-VAE that encodes them
    (``vqvae``) and the training window in frames (``window``)."""

    vqvae: str = ""
    window: int = 8


@dataclass
class VideoPriorModel:
    """Section ``model`` of the action-conditioned prior over frame code maps through time.

    Frame ``t``'s codes are modelled given the codes of the ``context_frames`` frames before it and the action
    taken after frame ``t-1``: a conditioning network (dilated residual 3x3 convolutions, ``cond_layers`` of
    them, each offset by the action's embedding) turns those into a map that conditions a Gated PixelCNN over
    frame ``t`` (``pixelcnn_layers`` layers; 0: the codes of a frame are predicted independently given the
    past, one network pass per frame).  ``action_dropout``: the share of training windows whose actions are
    withheld (replaced by a "no action" token), so the same model also runs without actions.
    """

    context_frames: int = 2
    channels: int = 64
    cond_layers: int = 6
    pixelcnn_layers: int = 4
    kernel: int = 5
    out_hidden: int = 256
    action_dim: int = 32
    action_dropout: float = 0.2


@dataclass
class VideoPriorConfig:
    task: str = VIDEO_PRIOR
    data: VideoPriorData = field(default_factory=VideoPriorData)
    model: VideoPriorModel = field(default_factory=VideoPriorModel)
    quantizer: NoSection = field(default_factory=NoSection)
    train: TrainConfig = field(default_factory=TrainConfig)


VIDEO_GLOBAL = "video-global"


@dataclass
class GlobalData(VideoData):
    """Section ``data`` of the two-stage model: the episodes (``root``) and the frame VQ-VAE (``vqvae``) whose code
    maps the second stage compresses."""

    vqvae: str = ""


@dataclass
class GlobalModelConfig:
    """Section ``model`` of the second-stage VQ-VAE (paper, section 4.2): the frame's code map (e.g. 21x21) ->
    ``latents`` global codes (paper: 3 of K = 512, 27 bits) -> a Gated PixelCNN decoder over the code map
    conditioned on them.

    channels: width of the encoder convolutions and of the PixelCNN.  encoder_layers: strided 3x3 convolutions
    before global average pooling.  cond_layers: 3x3 convolutions turning the latents (plus a learned position
    map) into the PixelCNN's conditioning map.
    """

    latents: int = 3
    channels: int = 64
    encoder_layers: int = 3
    cond_layers: int = 2
    pixelcnn_layers: int = 6
    kernel: int = 5
    out_hidden: int = 256


@dataclass
class VideoGlobalConfig:
    task: str = VIDEO_GLOBAL
    data: GlobalData = field(default_factory=GlobalData)
    model: GlobalModelConfig = field(default_factory=GlobalModelConfig)
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class VideoMeta(FamilyMeta):
    """The video fields of a checkpoint's (and a token dataset's) metadata.

    actions: action names (action ``i`` is ``actions[i]``); frame_size: ``H = W`` of the frames; num_codes:
    ``K`` of this model's codes; latent_shape: the frame code map ``[h, w]``; vqvae_path, vqvae_sha256: the frame
    VQ-VAE a prior or second stage models; context_frames: a prior's context; latents, frame_num_codes,
    frame_latent_shape: the second stage's latents per frame and its frame VQ-VAE's ``K`` and code map.
    """

    actions: list[str]
    frame_size: int
    num_codes: int
    latent_shape: list[int] = field(default_factory=list)
    vqvae_path: str = ""
    vqvae_sha256: str = ""
    context_frames: int = 0
    latents: int = 0
    frame_num_codes: int = 0
    frame_latent_shape: list[int] = field(default_factory=list)

