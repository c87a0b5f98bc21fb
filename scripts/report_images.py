#!/usr/bin/env python
"""Training curves of the image demo's three models (VQ-VAE, continuous VAE, PixelCNN prior) from their
``metrics.jsonl``: ``python scripts/report_images.py RUN_VQVAE RUN_VAE RUN_PRIOR OUT.png`` (the figure of the
HTML page, :func:`vqspeech.image.report.image_curves`)."""

from __future__ import annotations

import sys
from pathlib import Path

from vqspeech.image.report import image_curves

if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    image_curves([Path(a) for a in sys.argv[1:4]], Path(sys.argv[4]))
