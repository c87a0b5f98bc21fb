"""Run directories and checkpoint resolution (``-c``, ``$VQSPEECH_CHECKPOINT``, newest under ``./runs/``)."""

from __future__ import annotations

import os
from pathlib import Path

from vqspeech import progress
from vqspeech.errors import CheckpointError
from vqspeech.io.checkpoint import read_meta
from vqspeech.io.shipped import PREFIX, shipped_checkpoint, shipped_models


def default_run_dir(recipe: str | Path) -> Path:
    """``runs/<recipe stem>/``."""
    return Path("runs") / Path(recipe).stem


def _given(path: str | Path, kinds: tuple[str, ...]) -> Path:
    """A path as given, or the checkpoint of the shipped model of that name (``-c voices``)."""
    p = Path(path)
    if str(path).startswith(PREFIX) or (not p.exists() and p.suffix != ".safetensors"):
        shipped = shipped_checkpoint(str(path), kinds)
        if shipped is not None:
            return shipped
    return p


def find_checkpoint(path: str | Path | None, kinds: tuple[str, ...], runs: str | Path = "runs",
                    hint: str = "vqspeech train recipes/demo.yaml") -> Path:
    """Resolve ``-c``: the given path (or shipped model name), else ``$VQSPEECH_CHECKPOINT``, else the newest
    ``last.safetensors`` of one of ``kinds`` under ``runs``, else the first shipped model that has one (named on
    stderr).  ``hint`` is the training command the error suggests."""
    if path is not None:
        return _given(path, kinds)
    env = os.environ.get("VQSPEECH_CHECKPOINT")
    if env:
        return _given(env, kinds)
    found = []
    for p in Path(runs).glob("*/checkpoints/last.safetensors"):
        try:
            if read_meta(p).get("kind") in kinds:
                found.append(p)
        except CheckpointError:
            continue
    if not found:
        for m in shipped_models():
            for kind in kinds:
                if kind in m.files:
                    progress.warn(f"using the model shipped with vqspeech: {m.name} ({kind}; `vqspeech models`)")
                    return m.files[kind]
        raise CheckpointError(f"no {' or '.join(kinds)} checkpoint given (-c) or found under ./{runs}/; train one "
                              f"with `{hint}` or set VQSPEECH_CHECKPOINT")
    return max(found, key=lambda p: p.stat().st_mtime)
