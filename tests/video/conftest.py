from __future__ import annotations

from pathlib import Path

import pytest

TINY_VQ = ["data.frame_size=16", "model.hidden=16", "model.res_hidden=8", "model.res_blocks=1",
           "quantizer.num_codes=16", "quantizer.dim=8", "train.batch_size=8", "train.valid_every=0",
           "train.log_every=10", "train.max_minutes=0", "train.checkpoint_every=0", "train.lr=0.003"]
TINY_PRIOR = ["data.frame_size=16", "model.channels=16", "model.cond_layers=2", "model.pixelcnn_layers=1",
              "model.kernel=3", "model.out_hidden=16", "model.action_dim=8", "train.batch_size=4",
              "train.valid_every=0", "train.log_every=10", "train.max_minutes=0", "train.checkpoint_every=0",
              "data.window=6"]


@pytest.fixture(scope="session")
def maze16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny maze corpus: 16x16 frames, 4 training and 2 held-out episodes of 24 frames."""
    from vqspeech.video.data.corpus import build_maze_corpus

    out = tmp_path_factory.mktemp("maze")
    build_maze_corpus(out, train=4, test=2, length=24, size=16, mazes=2)
    return out


@pytest.fixture(scope="session")
def tiny_vqvae(maze16: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vqspeech import verbs

    run = tmp_path_factory.mktemp("vq")
    return verbs.train("recipes/maze.yaml", out=run, overrides=[f"data.root={maze16}", *TINY_VQ], max_steps=30,
                       device="cpu")


@pytest.fixture(scope="session")
def tiny_prior(maze16: Path, tiny_vqvae: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vqspeech import verbs

    run = tmp_path_factory.mktemp("prior")
    return verbs.train("recipes/maze_video.yaml", out=run,
                       overrides=[f"data.root={maze16}", f"data.vqvae={tiny_vqvae}", *TINY_PRIOR], max_steps=20,
                       device="cpu")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """Tiny models on 2 shared cores: one thread is several times faster than two under load."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
