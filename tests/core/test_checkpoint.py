"""Checkpoint files: safetensors detection without unpickling, refusals, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vqspeech.errors import CheckpointError
from vqspeech.io.checkpoint import load_state, read_meta, save_checkpoint


def test_checkpoint_whose_header_length_starts_with_0x80_is_not_a_pickle(tmp_path: Path) -> None:
    """0.1 refused any file whose first byte was 0x80 as a pickle: a header of 128 + 256 k bytes is one."""
    import struct

    import torch

    from vqspeech.io.checkpoint import read_meta, save_checkpoint

    for pad in range(0, 400):
        path = tmp_path / "m.safetensors"
        save_checkpoint(path, torch.nn.Linear(1, 1), {"kind": "x", "pad": "p" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80 and struct.unpack("<Q", path.read_bytes()[:8])[0] % 256 == 0x80
    assert read_meta(path)["pad"] == "p" * pad


def test_checkpoint_refusals(tmp_path: Path) -> None:
    """A truncated file, a pickle and junk are refused with a CheckpointError (the pickle never unpickled)."""
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, torch.nn.Linear(64, 64), {"kind": "x"})
    data = good.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_state(cut)
    pt = tmp_path / "model.pt"
    torch.save({"x": torch.zeros(2)}, pt)
    with pytest.raises(CheckpointError, match="pickle"):
        load_state(pt)
    junk = tmp_path / "junk.safetensors"
    junk.write_text("hello")
    with pytest.raises(CheckpointError):
        load_state(junk)
    state, meta = load_state(good)
    assert meta["kind"] == "x" and set(state) == {"weight", "bias"}


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = torch.nn.Linear(2, 2)
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, {"kind": "x"})
    before = path.read_bytes()
    import safetensors.torch

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", boom)
    with pytest.raises(RuntimeError):
        save_checkpoint(path, torch.nn.Linear(2, 2), {"kind": "x"})
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_checkpoint_whose_header_length_reads_pk_loads(tmp_path: Path) -> None:
    """A safetensors header of 0x4B50 bytes starts the file with b"PK": still a checkpoint, not a pickle."""
    import struct

    path = tmp_path / "pk.safetensors"
    pad = 0
    for _ in range(3):
        save_checkpoint(path, torch.nn.Linear(1, 1), {"kind": "x", "pad": "x" * pad})
        (n,) = struct.unpack("<Q", path.read_bytes()[:8])
        pad += 0x4B50 - n
    assert path.read_bytes()[:2] == b"PK"
    assert read_meta(path)["kind"] == "x"
