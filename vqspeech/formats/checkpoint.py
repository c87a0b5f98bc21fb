"""Checkpoints: one ``.safetensors`` file whose metadata key ``vqspeech`` holds JSON (``kind``,
``format_version``, resolved ``config``, ``speakers``, ``sample_rate``, ``hop_length``, ``num_codes`` and, for
priors, the VQ-VAE's path and sha256).  Written atomically; loading never unpickles anything."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vqspeech.errors import CheckpointError

FORMAT_VERSION = 1
META_KEY = "vqspeech"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, write) -> None:  # noqa: ANN001 (callable taking the temp path)
    """Call ``write(tmp_path)`` then rename over ``path`` so readers never see a partial file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
        head = f.read(8)
        if head[:2] == b"PK" or head[:1] == b"\x80":
            raise CheckpointError(
                f"{p}: is a PyTorch pickle (.pt); vqspeech only loads .safetensors checkpoints and never unpickles"
            )
        if len(head) < 8:
            raise CheckpointError(f"{p}: too short to be a checkpoint (truncated?)")
        (n,) = struct.unpack("<Q", head)
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
    return json.loads(meta)


def load_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, meta)`` of a checkpoint, on CPU."""
    from safetensors.torch import load_file

    meta = read_meta(path)
    try:
        return load_file(str(path), device="cpu"), meta
    except Exception as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint ({exc})") from None


def load_model(path: str | Path, expect: str | tuple[str, ...] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored at ``path`` (CPU, eval mode).  ``expect``: allowed kinds."""
    from vqspeech.models import build_model

    state, meta = load_state(path)
    kind = meta.get("kind")
    allowed = (expect,) if isinstance(expect, str) else expect
    if allowed and kind not in allowed:
        raise CheckpointError(f"{path}: is a {kind} checkpoint; this command needs a {' or '.join(allowed)}")
    model = build_model(kind, meta["config"], meta)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match its config ({str(exc).splitlines()[0]})") from None
    return model.eval(), meta


def find_checkpoint(path: str | Path | None, kinds: tuple[str, ...], runs: str | Path = "runs") -> Path:
    """Resolve ``-c``: the given path, else ``$VQSPEECH_CHECKPOINT``, else the newest ``last.safetensors``
    of one of ``kinds`` under ``./runs/``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("VQSPEECH_CHECKPOINT")
    if env:
        return Path(env)
    found = []
    for p in Path(runs).glob("*/checkpoints/last.safetensors"):
        try:
            if read_meta(p).get("kind") in kinds:
                found.append(p)
        except CheckpointError:
            continue
    if not found:
        what = " or ".join(kinds)
        raise CheckpointError(
            f"no {what} checkpoint given (-c) or found under ./{runs}/; train one with "
            f"`vqspeech train recipes/demo{'_prior' if 'prior' in what else ''}.yaml` or set VQSPEECH_CHECKPOINT"
        )
    return max(found, key=lambda p: p.stat().st_mtime)
