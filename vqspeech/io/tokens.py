"""Token datasets, for every family.

A directory with ``_meta.json`` (``format_version``, ``kind`` of the model, ``format``, ``model_path``,
``model_sha256``, ``num_codes`` and the family's fields) and Parquet shards ``part-<rank>-<NNNNN>.parquet`` with
``id``, ``codes`` (``list<uint16>``, row-major), ``shape`` (``list<int32>``: ``[T]`` speech, ``[H, W]`` image,
``[T, H, W]`` video) and the family's columns.  The leading ``_`` of ``_meta.json`` and ``_errors.jsonl`` lets
``pd.read_parquet(dir)``, ``pyarrow.dataset.dataset(dir)``, DuckDB and HF ``datasets`` read the directory as it
is.  Other formats: ``units.txt`` (``id<TAB>c1 c2 ...``) or one ``<id>.npz`` per item.  Shards and npz files are
written atomically.  Datasets of 0.1 (``meta.json``, no ``shape`` column) still read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.errors import InputError
from vqspeech.io.atomic import atomic_write, write_json

FORMAT_VERSION = 2
FORMATS = ("parquet", "units", "npz")
META = "_meta.json"
ERRORS = "_errors.jsonl"
_META_V1 = "meta.json"


def meta_path(path: str | Path) -> Path | None:
    """The metadata file of a token dataset directory (``_meta.json``, or 0.1's ``meta.json``), if any."""
    for name in (META, _META_V1):
        if (Path(path) / name).is_file():
            return Path(path) / name
    return None


def is_token_dataset(path: str | Path) -> bool:
    return Path(path).is_dir() and meta_path(path) is not None


def write_token_meta(out: Path, meta: dict[str, Any]) -> None:
    """Write (or check) ``_meta.json``; a re-run into the same directory must use the same model and format."""
    meta = {"format_version": FORMAT_VERSION, **meta}
    old_path = meta_path(out)
    if old_path is not None:
        old = json.loads(old_path.read_text())
        for key in ("model_sha256", "format", "num_codes"):
            if old.get(key) != meta.get(key):
                raise InputError(f"{out}: already holds tokens with {key}={old.get(key)!r}, not {meta.get(key)!r}; "
                                 "use another -o directory")
        return
    write_json(out / META, meta)


def _refuse_codec_file(p: Path) -> None:
    """A ``.vqs`` codec file (by suffix or magic bytes) given where a token dataset is expected."""
    if p.is_file():
        with open(p, "rb") as f:
            magic = f.read(4)
        if magic == b"\x89VQS" or p.suffix.lower() == ".vqs":
            raise InputError(f"{p}: is a .vqs codec file, not a token dataset; decode it with `vqspeech decode` "
                             "(or read its codes with vqspeech.speech.codec.read_codes)")


def read_token_meta(path: str | Path) -> dict[str, Any]:
    """The dataset's metadata (0.1 datasets: ``meta.json``)."""
    p = meta_path(path)
    if p is None:
        _refuse_codec_file(Path(path))
        raise InputError(f"{path}: not a token dataset (no {META})")
    try:
        return json.loads(p.read_text())
    except ValueError:
        raise InputError(f"{p}: not valid JSON") from None


def append_errors(out: Path, errors: list[dict[str, str]]) -> Path:
    """Append skipped inputs to ``_errors.jsonl``; returns its path."""
    path = out / ERRORS
    with open(path, "a") as f:
        f.writelines(json.dumps(e) + "\n" for e in errors)
    return path


def prepare_output(out: str | Path) -> Path:
    """Check and create a token dataset directory (an existing file or a missing parent is an input error)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if not out.parent.exists():
        raise InputError(f"{out}: parent directory {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    return out


def finish_encode(out: Path, written: int, skipped: int, errors: list[dict[str, str]], what: str,
                  failed_what: str | None = None) -> dict[str, int]:
    """List failed inputs in ``_errors.jsonl`` and report.  Every input failed: :class:`InputError` (exit 2);
    some failed: :class:`VQSpeechError` (exit 1).  Returns ``{"written", "skipped", "failed"}``."""
    from vqspeech import progress
    from vqspeech.errors import VQSpeechError

    if errors:
        append_errors(out, errors)
    result = {"written": written, "skipped": skipped, "failed": len(errors)}
    if errors and written == 0 and skipped == 0:
        raise InputError(errors[0]["error"] + ("" if len(errors) == 1 else f" (and {len(errors) - 1} more failed)"))
    progress.say(f"encoded {written} {what}(s), {skipped} already present, {len(errors)} failed -> {out}")
    if errors:
        raise VQSpeechError(f"{len(errors)} {failed_what or what}(s) failed; see {out / ERRORS}")
    return result


def _schema(columns: list[tuple[str, Any]]):
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("codes", pa.list_(pa.uint16())), ("shape", pa.list_(pa.int32())),
                      *columns])


class TokenWriter:
    """Appends rows (``id``, ``codes`` of any shape, family columns) in the chosen format; Parquet rows are
    buffered and flushed as atomic shards.  ``columns``: the family's extra ``(name, pyarrow type)`` pairs."""

    def __init__(self, out: Path, fmt: str, rank: int = 0, columns: list[tuple[str, Any]] | None = None) -> None:
        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.out, self.fmt, self.rank = Path(out), fmt, rank
        self.columns = list(columns or [])
        self.rows: list[dict[str, Any]] = []
        if fmt == "units":
            units = self.out / "units.txt"
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
        """``row``: ``id``, ``codes`` (array of any shape, or a flat list with ``shape``) and the family columns."""
        codes = np.asarray(row["codes"])
        shape = list(row.get("shape") or codes.shape)
        row = {**row, "codes": codes.reshape(-1).astype(np.uint16), "shape": shape}
        if self.fmt == "npz":
            path = self.out / f"{_safe(row['id'])}.npz"
            extra = {k: np.asarray(v) for k, v in row.items() if k not in ("codes", "shape")}

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as f:
                    np.savez(f, codes=row["codes"].reshape(shape), **extra)

            atomic_write(path, write)
        elif self.fmt == "units":
            with open(self.out / "units.txt", "a") as f:
                f.write(f"{row['id']}\t{' '.join(map(str, row['codes'].tolist()))}\n")
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
        schema = _schema(self.columns)
        table = pa.table({name: [r[name] for r in self.rows] for name in schema.names}, schema=schema)
        atomic_write(path, lambda tmp: pq.write_table(table, str(tmp)))
        self.rows = []


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)


