"""Image sets: uint8 RGB images ``[N, H, W, 3]`` with integer labels and class names, held in memory
(CIFAR-10) or decoded from files on demand (ImageNet, folders), and the one image-file reader."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vqspeech.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageSet(ABC):
    """A labelled set of RGB images of one size.

    ``len(s)``; ``s.labels``: ``int64 [N]``; ``s.classes``: class names (label ``i`` is ``classes[i]``);
    ``s.images(idx)`` -> ``uint8 [n, size, size, 3]``; ``s.ids[i]``: a stable id (file path or batch:row).
    """

    classes: list[str]
    labels: np.ndarray
    ids: list[str]
    size: int

    def __len__(self) -> int:
        return len(self.labels)

    @abstractmethod
    def images(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """``uint8 [n, size, size, 3]`` for the indices ``idx``."""


@dataclass
class ArraySet(ImageSet):
    """Images held in memory."""

    data: np.ndarray  # uint8 [N, H, W, 3]
    labels: np.ndarray
    classes: list[str]
    ids: list[str]

    def __post_init__(self) -> None:
        self.size = int(self.data.shape[1])

    def images(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.data[np.asarray(idx, dtype=np.int64)]


@dataclass
class FileSet(ImageSet):
    """Images decoded from files when asked for (a large corpus is never held decoded in RAM)."""

    paths: list[Path]
    labels: np.ndarray
    classes: list[str]
    size: int
    resize: bool
    allow_gray: bool = False

    def __post_init__(self) -> None:
        self.ids = [str(p) for p in self.paths]

    def images(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((len(idx), self.size, self.size, 3), dtype=np.uint8)
        for n, i in enumerate(idx):
            out[n] = read_image(self.paths[int(i)], self.size, resize=self.resize, allow_gray=self.allow_gray)
        return out


def read_image(path: str | Path, size: int | None = None, *, resize: bool = False,
               allow_gray: bool = False) -> np.ndarray:
    """One image file as ``uint8 [H, W, 3]``.

    ``size``: the side the model needs; with ``resize`` the shorter side is scaled to it and the centre cropped,
    otherwise another size is an error.  Grayscale images are an error unless ``allow_gray`` (then replicated to
    RGB); an alpha channel is dropped.  Every failure is one :class:`InputError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            mode = im.mode
            if mode in ("L", "LA", "I", "I;16", "F", "1") and not allow_gray:
                raise InputError(f"{p}: is a grayscale image (mode {mode}); the image models take RGB images "
                                 "(convert it to RGB first)")
            if mode == "P":
                im = im.convert("RGBA")
            rgb = im.convert("RGB")
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{p}: no such image file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{p}: not a readable image ({exc})") from None
    if size is not None and rgb.size != (size, size):
        if not resize:
            raise InputError(f"{p}: is {rgb.size[0]}x{rgb.size[1]}, the model takes {size}x{size} images "
                             "(resize or crop it, or set data.resize: true)")
        w, h = rgb.size
        s = size / min(w, h)
        rgb = rgb.resize((max(size, round(w * s)), max(size, round(h * s))), Image.Resampling.BICUBIC)
        w, h = rgb.size
        left, top = (w - size) // 2, (h - size) // 2
        rgb = rgb.crop((left, top, left + size, top + size))
    return np.asarray(rgb, dtype=np.uint8)


def class_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` (one per class), sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def files_by_class(root: Path, classes: list[str], suffixes: tuple[str, ...]) -> tuple[list[Path], np.ndarray]:
    """Image files of ``root/<class>/`` for the given classes (sorted), and their labels."""
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        d = root / name
        if not d.is_dir():
            continue
        files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        paths += files
        labels += [label] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


def seeded_split(n: int, valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train indices, held-out indices)`` of ``n`` items: a seeded permutation, at least one held out."""
    if not 0.0 < valid_fraction < 1.0:
        raise InputError(f"valid_fraction must be in (0, 1), not {valid_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * valid_fraction)) if n > 1 else 0
    return np.sort(perm[k:]), np.sort(perm[:k])


def subset(s: ImageSet, idx: np.ndarray) -> ImageSet:
    """The items ``idx`` of ``s`` (same classes)."""
    if isinstance(s, ArraySet):
        return ArraySet(s.data[idx], s.labels[idx], s.classes, [s.ids[i] for i in idx])
    if isinstance(s, FileSet):
        return FileSet([s.paths[i] for i in idx], s.labels[idx], s.classes, s.size, s.resize, s.allow_gray)
    raise TypeError(type(s).__name__)
