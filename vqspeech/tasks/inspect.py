"""``vqspeech info``: describe a checkpoint or a token dataset."""

from __future__ import annotations

import json
from pathlib import Path

from vqspeech.errors import InputError
from vqspeech.formats.checkpoint import read_meta, sha256_file


def describe(path: str | Path) -> str:
    """A readable description of a checkpoint (``.safetensors``) or a token dataset directory."""
    p = Path(path)
    if p.is_dir() and (p / "meta.json").exists():
        from vqspeech.formats.tokens import read_token_meta, read_tokens

        meta = read_token_meta(p)
        rows = read_tokens(p)
        n_codes = sum(len(r["codes"]) for r in rows)
        lines = [f"token dataset: {p}", f"utterances: {len(rows)}", f"codes: {n_codes}",
                 f"seconds: {n_codes / meta['frame_rate']:.1f}"]
        lines += [f"{k}: {v}" for k, v in meta.items()]
        return "\n".join(lines)
    if not p.exists():
        raise InputError(f"{p}: no such file or directory")
    if p.is_dir():
        raise InputError(f"{p}: neither a checkpoint nor a token dataset (no meta.json)")
    meta = read_meta(p)
    lines = [f"checkpoint: {p}", f"kind: {meta.get('kind')}", f"sha256: {sha256_file(p)}",
             f"size: {p.stat().st_size / 2**20:.1f} MiB"]
    for key in ("format_version", "step", "sample_rate", "hop_length", "num_codes", "vqvae_path", "vqvae_sha256"):
        if key in meta:
            lines.append(f"{key}: {meta[key]}")
    lines.append(f"speakers: {', '.join(meta.get('speakers', []))}")
    lines.append("config: " + json.dumps(meta.get("config", {})))
    return "\n".join(lines)
