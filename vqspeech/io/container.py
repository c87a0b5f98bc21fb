"""A small versioned binary container: magic bytes, format version, a JSON header and a payload.

Layout (all integers little-endian)::

    magic      4 bytes   identifies the file type (the caller's; e.g. b"\\x89VQS")
    version    uint16    format version; a reader refuses versions newer than it knows
    header_n   uint32    length of the header that follows
    payload_n  uint32    length of the payload that follows the header
    header     header_n bytes: zlib-compressed UTF-8 JSON object (optionally with a preset dictionary)
    payload    payload_n bytes

The magic starts with a non-ASCII byte (as PNG's does) so that text readers fail on it at once.  The header is
deflated because a codec file's header (hashes, paths) can be as large as its payload; a caller may pass a preset
dictionary (``zdict``: the keys and strings its headers usually hold), which then belongs to its format version.
The module knows bytes, not models: what the header and payload mean is the caller's business.  Every problem
with a file (missing, truncated, trailing bytes, wrong magic, newer version, corrupt header) is one
:class:`InputError` naming it.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

from vqspeech.errors import InputError
from vqspeech.io.atomic import atomic_write

_FIXED = struct.Struct("<4sHII")


def pack(header: dict[str, Any], payload: bytes, *, magic: bytes, version: int, zdict: bytes = b"") -> bytes:
    """The container's bytes for ``header`` (JSON-able) and ``payload``."""
    if len(magic) != 4:
        raise ValueError("magic must be 4 bytes")
    z = zlib.compressobj(9, zdict=zdict) if zdict else zlib.compressobj(9)
    head = z.compress(json.dumps(header, separators=(",", ":"), sort_keys=True).encode()) + z.flush()
    return _FIXED.pack(magic, version, len(head), len(payload)) + head + bytes(payload)


def write(path: str | Path, header: dict[str, Any], payload: bytes, *, magic: bytes, version: int,
          zdict: bytes = b"") -> int:
    """Write a container atomically; returns its size in bytes."""
    data = pack(header, payload, magic=magic, version=version, zdict=zdict)
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(data))
    return len(data)


def has_magic(path: str | Path, magic: bytes) -> bool:
    """Whether ``path`` is a file that starts with ``magic`` (no other check)."""
    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as f:
        return f.read(len(magic)) == magic


def unpack(data: bytes, *, magic: bytes, version: int, name: str = "file", what: str = "container",
           zdict: bytes = b"") -> tuple[dict[str, Any], bytes, int]:
    """``(header, payload, file version)`` of a container's bytes; ``name`` and ``what`` go into the errors."""
    if not data:
        raise InputError(f"{name}: empty file, not a {what}")
    if data[: len(magic)] != magic[: len(data)]:
        raise InputError(f"{name}: not a {what} (wrong magic bytes)")
    if len(data) < _FIXED.size:
        raise InputError(f"{name}: truncated {what} ({len(data)} bytes, shorter than its fixed header)")
    _, file_version, n_head, n_payload = _FIXED.unpack_from(data)
    if file_version > version:
        raise InputError(f"{name}: written by a newer vqspeech ({what} format {file_version} > {version}); "
                         "upgrade vqspeech to read it")
    if file_version < 1:
        raise InputError(f"{name}: {what} format version {file_version} is invalid")
    want = _FIXED.size + n_head + n_payload
    if len(data) < want:
        raise InputError(f"{name}: truncated {what} ({len(data)} bytes, its header says {want})")
    if len(data) > want:
        raise InputError(f"{name}: corrupt {what} ({len(data) - want} unexpected bytes after the payload)")
    try:
        z = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
        header = json.loads(z.decompress(data[_FIXED.size : _FIXED.size + n_head]) + z.flush())
    except (zlib.error, ValueError, UnicodeDecodeError):
        raise InputError(f"{name}: corrupt {what} (unreadable header)") from None
    if not isinstance(header, dict):
        raise InputError(f"{name}: corrupt {what} (header is not a JSON object)")
    return header, data[_FIXED.size + n_head :], file_version


def read(path: str | Path, *, magic: bytes, version: int, what: str = "container", zdict: bytes = b""
         ) -> tuple[dict[str, Any], bytes, int]:
    """``(header, payload, file version)`` of the container at ``path``."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a {what}")
    return unpack(p.read_bytes(), magic=magic, version=version, name=str(p), what=what, zdict=zdict)


__all__ = ["has_magic", "pack", "read", "unpack", "write"]
