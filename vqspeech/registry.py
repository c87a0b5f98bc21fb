"""Families, the task kinds they declare, and which family a file belongs to.

A family is a package ``vqspeech/<family>/`` named in :data:`FAMILIES`.  It declares:

- ``<family>/family.py``: ``FAMILY``, a :class:`Family` (how to recognise its data, the options its shared
  verbs take, where its command functions and its own CLI commands live).  Light: importing it loads no model.
- ``<family>/kinds.py``: ``KINDS``, its :class:`Kind` list (recipe and checkpoint kinds).

Adding a family is one folder plus one entry in :data:`FAMILIES`; adding a kind is one line in the family's
``KINDS``.  Shared layers never import a family: they receive a :class:`Kind` or :class:`Family` from here.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vqspeech.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from torch import nn

#: The families, in the order their detectors are asked.  The first is the main family: an input that no family
#: recognises (a missing file, say) goes to its commands, whose errors name it.
FAMILIES = ("speech", "image", "video")

#: The verbs every family serves with one function each in its commands module (the CLI's shared verbs).
VERBS = ("encode", "decode", "sample", "evaluate")


@dataclass(frozen=True)
class Kind:
    """One kind of recipe and checkpoint.

    name: the spelling in recipes (``task:``) and checkpoints (``kind``).
    family: the name of the :class:`Family` it belongs to.
    role: ``vqvae`` (an autoencoder with codes), ``prior`` (a model over codes) or ``vae``.
    config: the recipe's dataclass schema.
    build: ``build(config, meta) -> nn.Module``, an untrained model from a config and checkpoint metadata.
    task: ``task(config, run_dir, device) -> Task`` for :func:`vqspeech.train.loop.train`; ``device`` (a
        ``torch.device`` from :func:`vqspeech.device.pick_device`) is where the task runs trained models over
        its data (a prior encoding its corpus).
    """

    name: str
    family: str
    role: str
    config: type
    build: Callable[[Any, dict[str, Any]], nn.Module]
    task: Callable[[Any, Path, Any], Any]


@dataclass(frozen=True)
class Option:
    """A command-line option that a family's verb takes (beside the shared ones the CLI always passes).

    type: ``int``, ``float``, ``str``, ``bool`` (a flag) or ``Path``.
    help: one line for ``--help``.
    arg: the keyword of the family's command function (default: the option's own name).
    """

    type: type
    help: str
    arg: str = ""

    def keyword(self, name: str) -> str:
        return self.arg or name


@dataclass(frozen=True)
class Family:
    """One family: how its data is recognised and what its commands take.

    name: ``speech``, ``image``, ``video``...
    detect: ``detect(path) -> bool``: whether an input file or folder holds this family's data (model inputs or
        token files the family decodes).  Token datasets and checkpoints are recognised by their recorded kind
        before any detector is asked.
    options: ``{verb: {option name: Option}}``: the options of the shared verbs (:data:`VERBS`) that this
        family's command functions take and the CLI passes only when given; another family's option given to
        this family is an error naming it.  Option names are Python identifiers (``out_dir`` is ``--out-dir``).
    commands: the module with one function per shared verb (default ``vqspeech.<name>.commands``).
    cli: the module whose ``register(app, corpus_app)`` adds the family's own commands to the CLI (``convert``,
        ``corpus demo``...); default ``vqspeech.<name>.cli``.
    """

    name: str
    detect: Callable[[Path], bool]
    options: Mapping[str, Mapping[str, Option]] = field(default_factory=dict)
    commands: str = ""
    cli: str = ""

    @property
    def commands_module(self) -> str:
        return self.commands or f"vqspeech.{self.name}.commands"

    @property
    def cli_module(self) -> str:
        return self.cli or f"vqspeech.{self.name}.cli"

    def verb_options(self, verb: str) -> Mapping[str, Option]:
        return self.options.get(verb, {})


_KINDS: dict[str, Kind] = {}
_FAMILIES: dict[str, Family] = {}


def families() -> dict[str, Family]:
    """Every family by name, in :data:`FAMILIES` order (imports only the light ``family.py`` modules)."""
    if not _FAMILIES:
        for name in FAMILIES:
            fam = importlib.import_module(f"vqspeech.{name}.family").FAMILY
            if fam.name != name:
                raise ConfigError(f"vqspeech.{name}.family declares the family {fam.name!r}, not {name!r}")
            _FAMILIES[name] = fam
    return _FAMILIES


def kinds() -> dict[str, Kind]:
    """Every registered kind by name."""
    if not _KINDS:
        for name in FAMILIES:
            for k in importlib.import_module(f"vqspeech.{name}.kinds").KINDS:
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


def _dataset_family(path: Path) -> str | None:
    """The family of the kind a token dataset records (None: not a token dataset, or an unknown kind)."""
    from vqspeech.io.tokens import is_token_dataset, read_token_meta

    if not is_token_dataset(path):
        return None
    kind = kinds().get(str(read_token_meta(path).get("kind")))
    return kind.family if kind is not None else None


def _checkpoint_family(path: Path) -> str | None:
    """The family of the kind a checkpoint records (None: not a readable checkpoint, or an unknown kind); the
    command that loads it reports what is wrong with it."""
    from vqspeech.errors import VQSpeechError
    from vqspeech.io.checkpoint import read_meta

    if not path.is_file() and path.suffix != ".safetensors":  # the name of a shipped model (-c voices)
        from vqspeech.io.shipped import PREFIX, shipped_models

        name = str(path).removeprefix(PREFIX).partition("/")[0]
        found = [next(iter(m.files)) for m in shipped_models() if m.name == name]
        kind = kinds().get(found[0]) if found else None
        return kind.family if kind is not None else None
    if not path.is_file() or path.suffix.lower() == ".vqs":
        return None
    try:
        kind = kinds().get(str(read_meta(path).get("kind")))
    except (VQSpeechError, OSError, ValueError):
        return None
    return kind.family if kind is not None else None


def family_for(verb: str, checkpoint: str | Path | None = None, data: Sequence[str | Path | None] = (),
               options: Collection[str] = ()) -> Family:
    """The family that serves ``verb``, asked in this order:

    1. the kind recorded in the checkpoint (``-c``, else ``$VQSPEECH_CHECKPOINT``);
    2. the kind recorded in a token dataset among ``data``, else the first family whose ``detect`` claims one
       of ``data`` (inputs, token files, a context episode);
    3. the one family whose ``verb`` takes every option in ``options`` (the family-only options given);
    4. the main family (``FAMILIES[0]``).
    """
    table = families()
    env = os.environ.get("VQSPEECH_CHECKPOINT")
    ckpt = Path(checkpoint) if checkpoint is not None else (Path(env) if env else None)
    name = _checkpoint_family(ckpt) if ckpt is not None else None
    if name is not None:
        return table[name]
    for item in data:
        if item is None or not Path(item).exists():
            continue
        name = _dataset_family(Path(item))
        if name is not None:
            return table[name]
        for fam in table.values():
            if fam.detect(Path(item)):
                return fam
    if options:
        fits = [f for f in table.values() if set(options) <= set(f.verb_options(verb))]
        if len(fits) == 1:
            return fits[0]
    return table[FAMILIES[0]]


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
