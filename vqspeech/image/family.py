"""The image family's declaration for the registry: what image data looks like and the options of its shared
verbs.  Light: no model code is imported here."""

from __future__ import annotations

from pathlib import Path

from vqspeech.registry import Family, Option


def _code_maps(path: Path) -> bool:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return "codes" in z.files and z["codes"].ndim == 2 and "actions" not in z.files
    except (OSError, ValueError):
        return False


def detect(path: Path) -> bool:
    """A CIFAR-10 folder (``cifar-10-batches-py/`` or its batches), an ImageNet root, class folders of images, or
    a token ``.npz`` of one code map ``[h, w]``."""
    if path.is_file():
        return path.suffix.lower() == ".npz" and _code_maps(path)
    return ((path / "cifar-10-batches-py").is_dir() or (path / "data_batch_1").is_file()
            or any(path.glob("*/*.png")) or any(path.glob("*/*.jpg")) or any(path.glob("*/*.JPEG"))
            or any(path.glob("*/*/*.JPEG")))


FAMILY = Family(
    name="image",
    detect=detect,
    options={
        "encode": {
            "batch_size": Option(int, "images per encoder batch (default 64)"),
            "split": Option(str, "train, test or all (default all)"),
        },
        "sample": {
            "label": Option(str, "class name or index (class-conditional prior)"),
            "temperature": Option(float, "sampling temperature (0: argmax; default 1)"),
            "ncol": Option(int, "columns of the PNG grid (default 8)"),
        },
        "evaluate": {
            "prior": Option(Path, "the VQ-VAE's prior (adds the learned-prior bound)"),
            "vae": Option(Path, "a continuous VAE to compare on the same images"),
            "out_dir": Option(Path, "write reconstruction (and sample) grids here"),
            "max_items": Option(int, "held-out images to score (default 1000)", arg="max_images"),
            "samples": Option(int, "prior samples in the report's grid (0: none; default 16)"),
            "valid_fraction": Option(float, "held-out share of a class-folder corpus (the training split's; "
                                            "default 0.1)"),
        },
    },
)
