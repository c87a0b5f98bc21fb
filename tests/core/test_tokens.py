"""Token dataset v2: shaped rows, family columns, readers that need no arguments, 0.1 datasets still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vqspeech.errors import InputError
from vqspeech.io.tokens import TokenWriter, read_token_meta, read_tokens, write_token_meta

V01 = Path(__file__).parents[1] / "speech" / "data" / "v0_1" / "tokens"


def _dataset(out: Path) -> Path:
    import pyarrow as pa

    out.mkdir()
    write_token_meta(out, {"kind": "image-vqvae", "format": "parquet", "model_path": "m", "model_sha256": "0" * 64,
                           "num_codes": 512})
    w = TokenWriter(out, "parquet", columns=[("label", pa.int64())])
    rng = np.random.default_rng(0)
    for i in range(5):
        w.add({"id": f"img{i}", "codes": rng.integers(0, 512, (4, 3)), "label": i % 2})
    w.flush()
    (out / "_errors.jsonl").write_text('{"id": "bad", "error": "x"}\n')
    return out


def test_shaped_rows_round_trip(tmp_path: Path) -> None:
    d = _dataset(tmp_path / "tok")
    rows = read_tokens(d)
    assert [r["id"] for r in rows] == [f"img{i}" for i in range(5)]
    assert rows[2]["shape"] == [4, 3] and len(rows[2]["codes"]) == 12 and rows[3]["label"] == 1
    ref = np.random.default_rng(0).integers(0, 512, (4, 3))
    np.testing.assert_array_equal(np.asarray(rows[0]["codes"]).reshape(rows[0]["shape"]), ref)
    assert json.loads((d / "_meta.json").read_text())["format_version"] == 2


def test_readers_take_the_directory_as_it_is(tmp_path: Path) -> None:
    import duckdb
    import pandas as pd
    import pyarrow.dataset as ds

    d = _dataset(tmp_path / "tok")
    df = pd.read_parquet(d)
    assert len(df) == 5 and list(df.columns) == ["id", "codes", "shape", "label"]
    assert ds.dataset(d).to_table().num_rows == 5
    n = duckdb.sql(f"SELECT count(*), sum(len(codes)) FROM read_parquet('{d}/*.parquet')").fetchall()[0]
    assert n == (5, 60)


def test_hf_datasets_reads_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HF ``load_dataset("parquet", ...)`` reads the shards as they are (``datasets`` is in the test extra, so this
    runs in CI), offline, with the same ids, codes and shapes as :func:`read_tokens`."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    d = _dataset(tmp_path / "tok")
    got = datasets.load_dataset("parquet", data_files=str(d / "part-*.parquet"), split="train",
                                cache_dir=str(tmp_path / "hf-cache"))
    want = read_tokens(d)
    assert len(got) == len(want) == 5
    by_id = {r["id"]: r for r in got}
    for r in want:
        assert list(by_id[r["id"]]["codes"]) == list(r["codes"]) and list(by_id[r["id"]]["shape"]) == list(r["shape"])


def test_v0_1_dataset_with_meta_json_still_reads(tmp_path: Path) -> None:
    d = tmp_path / "old"
    shutil.copytree(V01, d)
    assert (d / "meta.json").exists() and not (d / "_meta.json").exists()
    meta = read_token_meta(d)
    assert meta["format_version"] == 1 and meta["hop_length"] == 16
    rows = read_tokens(d)
    assert len(rows) == 4 and all(r["shape"] == [len(r["codes"])] for r in rows)
    # a re-run into a 0.1 directory with another model is refused, not mixed
    with pytest.raises(InputError, match="already holds tokens"):
        write_token_meta(d, {"format": "parquet", "model_sha256": "1" * 64, "num_codes": 16})


def test_units_and_npz_keep_shape(tmp_path: Path) -> None:
    for fmt in ("units", "npz"):
        out = tmp_path / fmt
        out.mkdir()
        w = TokenWriter(out, fmt)
        w.add({"id": "a", "codes": np.arange(6).reshape(2, 3)})
        w.flush()
        rows = read_tokens(out, fmt=fmt)
        assert rows[0]["codes"] == list(range(6))
        assert rows[0]["shape"] == ([2, 3] if fmt == "npz" else [6])  # a units line is flat by definition

