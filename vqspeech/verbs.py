"""The shared verbs that dispatch on a recipe's or a file's kind: ``train`` and ``info`` (the CLI and the Python
API call these; family commands do the rest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vqspeech import registry
from vqspeech.errors import InputError
from vqspeech.io.atomic import sha256_file
from vqspeech.io.checkpoint import read_meta
from vqspeech.io.runs import default_run_dir
from vqspeech.io.tokens import is_token_dataset, read_token_meta, read_tokens
from vqspeech.train.recipe import apply_overrides, build, read_yaml


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Any:
    """Read a recipe, apply ``--set`` overrides and validate it against its kind's schema."""
    raw = apply_overrides(read_yaml(path), list(overrides or []))
    kind = registry.get(raw.get("task"), str(path))
    return build(kind.config, raw, str(path))


def train(
    recipe: str | Path, *, out: str | Path | None = None, overrides: list[str] | None = None, resume: bool = False,
    max_steps: int | None = None, device: str = "auto", task: Any = None,
) -> Path:
    """Train the task a recipe names; returns the final checkpoint path.  ``task``: a ready-made
    :class:`vqspeech.train.task.Task` to use instead of the kind's own (tests inject one this way)."""
    from vqspeech.train.loop import setup
    from vqspeech.train.loop import train as loop

    overrides = list(overrides or [])
    if max_steps is not None:
        overrides.append(f"train.max_steps={max_steps}")
    run_dir = Path(out) if out else default_run_dir(recipe)
    if resume:
        if not (run_dir / "config.yaml").exists() or not (run_dir / "train_state.pt").exists():
            raise InputError(f"--resume: {run_dir} has no config.yaml/train_state.pt to resume from")
        cfg = load_recipe(run_dir / "config.yaml", overrides)
    else:
        cfg = load_recipe(recipe, overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = setup(device)  # under torchrun: the process group exists before the task builds rank-0 caches
    if task is None:
        task = registry.get(cfg.task).task(cfg, run_dir, dev)
    return loop(cfg, task, run_dir, resume=resume, device=device)


def describe(path: str | Path) -> str:
    """A readable description of a checkpoint (``.safetensors``) or a token dataset directory."""
    p = Path(path)
    if is_token_dataset(p):
        meta = read_token_meta(p)
        rows = read_tokens(p, columns=("id", "codes", "shape"))
        n_codes = sum(len(r["codes"]) for r in rows)
        lines = [f"token dataset: {p}", f"items: {len(rows)}", f"codes: {n_codes}"]
        if meta.get("frame_rate"):
            lines.append(f"seconds: {n_codes / meta['frame_rate']:.1f}")
        lines += [f"{k}: {v}" for k, v in meta.items()]
        return "\n".join(lines)
    if not p.exists():
        raise InputError(f"{p}: no such file or directory")
    if p.is_dir():
        raise InputError(f"{p}: neither a checkpoint nor a token dataset (no _meta.json)")
    from vqspeech.speech import codec

    if codec.is_vqs(p):
        return codec.describe(p)
    if p.suffix.lower() in (".npz", ".txt"):  # one token file: an npz item or a units file
        rows = read_tokens(p)
        return "\n".join([f"token file: {p}", f"items: {len(rows)}",
                          f"codes: {sum(len(r['codes']) for r in rows)}",
                          f"shapes: {sorted({tuple(r['shape']) for r in rows})[:5]}"])
    meta = read_meta(p)
    lines = [f"checkpoint: {p}", f"kind: {meta.get('kind')}", f"sha256: {sha256_file(p)}",
             f"size: {p.stat().st_size / 2**20:.1f} MiB"]
    skip = {"kind", "config"}
    for key, value in meta.items():
        if key not in skip:
            lines.append(f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    lines.append("config: " + json.dumps(meta.get("config", {})))
    return "\n".join(lines)


def models() -> list[dict[str, Any]]:
    """The models shipped in the package: name, family, kinds, voices (speech), sample rate, size, model card."""
    from vqspeech.io.shipped import shipped_models

    out = []
    for m in shipped_models():
        metas = {kind: read_meta(p) for kind, p in m.files.items()}
        first = next(iter(metas.values()))
        out.append({
            "name": m.name, "family": registry.get(first.get("kind"), str(m.folder)).family,
            "kinds": list(m.files), "voices": first.get("speakers") or [], "sample_rate": first.get("sample_rate"),
            "steps": {k: v.get("step") for k, v in metas.items()}, "size_mb": m.size_bytes / 1e6,
            "card": str(m.card) if m.card.exists() else "",
        })
    return out
