"""``vqspeech corpus images OUT``: natural image patches cut from photographs that ship inside installed Python
packages (scikit-image's ``skimage/data``, matplotlib's sample data, scikit-learn's sample images), written in
the real layouts so the real loaders are what the demo exercises:

* ``OUT/cifar-10-batches-py/``: 32x32 patches as ``data_batch_1..5``, ``test_batch`` and ``batches.meta``;
* ``OUT/imagenet/{train,val}/<class>/*.JPEG``: 128x128 crops (with ``imagenet=True``);
* ``OUT/sources.json``: the photos used (package, path, size, sha256) and the settings.

Classes are the source photos.  Each photo is split into a training region (the left 75 % of its width) and a
held-out region (the right 25 %), so held-out patches never overlap training pixels.  A patch is a square of a
random side (a random scale) at a random place in its region, resized with antialiasing, randomly mirrored.
Everything is drawn from one seeded generator: the same packages and seed give identical files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vqspeech.errors import InputError
from vqspeech.image.data.cifar10 import DIRNAME, META, TEST_BATCH, TRAIN_BATCHES, write_cifar_batch, write_label_names

# (class name, package, path inside the package), in priority order; colour photographs only.
PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("astronaut", "skimage", "data/astronaut.png"),
    ("cat", "skimage", "data/chelsea.png"),
    ("coffee", "skimage", "data/coffee.png"),
    ("rocket", "skimage", "data/rocket.jpg"),
    ("temple", "sklearn", "datasets/images/china.jpg"),
    ("flower", "sklearn", "datasets/images/flower.jpg"),
    ("hopper", "matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("galaxies", "skimage", "data/hubble_deep_field.jpg"),
    ("motorcycle", "skimage", "data/motorcycle_left.png"),
    ("tissue", "skimage", "data/ihc.png"),
)
TRAIN_SHARE = 0.75


@dataclass
class Photo:
    name: str
    package: str
    path: Path
    pixels: np.ndarray  # uint8 [H, W, 3]


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def find_photos(max_classes: int = 10) -> list[Photo]:
    """The shipped photos available in this environment (at most ``max_classes``), in priority order."""
    from PIL import Image

    out: list[Photo] = []
    for name, package, rel in PHOTOS:
        base = _package_dir(package)
        if base is None or not (base / rel).is_file():
            continue
        with Image.open(base / rel) as im:
            pixels = np.asarray(im.convert("RGB"), dtype=np.uint8)
        out.append(Photo(name, package, base / rel, pixels))
        if len(out) == max_classes:
            break
    return out


def _crop(photo: np.ndarray, train: bool, size: int, min_side: int, max_side: int,
          rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    h, w, _ = photo.shape
    split = int(w * TRAIN_SHARE)
    x0, x1 = (0, split) if train else (split, w)
    limit = min(h, x1 - x0, max_side)
    side = int(rng.integers(min(min_side, limit), limit + 1))
    top = int(rng.integers(0, h - side + 1))
    left = x0 + int(rng.integers(0, x1 - x0 - side + 1))
    patch = Image.fromarray(photo[top : top + side, left : left + side])
    if side != size:
        patch = patch.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(patch, dtype=np.uint8)
    return arr[:, ::-1] if rng.random() < 0.5 else arr


def _patches(photos: list[Photo], per_class: int, train: bool, size: int, min_side: int, max_side: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for _ in range(per_class):
        for label, ph in enumerate(photos):
            images.append(_crop(ph.pixels, train, size, min_side, max_side, rng))
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def build_image_corpus(out: str | Path, *, train_per_class: int = 500, test_per_class: int = 100,
                       imagenet: bool = True, imagenet_train_per_class: int = 40, imagenet_val_per_class: int = 10,
                       seed: int = 0, max_classes: int = 10) -> dict[str, object]:
    """Write the corpus under ``out`` (see the module docstring); returns the summary written to sources.json."""
    from PIL import Image

    out = Path(out)
    photos = find_photos(max_classes)
    if len(photos) < 2:
        raise InputError("corpus images: fewer than 2 sample photos found in the installed packages "
                         "(install scikit-image, or matplotlib and scikit-learn)")
    if train_per_class < 1 or test_per_class < 1:
        raise InputError("corpus images: train_per_class and test_per_class must be >= 1")
    classes = [p.name for p in photos]
    rng = np.random.default_rng(seed)
    cifar = out / DIRNAME
    cifar.mkdir(parents=True, exist_ok=True)
    x, y = _patches(photos, train_per_class, True, 32, 32, 128, rng)
    for i, part in enumerate(np.array_split(np.arange(len(y)), len(TRAIN_BATCHES))):
        write_cifar_batch(cifar / TRAIN_BATCHES[i], x[part], y[part], f"training batch {i + 1} of 5",
                          [f"{classes[y[j]]}_{j:06d}.png" for j in part])
    xt, yt = _patches(photos, test_per_class, False, 32, 32, 128, rng)
    write_cifar_batch(cifar / TEST_BATCH, xt, yt, "testing batch 1 of 1",
                      [f"{classes[v]}_t{j:06d}.png" for j, v in enumerate(yt)])
    write_label_names(cifar / META, classes, int(np.ceil(len(y) / len(TRAIN_BATCHES))))
    summary: dict[str, object] = {
        "seed": seed, "classes": classes, "cifar10": {"train": int(len(y)), "test": int(len(yt))},
        "sources": [{"class": p.name, "package": p.package, "file": p.path.name, "height": p.pixels.shape[0],
                     "width": p.pixels.shape[1], "sha256": hashlib.sha256(p.path.read_bytes()).hexdigest()}
                    for p in photos],
        "split": f"train patches from the left {TRAIN_SHARE:.0%} of each photo, held-out from the rest",
    }
    if imagenet:
        counts = {}
        for split, n, train in (("train", imagenet_train_per_class, True), ("val", imagenet_val_per_class, False)):
            xi, yi = _patches(photos, n, train, 128, 64, 512, rng)
            for j, (img, lab) in enumerate(zip(xi, yi, strict=True)):
                d = out / "imagenet" / split / classes[lab]
                d.mkdir(parents=True, exist_ok=True)
                Image.fromarray(img).save(d / f"{classes[lab]}_{j:06d}.JPEG", format="JPEG", quality=95)
            counts[split] = int(len(yi))
        summary["imagenet"] = counts
    (out / "sources.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
