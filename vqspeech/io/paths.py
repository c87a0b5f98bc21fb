"""Command paths, checked before any work is done: inputs that must exist and report files whose folder must
exist."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vqspeech.errors import InputError


def require_inputs(paths: Iterable[str | Path | None]) -> None:
    """Refuse the first input that does not exist (``None`` entries are skipped): an :class:`InputError`
    ``IN: no such file or directory``, raised before any checkpoint is looked up or any file is written."""
    for p in paths:
        if p is not None and not Path(p).exists():
            raise InputError(f"{p}: no such file or directory")


def require_parents(paths: Iterable[str | Path | None]) -> None:
    """Refuse an output file (``--json``, ``--md``, ``--plot``...) whose folder does not exist."""
    for p in paths:
        if p is not None and not Path(p).parent.exists():
            raise InputError(f"{p}: directory {Path(p).parent} does not exist; create it first")


__all__ = ["require_inputs", "require_parents"]
