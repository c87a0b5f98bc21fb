"""CIFAR-10 "python version" batches: ``cifar-10-batches-py/data_batch_1..5``, ``test_batch`` and
``batches.meta``.

Each batch is a pickled dict with ``b"data"`` (``uint8 [N, 3072]``: 1024 red, 1024 green, 1024 blue values, each
plane row-major 32x32), ``b"labels"`` (N ints), ``b"batch_label"`` and ``b"filenames"``; ``batches.meta`` holds
``b"label_names"``.  Pickles can run code, so they are read with a restricted unpickler that only rebuilds plain
containers and numpy arrays; anything else is refused.  :func:`write_cifar_batch` writes the same layout.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.errors import InputError
from vqspeech.image.data.base import ArraySet

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
DIRNAME = "cifar-10-batches-py"


def _allowed() -> dict[tuple[str, str], Any]:
    import codecs

    core = getattr(np, "_core", None) or np.core  # numpy 2 moved numpy.core to numpy._core
    rec, scalar = core.multiarray._reconstruct, core.multiarray.scalar
    return {
        ("numpy.core.multiarray", "_reconstruct"): rec, ("numpy._core.multiarray", "_reconstruct"): rec,
        ("numpy.core.multiarray", "scalar"): scalar, ("numpy._core.multiarray", "scalar"): scalar,
        ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how protocol 2 stores bytes under Python 3
    }


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        table = _allowed()
        if (module, name) not in table:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return table[(module, name)]


def _unpickle(path: Path) -> dict[Any, Any]:
    try:
        with open(path, "rb") as f:
            obj = _SafeUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise InputError(f"{path}: no such CIFAR-10 batch file") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InputError(f"{path}: not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: not a CIFAR-10 python batch (a pickled {type(obj).__name__}, not a dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> ``(images uint8 [N, 32, 32, 3], labels int64 [N])``."""
    path = Path(path)
    d = _unpickle(path)
    if "data" not in d or not ("labels" in d or "fine_labels" in d):
        raise InputError(f"{path}: not a CIFAR-10 python batch (keys {sorted(map(str, d))}, need data and labels)")
    data = np.asarray(d["data"])
    labels = np.asarray(d.get("labels", d.get("fine_labels")), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise InputError(f"{path}: data must be uint8 [N, 3072], got {data.dtype} {list(data.shape)}")
    if labels.shape != (data.shape[0],):
        raise InputError(f"{path}: {data.shape[0]} images but {labels.size} labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def read_label_names(path: str | Path) -> list[str]:
    """``batches.meta`` -> class names."""
    path = Path(path)
    d = _unpickle(path)
    names = d.get("label_names")
    if not isinstance(names, list):
        raise InputError(f"{path}: no label_names list in this batches.meta")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def find_cifar_dir(root: str | Path) -> Path | None:
    """``root`` itself or ``root/cifar-10-batches-py`` when it holds the batch files, else None."""
    root = Path(root)
    for d in (root, root / DIRNAME):
        if (d / TEST_BATCH).is_file() or (d / TRAIN_BATCHES[0]).is_file():
            return d
    return None


def load_cifar10(root: str | Path, split: str) -> ArraySet:
    """The ``train`` (``data_batch_*``) or ``test`` (``test_batch``) split under ``root``."""
    d = find_cifar_dir(root)
    if d is None:
        raise InputError(f"{root}: no CIFAR-10 batches here (expected {DIRNAME}/data_batch_1 ... test_batch)")
    names = [n for n in TRAIN_BATCHES if (d / n).exists()] if split == "train" else [TEST_BATCH]
    if not names or not (d / names[0]).exists():
        raise InputError(f"{d}: no {'data_batch_*' if split == 'train' else TEST_BATCH} file for the {split} split")
    parts = [read_cifar_batch(d / n) for n in names]
    labels = np.concatenate([p[1] for p in parts])
    classes = read_label_names(d / META) if (d / META).exists() else [str(i) for i in range(10)]
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise InputError(f"{d}: labels outside 0..{len(classes) - 1} of the {len(classes)} names in {META}")
    ids = [f"{n}:{i}" for n, p in zip(names, parts, strict=True) for i in range(len(p[1]))]
    return ArraySet(np.concatenate([p[0] for p in parts]), labels, classes, ids)


def write_cifar_batch(path: str | Path, images: np.ndarray, labels: np.ndarray, batch_label: str,
                      filenames: list[str] | None = None) -> None:
    """Write ``images uint8 [N, 32, 32, 3]`` and ``labels`` as a CIFAR-10 python batch (pickle protocol 2)."""
    from vqspeech.io.atomic import atomic_write

    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f"CIFAR-10 images are [N, 32, 32, 3], got {list(images.shape)}")
    names = filenames or [f"image_{i:05d}.png" for i in range(len(images))]
    obj = {
        b"batch_label": batch_label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072).copy(),
        b"filenames": [n.encode() for n in names],
    }
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(pickle.dumps(obj, protocol=2)))


def write_label_names(path: str | Path, classes: list[str], per_batch: int) -> None:
    """Write ``batches.meta``."""
    from vqspeech.io.atomic import atomic_write

    obj = {b"label_names": [c.encode() for c in classes], b"num_cases_per_batch": per_batch, b"num_vis": 3072}
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(pickle.dumps(obj, protocol=2)))
