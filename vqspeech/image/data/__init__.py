"""Image corpora: CIFAR-10 python batches, ImageNet folders, generic class folders, the embedded demo patches."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vqspeech.errors import InputError
from vqspeech.image.data.base import ArraySet, FileSet, ImageSet, read_image
from vqspeech.image.data.cifar10 import find_cifar_dir, load_cifar10
from vqspeech.image.data.folders import load_folders
from vqspeech.image.data.imagenet import is_imagenet, load_imagenet

LAYOUTS = ("auto", "cifar10", "imagenet", "folders")


def detect_layout(root: str | Path) -> str:
    """``cifar10``, ``imagenet`` or ``folders`` for the data under ``root``."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root}: no such file or folder")
    if root.is_file() or find_cifar_dir(root) is not None:
        return "cifar10"
    if is_imagenet(root):
        return "imagenet"
    return "folders"


def load_images(root: str | Path, split: str, *, layout: str = "auto", image_size: int = 32,
                resize: bool = False, valid_fraction: float = 0.1, seed: int = 0) -> ImageSet:
    """The ``train`` or ``test`` split of the corpus under ``root`` (test = CIFAR ``test_batch``, ImageNet
    ``val``, a seeded fraction of generic folders)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be train, test or all, not {split!r}")
    kind = detect_layout(root) if layout == "auto" else layout
    if kind == "cifar10":
        if image_size != 32:
            raise InputError(f"{root}: CIFAR-10 images are 32x32, but image_size is {image_size}")
        if split == "all":
            a, b = load_cifar10(root, "train"), load_cifar10(root, "test")
            return ArraySet(np.concatenate([a.data, b.data]), np.concatenate([a.labels, b.labels]), a.classes,
                      a.ids + b.ids)
        return load_cifar10(root, split)
    if kind == "imagenet":
        return load_imagenet(root, "train" if split == "train" else "val", image_size)
    if kind == "folders":
        return load_folders(root, split, image_size, resize=resize, valid_fraction=valid_fraction, seed=seed)
    raise InputError(f"data.layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")


__all__ = ["ArraySet", "FileSet", "ImageSet", "LAYOUTS", "detect_layout", "load_images", "read_image"]
