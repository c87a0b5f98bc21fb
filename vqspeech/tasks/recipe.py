"""Recipes: YAML with ``task`` and the sections ``data``, ``model``, ``quantizer``, ``train``.

Every key has a default here (the schema); a recipe or ``--set section.key=value`` may only change known keys,
and only with a value of the default's type.  Errors name the key.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from vqspeech.errors import ConfigError

_TRAIN = {
    "max_steps": 1000, "batch_size": 8, "lr": 2e-4, "seed": 0, "checkpoint_every": 500, "log_every": 10,
    "valid_every": 500, "valid_batches": 4, "precision": "fp32", "grad_clip": 0.0, "max_minutes": 0.0,
}
_QUANTIZER = {
    "num_codes": 512, "dim": 64, "beta": 0.25, "ema": False, "decay": 0.99, "restart_threshold": 0.0,
    "init": "none", "chunk_size": 8192,
}
_WAVENET = {"residual_channels": 64, "gate_channels": 128, "skip_channels": 64, "layers": 10, "cycle": 10}
_AUDIO_DATA = {
    "root": "", "layout": "auto", "mic": "mic1", "sample_rate": 16000, "trim_silence": False, "top_db": 40.0,
    "valid_fraction": 0.05, "unseen_speakers": [], "max_utterances": 0,
}

SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "speech-vqvae": {
        "data": {**_AUDIO_DATA, "crop_samples": 16384},
        "model": {"encoder_channels": 256, "downsample_layers": 6, "encoder_kernel": 4, "cond_channels": 128,
                  "speaker_dim": 64, **_WAVENET},
        "quantizer": dict(_QUANTIZER),
        "train": dict(_TRAIN),
    },
    "speech-prior": {
        "data": {**_AUDIO_DATA, "tokens": "", "vqvae": "", "crop_codes": 320},
        "model": {"speaker_dim": 0, **_WAVENET, "cycle": 10},
        "quantizer": {},
        "train": dict(_TRAIN),
    },
}
CHOICES = {
    ("data", "layout"): ("auto", "vctk", "librispeech", "generic", "manifest"),
    ("data", "mic"): ("mic1", "mic2"),
    ("quantizer", "init"): ("none", "random", "kmeans"),
    ("train", "precision"): ("fp32", "bf16"),
}


def _type_ok(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(default))


def resolve(raw: dict[str, Any], source: str = "recipe") -> dict[str, Any]:
    """Validate a recipe dict against its task's schema and fill in defaults."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a recipe is a YAML mapping")
    task = raw.get("task")
    if task not in SCHEMAS:
        raise ConfigError(f"{source}: task must be one of {', '.join(SCHEMAS)}, not {task!r}")
    schema = SCHEMAS[task]
    out: dict[str, Any] = {"task": task}
    for key in raw:
        if key != "task" and key not in schema:
            raise ConfigError(f"{source}: unknown section {key!r} (sections: {', '.join(schema)})")
    for section, defaults in schema.items():
        given = raw.get(section) or {}
        if not isinstance(given, dict):
            raise ConfigError(f"{source}: {section} must be a mapping")
        merged = copy.deepcopy(defaults)
        for key, value in given.items():
            name = f"{section}.{key}"
            if key not in defaults:
                raise ConfigError(f"{source}: unknown key {name!r} (known: {', '.join(defaults) or 'none'})")
            if isinstance(defaults[key], float) and isinstance(value, str):
                try:  # PyYAML reads 2e-4 (no dot) as a string
                    value = float(value)
                except ValueError:
                    pass
            if not _type_ok(value, defaults[key]):
                raise ConfigError(
                    f"{source}: {name} must be {type(defaults[key]).__name__}, got {type(value).__name__} {value!r}"
                )
            allowed = CHOICES.get((section, key))
            if allowed and value not in allowed:
                raise ConfigError(f"{source}: {name} must be one of {', '.join(allowed)}, not {value!r}")
            merged[key] = float(value) if isinstance(defaults[key], float) else value
        out[section] = merged
    return out


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML) to a raw recipe dict."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        section, name = key.split(".", 1)
        raw.setdefault(section, {})
        if raw[section] is None:
            raw[section] = {}
        raw[section][name] = yaml.safe_load(value) if value != "" else ""
    return raw


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Read, override and validate a recipe file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such recipe")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return resolve(apply_overrides(raw, overrides or []), str(p))
