"""The video family's kinds, read by :mod:`vqspeech.registry`."""

from __future__ import annotations

from vqspeech.registry import Kind
from vqspeech.video.config import (
    VIDEO_GLOBAL,
    VIDEO_PRIOR,
    VIDEO_VQVAE,
    VideoGlobalConfig,
    VideoPriorConfig,
    VideoVQVAEConfig,
)
from vqspeech.video.tasks import (
    VideoGlobalTask,
    VideoPriorTask,
    VideoVQVAETask,
    build_global,
    build_prior,
    build_vqvae,
)

KINDS = [
    Kind(VIDEO_VQVAE, "video", "vqvae", VideoVQVAEConfig, build_vqvae, VideoVQVAETask),
    Kind(VIDEO_PRIOR, "video", "prior", VideoPriorConfig, build_prior, VideoPriorTask),
    Kind(VIDEO_GLOBAL, "video", "vqvae", VideoGlobalConfig, build_global, VideoGlobalTask),
]
