"""Task kinds and the families that declare them.

A family (``vqspeech/<family>/``) lists its kinds in ``<family>/kinds.py`` as ``KINDS``; this registry imports
the families named in :data:`FAMILIES`.  Adding a family is one folder plus one line here; adding a kind is one
line in the family's ``KINDS``.  Shared layers never import a family: they receive a :class:`Kind` from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from vqspeech.errors import CheckpointError, ConfigError

FAMILIES = ("vqspeech.speech.kinds", "vqspeech.image.kinds", "vqspeech.video.kinds")


@dataclass(frozen=True)
class Kind:
    """One kind of recipe and checkpoint.

    name: the spelling in recipes (``task:``) and checkpoints (``kind``).
    family: ``speech``, ``image`` or ``video``.
    role: ``vqvae`` (an autoencoder with codes), ``prior`` (a model over codes) or ``vae``.
    config: the recipe's dataclass schema.
    build: ``build(config, meta) -> nn.Module``, an untrained model from a config and checkpoint metadata.
    task: ``task(config, run_dir, device) -> Task`` for :func:`vqspeech.train.loop.train`; ``device`` (a
        ``torch.device`` from :func:`vqspeech.device.pick_device`) is where the task runs trained models over
        its data (a prior encoding its corpus).
    commands: the family's command module (``encode``, ``decode``, ``sample``, ``evaluate``... functions).
    """

    name: str
    family: str
    role: str
    config: type
    build: Callable[[Any, dict[str, Any]], nn.Module]
    task: Callable[[Any, Path, Any], Any]
    commands: str


_KINDS: dict[str, Kind] = {}


def kinds() -> dict[str, Kind]:
    """Every registered kind by name."""
    if not _KINDS:
        for module in FAMILIES:
            for k in importlib.import_module(module).KINDS:
                _KINDS[k.name] = k
    return _KINDS


def get(name: str | None, source: str = "") -> Kind:
    """The kind called ``name``; an unknown one is a :class:`ConfigError` listing the known kinds."""
    table = kinds()
    if name not in table:
        where = f"{source}: " if source else ""
        raise ConfigError(f"{where}task must be one of {', '.join(table)}, not {name!r}")
    return table[name]


def of_role(role: str, family: str | None = None) -> tuple[str, ...]:
    """Names of the kinds with ``role`` (optionally in one family)."""
    return tuple(k.name for k in kinds().values() if k.role == role and family in (None, k.family))


def load_model(path: str | Path, expect: str | tuple[str, ...] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored at ``path`` (CPU, eval mode); ``expect``: the allowed kinds."""
    from vqspeech.io.checkpoint import load_state
    from vqspeech.train.recipe import build

    state, meta = load_state(path)
    name = meta.get("kind")
    allowed = (expect,) if isinstance(expect, str) else expect
    if allowed and name not in allowed:
        raise CheckpointError(f"{path}: is a {name} checkpoint; this command needs a {' or '.join(allowed)}")
    if name not in kinds():
        raise CheckpointError(f"{path}: unknown model kind {name!r}")
    kind = kinds()[name]
    try:
        config = build(kind.config, meta["config"], str(path))
    except ConfigError as exc:
        raise CheckpointError(f"{path}: its stored config does not fit this version ({exc})") from None
    model = kind.build(config, meta)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match its config ({str(exc).splitlines()[0]})") from None
    return model.eval(), meta
