"""One on-disk int16 cache per corpus, sample rate and trim setting, memory-mapped by every rank.

``<cache_dir>/<key>/audio.int16`` holds every usable utterance (mono, at the recipe rate, optionally trimmed)
back to back; ``index.json`` holds each one's id, offset, length and trim offset, and the files that could not
be read.  The key hashes the settings and each file's path, size and mtime, so a changed corpus gets a new
cache.  It is written once, into a temporary folder renamed into place (by rank 0 under DDP; the other ranks
wait at a barrier), so a crash never leaves a half cache.  Training crops read pages from it: per-rank memory
does not grow with the corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch.distributed as dist

from vqspeech.errors import AudioError
from vqspeech.speech.data.audio import load_audio, trim_silence
from vqspeech.speech.data.corpora import Utterance


def cache_key(utts: list[Utterance], sample_rate: int, trim: bool, top_db: float) -> str:
    """A hash of the settings and of each file's path, size and modification time."""
    h = hashlib.sha256(json.dumps([sample_rate, trim, top_db]).encode())
    for u in sorted(utts, key=lambda u: u.id):
        st = os.stat(u.path) if os.path.exists(u.path) else None
        h.update(json.dumps([u.id, str(Path(u.path).resolve()), st.st_size if st else -1,
                             st.st_mtime_ns if st else -1]).encode())
    return h.hexdigest()[:20]


def _build(utts: list[Utterance], sample_rate: int, trim: bool, top_db: float, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index: dict[str, list] = {"items": [], "skipped": []}
    offset = 0
    try:
        with open(tmp / "audio.int16", "wb") as f:
            for u in utts:
                try:
                    audio = load_audio(u.path, sample_rate)
                except AudioError as exc:
                    index["skipped"].append(str(exc))
                    continue
                start = 0
                if trim:
                    audio, start = trim_silence(audio, top_db)
                pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
                f.write(pcm.tobytes())
                index["items"].append([u.id, offset, len(pcm), start])
                offset += len(pcm)
            f.flush()
            os.fsync(f.fileno())
        (tmp / "index.json").write_text(json.dumps(index))
        try:
            tmp.replace(dest)
        except OSError:
            if not (dest / "index.json").exists():  # another process finished the same cache first: keep it
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_cache(utts: list[Utterance], sample_rate: int, cache_dir: str | Path, *, trim: bool = False,
               top_db: float = 40.0) -> tuple[np.memmap, dict[str, tuple[int, int, int]], list[str]]:
    """Build the cache if missing (rank 0; others wait) and map it.  Returns ``(samples int16 [N] memmap,
    {id: (offset, length, trim_offset)}, skipped file messages)``."""
    dest = Path(cache_dir) / cache_key(utts, sample_rate, trim, top_db)
    ddp = dist.is_available() and dist.is_initialized()
    if not (dest / "index.json").exists() and (not ddp or dist.get_rank() == 0):
        dest.parent.mkdir(parents=True, exist_ok=True)
        _build(utts, sample_rate, trim, top_db, dest)
    if ddp:
        dist.barrier()
    index = json.loads((dest / "index.json").read_text())
    size = (dest / "audio.int16").stat().st_size // 2
    samples = np.memmap(dest / "audio.int16", dtype="<i2", mode="r", shape=(max(size, 1),))
    return samples, {i: (o, n, t) for i, o, n, t in index["items"]}, index["skipped"]
