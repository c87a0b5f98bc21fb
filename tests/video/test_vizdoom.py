from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vqspeech.errors import InputError


def test_vizdoom_corpus_is_deterministic_and_loads(tmp_path: Path) -> None:
    pytest.importorskip("vizdoom")
    from vqspeech.video.data import EpisodeSet
    from vqspeech.video.data.vizdoom import build_vizdoom_corpus, record_vizdoom_episode

    v1, a1 = record_vizdoom_episode(3, 12, 32)
    v2, a2 = record_vizdoom_episode(3, 12, 32)
    assert v1.shape == (12, 32, 32, 3) and v1.tobytes() == v2.tobytes() and np.array_equal(a1, a2)
    assert len(np.unique(v1.reshape(12, -1), axis=0)) > 1  # the agent moves
    build_vizdoom_corpus(tmp_path / "vd", train=1, test=1, length=8, size=32)
    es = EpisodeSet(tmp_path / "vd", "test")
    assert es.load(0).video.shape == (8, 32, 32, 3) and es.meta.source == "vizdoom"
    with pytest.raises(InputError, match="--scenario must be one of"):
        record_vizdoom_episode(0, 2, 32, scenario="nope")


def test_vizdoom_episodes_train_through_the_same_recipes(tmp_path: Path) -> None:
    pytest.importorskip("vizdoom")
    from tests.video.conftest import TINY_PRIOR, TINY_VQ
    from vqspeech import verbs
    from vqspeech.video.data.vizdoom import build_vizdoom_corpus

    build_vizdoom_corpus(tmp_path / "vd", train=2, test=1, length=10, size=16)
    vq = verbs.train("recipes/maze.yaml", out=tmp_path / "vq", overrides=[f"data.root={tmp_path / 'vd'}", *TINY_VQ],
                     max_steps=3, device="cpu")
    prior = verbs.train("recipes/maze_video.yaml", out=tmp_path / "p", max_steps=3, device="cpu",
                        overrides=[f"data.root={tmp_path / 'vd'}", f"data.vqvae={vq}", *TINY_PRIOR])
    assert prior.exists()
