"""Run directories and checkpoint resolution (``-c``, ``$VQSPEECH_CHECKPOINT``, newest under ``./runs/``)."""

from __future__ import annotations

import os
from pathlib import Path

from vqspeech.errors import CheckpointError
from vqspeech.io.checkpoint import read_meta


def default_run_dir(recipe: str | Path) -> Path:
    """``runs/<recipe stem>/``."""
    return Path("runs") / Path(recipe).stem


def find_checkpoint(path: str | Path | None, kinds: tuple[str, ...], runs: str | Path = "runs",
                    hint: str = "vqspeech train recipes/demo.yaml") -> Path:
    """Resolve ``-c``: the given path, else ``$VQSPEECH_CHECKPOINT``, else the newest ``last.safetensors`` of
    one of ``kinds`` under ``runs``.  ``hint`` is the training command the error suggests."""
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
        raise CheckpointError(f"no {' or '.join(kinds)} checkpoint given (-c) or found under ./{runs}/; train one "
                              f"with `{hint}` or set VQSPEECH_CHECKPOINT")
    return max(found, key=lambda p: p.stat().st_mtime)
