"""JSON that every reader accepts: reports and metadata never contain ``NaN`` or ``Infinity`` (not JSON), and
numpy scalars and arrays are written as plain numbers and lists."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def json_safe(data: Any) -> Any:
    """``data`` with every non-finite float replaced by ``None`` (JSON ``null``), numpy scalars and arrays made
    Python numbers and lists, tuples made lists; mapping keys as they are."""
    if isinstance(data, Mapping):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(v) for v in data]
    if isinstance(data, np.ndarray):
        return json_safe(data.tolist())
    if isinstance(data, np.generic):
        return json_safe(data.item())
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def dumps(data: Any, indent: int | None = 1) -> str:
    """Strict JSON text of ``data`` (see :func:`json_safe`); anything else not JSON-able is a ``TypeError``."""
    return json.dumps(json_safe(data), indent=indent, allow_nan=False)


__all__ = ["dumps", "json_safe"]
