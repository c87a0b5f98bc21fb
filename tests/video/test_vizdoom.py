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
