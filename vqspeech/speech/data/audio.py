"""Audio I/O: anything soundfile reads -> mono float32 at a given rate; wav writing; silence trimming that
keeps its offset (mu-law lives in :mod:`vqspeech.nn.mulaw`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from vqspeech.errors import AudioError, InputError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au")


def _checked(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise AudioError(f"{p}: no such file")
    if p.is_dir():
        raise AudioError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: empty file")
    return p


def _unreadable(p: Path, exc: Exception) -> AudioError:
    # the reader's reason, with the path it repeats shortened to the file's name (the line starts with the path),
    # so a long path does not push the reason past the cut and the line does not depend on the folder
    reason = (str(exc).splitlines() or [""])[0].replace(str(p), p.name)
    return AudioError(f"{p}: not a readable audio file ({reason[:120]})")


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read ``path``, mix to mono and resample to ``sample_rate``.  Returns float32 ``[T]``.

    Raises :class:`AudioError` naming the file for missing, empty, unreadable, non-finite or silent-length input.
    """
    p = _checked(path)
    try:
        audio = _read_mono(p, sample_rate)
    except AudioError:
        raise
    except Exception as exc:  # soundfile raises several types for corrupt or non-audio input
        raise _unreadable(p, exc) from None
    if len(audio) == 0:
        raise AudioError(f"{p}: contains no samples")
    return audio


def stream_audio(path: str | Path, sample_rate: int) -> Iterator[np.ndarray]:
    """The samples :func:`load_audio` returns, as consecutive float32 blocks of about ``READ_BLOCK_SECONDS``
    each, so a file of any length is read in constant memory.  Errors are :class:`AudioError`, raised when the
    block that shows them is reached (a file with no samples raises before yielding anything)."""
    p = _checked(path)
    n = 0
    try:
        for block in _mono_blocks(p, sample_rate):
            n += len(block)
            yield block
    except AudioError:
        raise
    except Exception as exc:
        raise _unreadable(p, exc) from None
    if n == 0:
        raise AudioError(f"{p}: contains no samples")


def audio_seconds(path: str | Path) -> float:
    """The duration a file's header states (0 when unreadable: the reader reports why)."""
    try:
        info = sf.info(str(path))
        return info.frames / info.samplerate
    except Exception:
        return 0.0


READ_BLOCK_SECONDS = 60  # files are read, mixed and resampled a minute at a time


def _mono_blocks(p: Path, sample_rate: int) -> Iterator[np.ndarray]:
    """Read, mix to mono and resample a block at a time.  soxr's stream resampler gives the same samples as
    resampling in one call.  ``read()`` returns what is really there: a header's frame count can be wrong (e.g. a
    truncated MP3), so reading goes on until EOF."""
    import soxr

    with sf.SoundFile(str(p)) as f:
        sr = f.samplerate
        stream = soxr.ResampleStream(sr, sample_rate, 1, dtype="float32") if sr != sample_rate else None
        while True:
            block = f.read(max(1, sr * READ_BLOCK_SECONDS), dtype="float32", always_2d=True)
            if len(block) == 0:
                break
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
            if not np.isfinite(mono).all():
                raise AudioError(f"{p}: contains NaN or infinite samples")
            y = stream.resample_chunk(mono) if stream is not None else mono
            if len(y):
                yield y
        if stream is not None:
            y = stream.resample_chunk(np.zeros(0, np.float32), last=True)
            if len(y):
                yield y


def _read_mono(p: Path, sample_rate: int) -> np.ndarray:
    """All of :func:`_mono_blocks` in one preallocated output, so a long file costs about one copy of its result,
    not the several full-length temporaries of read-then-resample (an hour at 16 kHz: ~230 MB, not ~700 MB)."""
    info = sf.info(str(p))
    expect = math.ceil(info.frames * sample_rate / info.samplerate) + 64 if info.frames > 0 else 0
    out, pos, extra = np.empty(expect, np.float32), 0, []
    for y in _mono_blocks(p, sample_rate):
        if not extra and pos + len(y) <= len(out):
            out[pos : pos + len(y)] = y
            pos += len(y)
        else:  # more samples than the header said
            extra.append(np.array(y, np.float32))
    return np.concatenate([out[:pos], *extra]) if extra else out[:pos]


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``[T]`` float audio with soxr (high quality)."""
    import soxr

    return soxr.resample(audio, orig_sr, target_sr).astype(np.float32)


def save_wav(path: str | Path, audio: np.ndarray | torch.Tensor, sample_rate: int) -> None:
    """Write ``[T]`` float audio in [-1, 1] as 16-bit PCM wav, atomically (temp file + rename)."""
    p = Path(path)
    if not p.parent.exists():
        raise InputError(f"{p}: output directory {p.parent} does not exist; create it first")
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    tmp = p.with_name(f".{p.name}.tmp")
    sf.write(str(tmp), np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0), sample_rate,
             subtype="PCM_16", format="WAV")
    tmp.replace(p)


def trim_silence(audio: np.ndarray, top_db: float = 40.0, frame: int = 1024, hop: int = 256) -> tuple[np.ndarray, int]:
    """Cut leading and trailing silence quieter than ``top_db`` below the peak.

    Returns ``(trimmed [T'], offset)`` where ``offset`` is the number of samples cut at the start, so that a
    time ``t`` in the trimmed audio is ``t + offset / sr`` in the original (alignments stay in step).
    """
    import librosa

    if audio.size == 0:
        return audio, 0
    _, (start, end) = librosa.effects.trim(audio, top_db=top_db, frame_length=frame, hop_length=hop)
    if end <= start:
        return audio, 0
    return audio[start:end], int(start)
