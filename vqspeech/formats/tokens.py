"""Token datasets: a directory with ``meta.json`` plus Parquet shards ``part-<rank>-<NNNNN>.parquet`` (columns
``id``, ``speaker``, ``path``, ``num_samples``, ``trim_offset``, ``codes: list<uint16>``), or ``units.txt``
(``id<TAB>c1 c2 ...``), or one ``<id>.npz`` per utterance.  Shards and npz files are written atomically."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.errors import InputError
from vqspeech.formats.checkpoint import atomic_write

FORMAT_VERSION = 1
FORMATS = ("parquet", "units", "npz")
COLUMNS = ("id", "speaker", "path", "num_samples", "trim_offset", "codes")


def _schema():  # noqa: ANN202
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("speaker", pa.string()), ("path", pa.string()),
                      ("num_samples", pa.int64()), ("trim_offset", pa.int64()), ("codes", pa.list_(pa.uint16()))])


def write_token_meta(out: Path, meta: dict[str, Any]) -> None:
    """Write (or check) ``meta.json``; a re-run must use the same model and format."""
    path = out / "meta.json"
    meta = {"format_version": FORMAT_VERSION, **meta}
    if path.exists():
        old = json.loads(path.read_text())
        for key in ("model_sha256", "format", "num_codes"):
            if old.get(key) != meta.get(key):
                raise InputError(f"{out}: already holds tokens with {key}={old.get(key)!r}, not {meta.get(key)!r}; "
                                 "use another -o directory")
        return
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n"))


def read_token_meta(path: str | Path) -> dict[str, Any]:
    p = Path(path) / "meta.json"
    if not p.exists():
        raise InputError(f"{path}: not a token dataset (no meta.json)")
    return json.loads(p.read_text())


class TokenWriter:
    """Appends rows in the chosen format; Parquet rows are buffered and flushed as atomic shards."""

    def __init__(self, out: Path, fmt: str, rank: int = 0) -> None:
        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.out, self.fmt, self.rank = out, fmt, rank
        self.rows: list[dict[str, Any]] = []
        if fmt == "units":
            units = out / "units.txt"
            if units.exists():  # drop a line cut short by an interrupted run
                data = units.read_bytes()
                if data and not data.endswith(b"\n"):
                    with open(units, "r+b") as f:
                        f.truncate(data.rfind(b"\n") + 1)

    def done_ids(self) -> set[str]:
        """Ids already written by any rank (a re-run skips them)."""
        return {r["id"] for r in read_tokens(self.out, columns=("id",), fmt=self.fmt)} if self._any() else set()

    def _any(self) -> bool:
        return any(self.out.glob("part-*.parquet")) or (self.out / "units.txt").exists() or any(self.out.glob("*.npz"))

    def add(self, row: dict[str, Any]) -> None:
        if self.fmt == "npz":
            path = self.out / f"{_safe(row['id'])}.npz"
            extra = {k: np.asarray(v) for k, v in row.items() if k != "codes"}

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as f:
                    np.savez(f, codes=np.asarray(row["codes"], np.uint16), **extra)

            atomic_write(path, write)
        elif self.fmt == "units":
            with open(self.out / "units.txt", "a") as f:
                f.write(f"{row['id']}\t{' '.join(map(str, row['codes']))}\n")
                f.flush()
                os.fsync(f.fileno())
        else:
            self.rows.append(row)

    def flush(self) -> None:
        """Write buffered Parquet rows as the next shard of this rank."""
        if self.fmt != "parquet" or not self.rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        used = [int(m.group(1)) for p in self.out.glob(f"part-{self.rank:05d}-*.parquet")
                if (m := re.fullmatch(rf"part-{self.rank:05d}-(\d+)\.parquet", p.name))]
        path = self.out / f"part-{self.rank:05d}-{max(used, default=-1) + 1:05d}.parquet"
        cols = {c: [r[c] for r in self.rows] for c in COLUMNS}
        cols["codes"] = [np.asarray(c, np.uint16) for c in cols["codes"]]
        table = pa.table(cols, schema=_schema())
        atomic_write(path, lambda tmp: pq.write_table(table, str(tmp)))
        self.rows = []


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)


def read_tokens(path: str | Path, columns: tuple[str, ...] = COLUMNS, fmt: str | None = None) -> list[dict[str, Any]]:
    """Rows of a token dataset (a directory in any format, one ``.npz``, or a units file)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such token dataset")
    if p.is_file():
        if p.suffix == ".npz":
            return [_read_npz(p)]
        return _read_units(p)
    if fmt is None:
        fmt = read_token_meta(p).get("format", "parquet") if (p / "meta.json").exists() else "parquet"
    if fmt == "units":
        return _read_units(p / "units.txt") if (p / "units.txt").exists() else []
    if fmt == "npz":
        return [_read_npz(f) for f in sorted(p.glob("*.npz"))]
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for shard in sorted(p.glob("part-*.parquet")):
        rows += pq.read_table(str(shard), columns=list(columns)).to_pylist()
    return rows


def _read_npz(p: Path) -> dict[str, Any]:
    with np.load(p, allow_pickle=False) as z:
        row = {k: z[k].item() if z[k].ndim == 0 else z[k] for k in z.files}
    row["codes"] = np.asarray(row["codes"]).astype(np.int64).tolist()
    return row


def _read_units(p: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        uid, sep, codes = line.partition("\t")
        try:
            rows.append({"id": uid, "codes": [int(c) for c in codes.split()]})
        except ValueError:
            raise InputError(f"{p}:{n}: expected 'id<TAB>c1 c2 ...'") from None
    return rows