def read_tokens(path: str | Path, columns: tuple[str, ...] | None = None, fmt: str | None = None
                ) -> list[dict[str, Any]]:
    """Rows of a token dataset (a directory in any format, one ``.npz``, or a units file).  Each row has ``id``,
    ``codes`` (a flat list) and ``shape`` unless ``columns`` selects fewer."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such token dataset")
    if p.is_file():
        _refuse_codec_file(p)
        if p.suffix == ".npz":
            return [_read_npz(p)]
        return _read_units(p)
    if fmt is None:
        fmt = read_token_meta(p).get("format", "parquet") if meta_path(p) else "parquet"
    if fmt == "units":
        return _read_units(p / "units.txt") if (p / "units.txt").exists() else []
    if fmt == "npz":
        return [_read_npz(f) for f in sorted(p.glob("*.npz"))]
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for shard in sorted(p.glob("part-*.parquet")):
        table = pq.read_table(str(shard))
        names = [c for c in (columns or table.column_names) if c in table.column_names]
        part = table.select(names).to_pylist()
        if (columns is None or "shape" in columns) and "shape" not in table.column_names:  # 0.1: 1-D codes
            for r in part:
                r["shape"] = [len(r["codes"])]
        rows += part
    return rows


def _read_npz(p: Path) -> dict[str, Any]:
    try:
        with np.load(p, allow_pickle=False) as z:
            row = {k: z[k].item() if z[k].ndim == 0 else z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise InputError(f"{p}: not a token .npz file ({exc})") from None
    if "codes" not in row:
        raise InputError(f"{p}: has no 'codes' array")
    codes = np.asarray(row["codes"]).astype(np.int64)
    row["shape"] = list(codes.shape)
    row["codes"] = codes.reshape(-1).tolist()
    row.setdefault("id", p.stem)
    return row


def _read_units(p: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a units file (expected text lines 'id<TAB>c1 c2 ...')") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        uid, sep, codes = line.partition("\t")
        try:
            values = [int(c) for c in codes.split()]
        except ValueError:
            raise InputError(f"{p}:{n}: expected 'id<TAB>c1 c2 ...'") from None
        rows.append({"id": uid, "codes": values, "shape": [len(values)]})
    return rows
