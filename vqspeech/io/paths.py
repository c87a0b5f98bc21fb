"""Command paths, checked before any work is done: inputs that must exist, report files whose folder must exist,
and ``-o`` outputs that are either one file (by its suffix) or a directory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from vqspeech.errors import InputError


def shown_path(path: str | Path, start: str | Path | None = None) -> str:
    """``path`` as a report shows it: relative to ``start`` (default the working directory), so what is written for
    users names no folder of the machine it was made on (``runs/demo/split.json``, or ``../data/x`` outside)."""
    base = Path(start) if start is not None else Path.cwd()
    try:
        return Path(os.path.relpath(Path(path).absolute(), base.absolute())).as_posix()
    except ValueError:  # another drive (Windows): no relative form exists
        return Path(path).as_posix()


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


def output_is_file(out: str | Path, suffixes: tuple[str, ...], what: str, hint: str = "") -> bool:
    """What ``-o out`` names: one file (``True``) when it ends in one of ``suffixes`` (case-insensitive), else a
    directory (``False``).  An existing directory is always a directory.  A path with any other suffix (``y.vqs``
    where wavs are written) is an :class:`InputError` rather than a directory of that name; ``what`` names the
    files written (``"wav files"``) and ``hint`` is added to the message."""
    out = Path(out)
    if out.is_dir():
        return False
    suffix = out.suffix.lower()
    if suffix in suffixes:
        return True
    if suffix or out.exists():
        names = " or ".join(f"NAME{s}" for s in suffixes)
        raise InputError(f"{out}: this command writes {what}; give -o {names} (one item) or a directory "
                         f"(a new one without a file extension, or an existing one){hint}")
    return False


__all__ = ["output_is_file", "require_inputs", "require_parents"]
