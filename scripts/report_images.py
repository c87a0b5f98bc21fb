#!/usr/bin/env python
"""Training curves of the image demo's three models (VQ-VAE, continuous VAE, PixelCNN prior) from their
``metrics.jsonl``: ``python scripts/report_images.py RUN_VQVAE RUN_VAE RUN_PRIOR OUT.png``."""

from __future__ import annotations

import sys
from pathlib import Path

from report import _plt, _rows

CURVES = [  # (run argument, metric key, label, axis)
    (0, "bits_per_dim_recon", "VQ-VAE: reconstruction -ln p(x|z) (bits/dim)", 0),
    (1, "neg_elbo_bits_per_dim", "VAE: negative ELBO (bits/dim)", 0),
    (1, "recon_bits_per_dim", "VAE: reconstruction part (bits/dim)", 0),
    (2, "bits_per_code", "PixelCNN prior: NLL of the codes (bits/code)", 1),
]


def image_curves(runs: list[Path], out: Path) -> None:
    """One figure: the likelihood terms of the two autoencoders per step (left), the prior's NLL (right)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, key, label, ax in CURVES:
        rows = [r for r in _rows(runs[i] / "metrics.jsonl") if key in r and "images" not in r]
        if rows:
            axes[ax].plot([r["step"] for r in rows], [r[key] for r in rows], lw=0.9, label=label)
    for ax, ylabel in zip(axes, ("bits / dim (training batches)", "bits / code"), strict=True):
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    image_curves([Path(a) for a in sys.argv[1:4]], Path(sys.argv[4]))
