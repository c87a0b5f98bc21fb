"""Run dirs: which checkpoint a command uses when ``-c`` is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vqspeech.errors import CheckpointError
from vqspeech.io.checkpoint import save_checkpoint
from vqspeech.io.runs import find_checkpoint


def test_find_checkpoint_env_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-c, else $VQSPEECH_CHECKPOINT, else the newest checkpoint of the right kind under ./runs/ (junk skipped),
    else a shipped model (none here), else an error saying how to train one."""
    import vqspeech.io.shipped

    monkeypatch.setattr(vqspeech.io.shipped, "SHIPPED_DIR", tmp_path / "no-shipped-models")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    with pytest.raises(CheckpointError, match="train one with `vqspeech train recipes/demo.yaml`"):
        find_checkpoint(None, ("speech-vqvae",))
    for name, age in (("old", 100), ("new", 0)):
        ck = tmp_path / "runs" / name / "checkpoints" / "last.safetensors"
        ck.parent.mkdir(parents=True)
        save_checkpoint(ck, torch.nn.Linear(1, 1), {"kind": "speech-vqvae"})
        os.utime(ck, (1e9 - age, 1e9 - age))
    (tmp_path / "runs" / "junk" / "checkpoints").mkdir(parents=True)
    (tmp_path / "runs" / "junk" / "checkpoints" / "last.safetensors").write_text("not a checkpoint")
    assert find_checkpoint(None, ("speech-vqvae",)) == Path("runs/new/checkpoints/last.safetensors")
    with pytest.raises(CheckpointError, match="no speech-prior checkpoint"):
        find_checkpoint(None, ("speech-prior",))
    monkeypatch.setenv("VQSPEECH_CHECKPOINT", "elsewhere.safetensors")
    assert find_checkpoint(None, ("speech-vqvae",)) == Path("elsewhere.safetensors")
    assert find_checkpoint(Path("given"), ("speech-vqvae",)) == Path("given")
