"""Reports are strict JSON: non-finite numbers become null, numpy values plain numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from vqspeech.io.atomic import write_json


def test_write_json_writes_non_finite_numbers_as_null(tmp_path: Path) -> None:
    data = {"mean": math.nan, "range": [math.inf, -math.inf, 1.5], "f32": np.float32("nan"),
            "per_step": np.array([1.0, np.nan]), "count": np.int64(4), "pair": (np.float64(2.5), "x"),
            "nested": {"std": float("nan")}}
    write_json(tmp_path / "r.json", data)

    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    back = json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert back == {"mean": None, "range": [None, None, 1.5], "f32": None, "per_step": [1.0, None], "count": 4,
                    "pair": [2.5, "x"], "nested": {"std": None}}
