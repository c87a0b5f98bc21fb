"""Copy a trained speech VQ-VAE and its prior into the package (``vqspeech/shipped/<name>/``) so that they ship in
the wheel: the prior's ``vqvae_path`` becomes ``shipped:<name>/vqvae.safetensors`` (no machine path), sizes are
checked against the 20 MB budget, and the model card given with ``--card`` is copied beside them.

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
    from vqspeech.io.checkpoint import META_KEY, load_state
    from vqspeech.io.shipped import PREFIX, SHIPPED_DIR

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vqvae", type=Path)
    ap.add_argument("prior", type=Path)
    ap.add_argument("--name", default="voices")
    ap.add_argument("--card", type=Path, required=True)
    a = ap.parse_args()
    out = SHIPPED_DIR / a.name
    out.mkdir(parents=True, exist_ok=True)
    vq = out / "vqvae.safetensors"
    shutil.copyfile(a.vqvae, vq)
    weights, meta = load_state(a.prior)
    if meta.get("vqvae_sha256") != sha256_file(vq):
        raise SystemExit(f"error: {a.prior} is not a prior of {a.vqvae} (sha256 differs)")
    meta["vqvae_path"] = f"{PREFIX}{a.name}/vqvae.safetensors"
    save_file({k: v.contiguous() for k, v in weights.items()}, str(out / "prior.safetensors"),
              metadata={META_KEY: json.dumps(meta)})
    shutil.copyfile(a.card, out / "MODEL_CARD.md")
    size = vq.stat().st_size + (out / "prior.safetensors").stat().st_size
    print(f"shipped {a.name}: {size / 1e6:.2f} MB -> {out}")
    if size > BUDGET:
        raise SystemExit(f"error: {size / 1e6:.1f} MB is over the {BUDGET / 1e6:.0f} MB budget of shipped models")


if __name__ == "__main__":
    main()
