"""Checkpoints: one ``.safetensors`` file whose metadata key ``vqspeech`` holds JSON (``kind``,
``format_version``, the resolved ``config``, ``step``, ``num_codes`` and the family's fields).  Written
atomically; loading never unpickles anything.  This module knows files, not models: rebuilding a model from a
checkpoint is :func:`vqspeech.registry.load_model`."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from vqspeech.errors import CheckpointError
from vqspeech.io.atomic import atomic_write, sha256_file

# 2: typed per-family metadata (0.1 wrote 1; both load).
FORMAT_VERSION = 2
META_KEY = "vqspeech"


M = TypeVar("M", bound="FamilyMeta")


class FamilyMeta:
    """Base of a family's typed checkpoint (and token dataset) metadata, a dataclass: :meth:`of` reads its
    fields from a metadata mapping (the only place they are read by string key), :meth:`to_dict` writes them,
    leaving out optional fields that are empty."""

    @classmethod
    def of(cls: type[M], meta: dict[str, Any], source: str = "checkpoint") -> M:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        try:
            return cls(**{k: v for k, v in meta.items() if k in names})
        except TypeError as exc:
            raise CheckpointError(f"{source}: incomplete {cls.__name__} metadata ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required or value not in ("", 0, [], ()):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict[str, Any]) -> None:
    """Write ``model``'s state and ``meta`` (JSON-able) to ``path`` atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    meta = {"format_version": FORMAT_VERSION, **meta}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)}))


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, validated as a vqspeech safetensors file (header only)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint")
    if p.is_dir():
        raise CheckpointError(f"{p}: is a directory, not a checkpoint file")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(9)
        # a safetensors file is an 8-byte header length then the JSON header ("{"); a length whose low byte is
        # 0x80 must not be mistaken for a pickle's protocol marker
        if head[8:9] != b"{" and (head[:2] == b"PK" or head[:1] == b"\x80"):
            raise CheckpointError(
                f"{p}: is a PyTorch pickle (.pt); vqspeech only loads .safetensors checkpoints and never unpickles"
            )
        if len(head) < 9:
            raise CheckpointError(f"{p}: too short to be a checkpoint (truncated?)")
        (n,) = struct.unpack("<Q", head[:8])
        f.seek(8)
        if n > min(size - 8, 100 << 20):
            raise CheckpointError(f"{p}: not a safetensors checkpoint (bad header)")
        try:
            header = json.loads(f.read(n))
        except ValueError:
            raise CheckpointError(f"{p}: not a safetensors checkpoint (bad header)") from None
    end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end > size:
        raise CheckpointError(f"{p}: truncated checkpoint ({size} bytes, header says {8 + n + end})")
    meta = header.get("__metadata__", {}).get(META_KEY)
    if meta is None:
        raise CheckpointError(f"{p}: a safetensors file without vqspeech metadata")
    meta = json.loads(meta)
    if int(meta.get("format_version", 1)) > FORMAT_VERSION:
        raise CheckpointError(f"{p}: written by a newer vqspeech (checkpoint format {meta['format_version']} > "
                              f"{FORMAT_VERSION}); upgrade vqspeech to load it")
    return meta


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, meta)`` of a checkpoint, on CPU."""
    from safetensors.torch import load_file

    meta = read_meta(path)
    try:
        return load_file(str(path), device="cpu"), meta
    except Exception as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint ({exc})") from None


__all__ = ["FORMAT_VERSION", "META_KEY", "atomic_write", "load_state", "read_meta", "save_checkpoint", "sha256_file"]
