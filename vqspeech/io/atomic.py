"""Atomic file writes: readers never see a partial file, and an interrupted write loses nothing old."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vqspeech.io.jsonio import dumps


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then fsync and rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented strict JSON (non-finite numbers as ``null``, see
    :func:`vqspeech.io.jsonio.json_safe`), atomically."""
    text = dumps(data) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
