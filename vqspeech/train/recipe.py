"""Typed recipes: every task kind declares a dataclass schema (sections ``data``, ``model``, ``quantizer``,
``train``), and this module turns YAML plus ``--set section.key=value`` overrides into an instance of it.

Unknown keys and wrong types are :class:`ConfigError` naming the key (and the nearest known key); choices are
``Literal`` types.  The shared sections :class:`TrainConfig` and :class:`QuantizerConfig` live here, so every
family spells them the same way.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml

from vqspeech.errors import ConfigError

if TYPE_CHECKING:
    from vqspeech.quantize import VectorQuantizer

T = TypeVar("T")


@dataclass
class TrainConfig:
    """Section ``train``: the one loop's settings (shared by every task)."""

    max_steps: int = 1000
    batch_size: int = 8
    lr: float = 2e-4
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 10
    valid_every: int = 500
    valid_batches: int = 4
    precision: Literal["fp32", "bf16"] = "fp32"
    grad_clip: float = 0.0
    max_minutes: float = 0.0
    compile: bool = False  # torch.compile the model's hot modules (its compile_targets); eager if that fails
    lr_schedule: Literal["constant", "cosine"] = "constant"  # cosine: from lr down to lr * lr_final over the run
    lr_final: float = 0.1  # cosine's end, as a fraction of lr
    warmup_steps: int = 0  # linear warm-up from lr / warmup_steps
    # two-stage schedule (VQ-VAE kinds): from this step on the encoder and codebook are frozen and only the
    # decoder trains, on codes that no longer move (0: off, one stage as in the paper)
    freeze_codes_after: int = 0

    def __post_init__(self) -> None:
        positive(self, "batch_size", "log_every", "valid_batches", "lr")
        non_negative(self, "max_steps", "checkpoint_every", "valid_every", "grad_clip", "max_minutes", "lr_final",
                     "warmup_steps", "freeze_codes_after")


@dataclass
class QuantizerConfig:
    """Section ``quantizer``: the arguments of :class:`vqspeech.quantize.VectorQuantizer`.

    ``restart_threshold`` is relative to the expected use of one code (``1 / num_codes`` of the vectors of a
    step, summed over ranks): a code is re-seeded when its usage EMA falls below ``threshold x expected``, so
    the setting means the same at any batch size or number of GPUs (0 disables restarts).
    """

    num_codes: int = 512
    dim: int = 64
    beta: float = 0.25
    ema: bool = False
    decay: float = 0.99
    restart_threshold: float = 0.0
    init: Literal["none", "random", "kmeans"] = "none"
    chunk_size: int = 8192

    def __post_init__(self) -> None:
        positive(self, "num_codes", "dim", "chunk_size")
        non_negative(self, "beta", "restart_threshold")
        if not 0 < self.decay < 1:
            raise ValueError(f"quantizer.decay must be between 0 and 1, not {self.decay}")

    def build(self, dim: int | None = None) -> VectorQuantizer:
        """The quantizer of this section, the same way for every family: ``restart_threshold`` relative to the
        expected use of one code (the usage EMA's mean, whose counts are summed over DDP ranks), so the setting
        means the same at any batch size and number of GPUs.  ``dim``: the code size when a model sets it
        (default ``self.dim``)."""
        from vqspeech.quantize import VectorQuantizer

        return VectorQuantizer(self.num_codes, self.dim if dim is None else dim, beta=self.beta, ema=self.ema,
                               decay=self.decay, chunk_size=self.chunk_size, restart_threshold=self.restart_threshold,
                               restart_relative=True, init=self.init)


def positive(section: Any, *names: str) -> None:
    """Raise ``ValueError`` naming the first of ``names`` that is not > 0 (recipe schemas call it)."""
    for n in names:
        if getattr(section, n) <= 0:
            raise ValueError(f"{n} must be > 0, not {getattr(section, n)}")


def non_negative(section: Any, *names: str) -> None:
    for n in names:
        if getattr(section, n) < 0:
            raise ValueError(f"{n} must be >= 0, not {getattr(section, n)}")


@dataclass
class NoSection:
    """A section a task does not use (it must be empty or absent)."""


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if typing.get_origin(tp) is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, name: str, source: str, from_text: bool) -> Any:
    """Check (and, for ``--set`` text, parse) ``value`` against the annotation ``tp``."""
    if isinstance(value, str):
        value = "" + value  # a plain str (not the _Text marker), so configs dump as YAML
    origin = typing.get_origin(tp)
    bad = ConfigError(f"{source}: {name} must be {_describe(tp)}, got {type(value).__name__} {value!r}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise bad
        return value
    if origin in (typing.Union, types.UnionType):  # "X | None"
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (from_text and value in ("", "null", "none")):
            return None
        return _coerce(value, args[0], name, source, from_text)
    if origin is list:
        if from_text and isinstance(value, str):
            try:
                value = yaml.safe_load(value) if value.strip() else []
            except yaml.YAMLError:
                raise ConfigError(f"{source}: {name}: {value!r} is not a YAML list such as [a, b]") from None
        if not isinstance(value, list):
            raise bad
        return [_coerce(v, typing.get_args(tp)[0], name, source, False) for v in value]
    if tp is bool:
        if from_text and isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if from_text and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad
        return value
    if tp is float:
        if isinstance(value, str):  # PyYAML reads 2e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise bad
        return float(value)
    if tp is str:
        if from_text or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value)  # numeric ids (LibriSpeech speakers 19, 198) are names too
        raise bad
    raise ConfigError(f"{source}: {name}: unsupported field type {tp!r}")  # a schema bug, not user input


def _unknown(source: str, name: str, known: list[str]) -> ConfigError:
    near = difflib.get_close_matches(name.rsplit(".", 1)[-1], known, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return ConfigError(f"{source}: unknown key {name!r}{hint} (known: {', '.join(known) or 'none'})")


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as plain JSON/YAML-able data."""
    return dataclasses.asdict(obj)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings to a raw recipe mapping (values stay text: typed later per field)."""
    import copy

    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        section, name = key.split(".", 1)
        if raw.get(section) is None:
            raw[section] = {}
        if not isinstance(raw[section], dict):
            raise ConfigError(f"--set {item!r}: {section} is not a section")
        raw[section][name] = _Text(value)
    return raw


class _Text(str):
    """A value that came from ``--set`` (parsed by the field's type, not by YAML)."""


def build(cls: type[T], raw: dict[str, Any], source: str) -> T:
    """Validate ``raw`` (a recipe mapping, possibly holding ``--set`` text values) into ``cls``."""
    return _build(cls, raw, source, "")


def _build(cls: type[T], raw: Any, source: str, prefix: str) -> T:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'the recipe'} must be a mapping")
    hints = _hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise _unknown(source, name, sorted(fields))
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, value, source, f"{name}.")
        else:
            kwargs[key] = _coerce(value, tp, name, source, isinstance(value, _Text))
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {prefix}{exc}") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A recipe file as a mapping (errors name the file)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such recipe")
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory, not a recipe")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: a recipe is a YAML mapping")
    return raw


def dump_yaml(cfg: Any) -> str:
    """The resolved recipe as YAML (``task`` first)."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


__all__ = ["TrainConfig", "QuantizerConfig", "NoSection", "build", "to_dict", "apply_overrides", "read_yaml",
           "dump_yaml"]
