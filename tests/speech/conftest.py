from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TINY_SET


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 espeak speakers x 4 utterances with exact phone TextGrids and texts."""
    from vqspeech import progress
    from vqspeech.speech.data.demo_corpus import build_demo_corpus

    progress.set_quiet(True)
    out = tmp_path_factory.mktemp("demo") / "corpus"
    build_demo_corpus(out, speakers=3, utterances=4, seed=0)
    return out


@pytest.fixture(scope="session")
def tiny_model(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny speech VQ-VAE trained briefly on the tiny demo corpus; returns its last checkpoint."""
    from vqspeech.verbs import train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    return train("recipes/demo.yaml", out=run, overrides=[*TINY_SET, f"data.root={demo_corpus}"], max_steps=60,
                 device="cpu")
