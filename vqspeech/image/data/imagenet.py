"""ImageNet folders: ``ROOT/train/<wnid>/*.JPEG`` and ``ROOT/val/<wnid>/*.JPEG`` (class = the wnid folder;
the class list is taken from ``train/`` so train and val labels agree).  Images are decoded on demand, scaled so
the shorter side is ``image_size`` and centre-cropped; grayscale and CMYK JPEGs (a few exist in ImageNet) are
converted to RGB."""

from __future__ import annotations

from pathlib import Path

from vqspeech.errors import InputError
from vqspeech.image.data.base import IMAGE_SUFFIXES, FileSet, class_folders, files_by_class


def is_imagenet(root: str | Path) -> bool:
    root = Path(root)
    return (root / "train").is_dir() and (root / "val").is_dir()


def load_imagenet(root: str | Path, split: str, image_size: int) -> FileSet:
    """The ``train`` or ``val`` split (``test`` is read as ``val``)."""
    root = Path(root)
    if not is_imagenet(root):
        raise InputError(f"{root}: not an ImageNet layout (expected train/<wnid>/*.JPEG and val/<wnid>/*.JPEG)")
    classes = [p.name for p in class_folders(root / "train")]
    if not classes:
        raise InputError(f"{root / 'train'}: no class folders")
    sub = root / ("train" if split == "train" else "val")
    unknown = sorted({p.name for p in class_folders(sub)} - set(classes))
    if unknown:
        raise InputError(f"{sub}: class folders not in train/: {', '.join(unknown[:5])}")
    paths, labels = files_by_class(sub, classes, IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"{sub}: no .JPEG/.png images in its class folders")
    return FileSet(paths, labels, classes, image_size, resize=True, allow_gray=True)
