"""Generic image folders: ``ROOT/<class>/*.{png,jpg,jpeg}``; classes are the sorted folder names.  With no
split of its own, the held-out part is a seeded fraction of the files."""

from __future__ import annotations

from pathlib import Path

from vqspeech.errors import InputError
from vqspeech.image.data.base import IMAGE_SUFFIXES, FileSet, class_folders, files_by_class, seeded_split, subset


def load_folders(root: str | Path, split: str, image_size: int, *, resize: bool = False,
                 valid_fraction: float = 0.1, seed: int = 0) -> FileSet:
    """``split``: ``train``, ``test`` (the seeded held-out fraction) or ``all``."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such image folder")
    classes = [p.name for p in class_folders(root)]
    if not classes:
        raise InputError(f"{root}: no class folders (expected ROOT/<class>/*.png|jpg)")
    paths, labels = files_by_class(root, classes, IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"{root}: no .png/.jpg images in its class folders")
    full = FileSet(paths, labels, classes, image_size, resize=resize)
    if split == "all":
        return full
    train, test = seeded_split(len(paths), valid_fraction, seed)
    return subset(full, train if split == "train" else test)  # type: ignore[return-value]
