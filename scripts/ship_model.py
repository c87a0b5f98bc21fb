"""Copy a trained speech VQ-VAE and its prior into the package (``vqspeech/shipped/<name>/``) so that they ship in
the wheel: the prior's ``vqvae_path`` becomes ``shipped:<name>/vqvae.safetensors`` (no machine path), sizes are
checked against the 20 MB budget before anything is written, and the model card given with ``--card`` and the
run's ``split.json`` (its held-out ids) are copied beside them; each file is written atomically.

    python scripts/ship_model.py runs/voices/checkpoints/last.safetensors \
        runs/voices_prior/checkpoints/last.safetensors --name voices --card docs/voices/MODEL_CARD.md
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

BUDGET = 20e6  # bytes, both checkpoints together


def main() -> None:
    from safetensors.torch import save_file

    from vqspeech.io.atomic import sha256_file
    from vqspeech.io.checkpoint import META_KEY, atomic_write, load_state
    from vqspeech.io.shipped import PREFIX, SHIPPED_DIR

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vqvae", type=Path)
    ap.add_argument("prior", type=Path)
    ap.add_argument("--name", default="voices")
    ap.add_argument("--card", type=Path, required=True)
    a = ap.parse_args()
    weights, meta = load_state(a.prior)
    if meta.get("vqvae_sha256") != sha256_file(a.vqvae):
        raise SystemExit(f"error: {a.prior} is not a prior of {a.vqvae} (sha256 differs)")
    size = a.vqvae.stat().st_size + a.prior.stat().st_size
    if size > BUDGET:
        raise SystemExit(f"error: {size / 1e6:.1f} MB is over the {BUDGET / 1e6:.0f} MB budget of shipped models")
    split = a.vqvae.resolve().parents[1] / "split.json"  # evaluate and codec_compare find the held-out ids beside
    out = SHIPPED_DIR / a.name
    out.mkdir(parents=True, exist_ok=True)
    meta["vqvae_path"] = f"{PREFIX}{a.name}/vqvae.safetensors"
    tensors = {k: v.contiguous() for k, v in weights.items()}
    header = {META_KEY: json.dumps(meta)}
    atomic_write(out / "prior.safetensors", lambda tmp: save_file(tensors, str(tmp), metadata=header))
    figures = [(png, png.name) for png in sorted(a.card.parent.glob("*.png"))]  # the card's figures beside it
    for src, dst in [(a.vqvae, "vqvae.safetensors"), (a.card, "MODEL_CARD.md"), (split, "split.json"), *figures]:
        if src.exists():
            atomic_write(out / dst, lambda tmp, src=src: shutil.copyfile(src, tmp))
    print(f"shipped {a.name}: {size / 1e6:.2f} MB -> {out}")


if __name__ == "__main__":
    main()
