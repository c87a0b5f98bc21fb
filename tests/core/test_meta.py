"""Typed checkpoint metadata (:class:`vqspeech.io.checkpoint.FamilyMeta`): the families read their fields once,
through ``of``, and write them with ``to_dict``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from vqspeech.errors import CheckpointError
from vqspeech.io.checkpoint import FamilyMeta


@dataclass
class ToyMeta(FamilyMeta):
    names: list[str]
    size: int
    shape: list[int] = field(default_factory=list)
    parent: str = ""


def test_of_reads_its_fields_and_ignores_the_shared_ones() -> None:
    m = ToyMeta.of({"kind": "toy", "config": {}, "step": 3, "names": ["a"], "size": 0, "parent": "p"})
    assert m == ToyMeta(["a"], 0, [], "p")
    # required fields stay even when empty or zero; empty optional ones are left out
    assert m.to_dict() == {"names": ["a"], "size": 0, "parent": "p"}
    assert ToyMeta.of(m.to_dict()) == m


def test_incomplete_metadata_is_a_checkpoint_error_naming_the_file() -> None:
    with pytest.raises(CheckpointError, match="x.safetensors: incomplete ToyMeta metadata"):
        ToyMeta.of({"names": ["a"]}, "x.safetensors")


def test_image_and_video_metadata_round_trip() -> None:
    from vqspeech.image.config import ImageMeta
    from vqspeech.video.config import VideoMeta

    im = ImageMeta(["cat", "dog"], 32, 512, [8, 8], "runs/vq/last.safetensors", "0" * 64)
    assert ImageMeta.of({"kind": "image-prior", **im.to_dict()}) == im
    assert ImageMeta(["cat"], 32, 0).to_dict() == {"classes": ["cat"], "image_size": 32, "num_codes": 0}  # a VAE
    g = VideoMeta(["noop"], 64, 512, latents=3, frame_num_codes=512, frame_latent_shape=[16, 16])
    assert "latent_shape" not in g.to_dict() and VideoMeta.of(g.to_dict()) == g
