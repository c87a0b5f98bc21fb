from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vqspeech.errors import InputError
from vqspeech.image.data import detect_layout, load_images, read_image
from vqspeech.image.data.cifar10 import read_cifar_batch


def _real_cifar(root: Path, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Write the exact CIFAR-10 python layout with plain pickle (not our writer)."""
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(n) % 3
    rows = np.concatenate([imgs[..., 0].reshape(n, -1), imgs[..., 1].reshape(n, -1), imgs[..., 2].reshape(n, -1)], 1)
    for name, sl in [("data_batch_1", slice(0, 2)), ("data_batch_2", slice(2, 4)), ("test_batch", slice(4, 6))]:
        obj = {b"batch_label": b"x", b"labels": [int(v) for v in labels[sl]], b"data": rows[sl],
               b"filenames": [b"a.png"] * 2}
        (d / name).write_bytes(pickle.dumps(obj, protocol=2))
    meta = {b"label_names": [b"airplane", b"bird", b"cat"], b"num_cases_per_batch": 2, b"num_vis": 3072}
    (d / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return imgs, labels


def test_cifar_real_layout_round_trip(tmp_path: Path) -> None:
    imgs, labels = _real_cifar(tmp_path)
    assert detect_layout(tmp_path) == "cifar10"
    train = load_images(tmp_path, "train")
    test = load_images(tmp_path / "cifar-10-batches-py", "test")
    assert train.classes == ["airplane", "bird", "cat"]
    assert len(train) == 4 and len(test) == 2
    np.testing.assert_array_equal(train.images(range(4)), imgs[:4])  # R, G, B planes -> HWC
    np.testing.assert_array_equal(test.images([0, 1]), imgs[4:])
    np.testing.assert_array_equal(train.labels, labels[:4])
    np.testing.assert_array_equal(test.labels, labels[4:])


class _Evil:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("payload", ["evil", "truncated", "notdict", "badshape"])
def test_cifar_bad_batch_is_one_input_error_naming_the_file(tmp_path: Path, payload: str) -> None:
    p = tmp_path / "data_batch_1"
    good = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, protocol=2)
    blobs = {"evil": pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2), "truncated": good[: len(good) // 2],
             "notdict": pickle.dumps([1, 2], protocol=2),
             "badshape": pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2)}
    p.write_bytes(blobs[payload])
    with pytest.raises(InputError, match="data_batch_1"):
        read_cifar_batch(p)


def _png(path: Path, size: int = 32, mode: str = "RGB", seed: int = 0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size, size, 3) if mode == "RGB" else (size, size)
    arr = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(arr, mode=None).save(path)
    return arr


def test_imagenet_layout_labels_and_resize(tmp_path: Path) -> None:
    for split, n in (("train", 3), ("val", 1)):
        for wnid in ("n01440764", "n01443537"):
            for i in range(n):
                _png(tmp_path / split / wnid / f"{wnid}_{i}.JPEG", size=40 + i)
    # a grayscale JPEG (ImageNet has a few) is converted, not refused
    Image.fromarray(np.full((50, 60), 7, np.uint8)).save(tmp_path / "val" / "n01443537" / "gray.JPEG")
    assert detect_layout(tmp_path) == "imagenet"
    train = load_images(tmp_path, "train", image_size=32)
    val = load_images(tmp_path, "test", image_size=32)
    assert train.classes == ["n01440764", "n01443537"] and len(train) == 6
    assert list(train.labels) == [0, 0, 0, 1, 1, 1]
    assert list(val.labels) == [0, 1, 1]
    x = val.images([0, 1, 2])
    assert x.shape == (3, 32, 32, 3) and x.dtype == np.uint8
    assert (x[1] == 7).all()  # files sorted: gray.JPEG first in its class


def test_folders_split_and_bad_images(tmp_path: Path) -> None:
    for c in ("cats", "dogs"):
        for i in range(10):
            _png(tmp_path / c / f"{i}.png", seed=i)
    a = load_images(tmp_path, "train", seed=1, valid_fraction=0.2)
    b = load_images(tmp_path, "test", seed=1, valid_fraction=0.2)
    assert len(a) == 16 and len(b) == 4 and not set(a.ids) & set(b.ids)
    assert b.ids == load_images(tmp_path, "test", seed=1, valid_fraction=0.2).ids
    assert a.classes == ["cats", "dogs"]

    _png(tmp_path / "bad" / "gray.png", mode="L")
    with pytest.raises(InputError, match="gray.png.*grayscale"):
        read_image(tmp_path / "bad" / "gray.png", 32)
    _png(tmp_path / "bad" / "big.png", size=40)
    with pytest.raises(InputError, match="big.png.*40x40"):
        read_image(tmp_path / "bad" / "big.png", 32)
    assert read_image(tmp_path / "bad" / "big.png", 32, resize=True).shape == (32, 32, 3)
    (tmp_path / "bad" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(InputError, match="corrupt.png"):
        read_image(tmp_path / "bad" / "corrupt.png", 32)


def test_demo_corpus_is_deterministic_and_loads(tmp_path: Path) -> None:
    from vqspeech.image.data.demo import build_image_corpus

    kw = dict(train_per_class=2, test_per_class=1, imagenet_train_per_class=1, imagenet_val_per_class=1, seed=3)
    s = build_image_corpus(tmp_path / "a", **kw)
    build_image_corpus(tmp_path / "b", **kw)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    k = len(s["classes"])
    train, test = load_images(tmp_path / "a", "train"), load_images(tmp_path / "a", "test")
    assert train.classes == s["classes"] and len(train) == 2 * k and len(test) == k
    assert sorted(set(train.labels)) == list(range(k))
    val = load_images(tmp_path / "a" / "imagenet", "test", image_size=128)
    assert val.classes == sorted(s["classes"]) and val.images([0]).shape == (1, 128, 128, 3)
    # natural patches: neighbouring pixels are strongly correlated (noise would not be)
    x = train.images(range(len(train))).astype(np.float64)
    c = np.corrcoef(x[:, :, :-1].ravel(), x[:, :, 1:].ravel())[0, 1]
    assert c > 0.8
