"""Checkpoint files: safetensors detection without unpickling."""

from __future__ import annotations

from pathlib import Path


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
