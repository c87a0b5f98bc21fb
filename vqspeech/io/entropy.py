"""Entropy coding of discrete codes with integer frequencies: distributions quantised identically on both sides
(every symbol >= 1, sum ``2**PRECISION``) and the range coder of ``constriction`` (a maintained Rust library with a
NumPy API).  No model knowledge: the speech codec (:mod:`vqspeech.speech.codec`) drives it with a prior."""

from __future__ import annotations

from typing import Any

import numpy as np

from vqspeech.errors import InputError

PRECISION = 24  # integer frequencies of each step's distribution sum to 2**PRECISION (constriction's default)


# -- probabilities -> integer frequencies -----------------------------------------------------------------------


def quantize_logits(logits: np.ndarray) -> np.ndarray:
    """Integer frequencies ``[..., K]`` (int64, each >= 1, each row summing to ``2**PRECISION``) of the softmax of
    ``logits [..., K]``.  A pure function of the logits' bits: call it on the same rows in encoder and decoder."""
    total = 1 << PRECISION
    x = np.asarray(logits, np.float64)
    k = x.shape[-1]
    p = np.exp(x - x.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    f = np.floor(p * (total - k)).astype(np.int64) + 1
    np.put_along_axis(f, p.argmax(-1)[..., None], np.take_along_axis(f, p.argmax(-1)[..., None], -1)
                      + (total - f.sum(-1, keepdims=True)), -1)
    return f


def quantize_counts(counts: np.ndarray) -> np.ndarray:
    """Integer frequencies ``[K]`` (each >= 1, summing to ``2**PRECISION``) proportional to ``counts [K]``; integer
    arithmetic only."""
    total = 1 << PRECISION
    c = np.asarray(counts, np.int64)
    f = c * (total - len(c)) // max(int(c.sum()), 1) + 1
    f[int(c.argmax())] += total - int(f.sum())
    return f


def _coder_probs(freqs: np.ndarray) -> np.ndarray:
    """The float64 table handed to constriction: ``freqs / 2**PRECISION`` (exact, so identical on both sides)."""
    return np.asarray(freqs, np.float64) / float(1 << PRECISION)


def model_bits(codes: np.ndarray, freqs: np.ndarray) -> float:
    """Ideal code length in bits of ``codes [N]`` under the frequencies ``[N, K]`` (or one ``[K]`` table)."""
    f = np.asarray(freqs, np.float64)
    picked = f[codes] if f.ndim == 1 else f[np.arange(len(codes)), codes]
    return float(-np.log2(picked / (1 << PRECISION)).sum())


# -- the range coder (constriction) ------------------------------------------------------------------------------


def _categorical() -> Any:
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


def range_encode(codes: np.ndarray, freqs: np.ndarray) -> bytes:
    """Range-code ``codes [N]`` with per-step frequencies ``[N, K]`` (or one ``[K]`` table); little-endian bytes."""
    import constriction

    codes = np.ascontiguousarray(codes, np.int32)
    f = np.asarray(freqs)
    if f.ndim == 1:
        f = np.broadcast_to(f, (len(codes), len(f)))
    enc = constriction.stream.queue.RangeEncoder()
    if len(codes):
        enc.encode(codes, _categorical(), np.ascontiguousarray(_coder_probs(f)))
    return enc.get_compressed().astype("<u4").tobytes()


class RangeDecoder:
    """Reads symbols one at a time: ``decoder(freqs [K]) -> symbol``."""

    def __init__(self, payload: bytes, name: str = "file", what: str = "file") -> None:
        import constriction

        self.what = what
        if len(payload) % 4:
            raise InputError(f"{name}: corrupt {what} (payload of {len(payload)} bytes is not whole 32-bit words)")
        self.name = name
        self.dec = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, "<u4").astype(np.uint32))
        self.family = _categorical()

    def __call__(self, freqs: np.ndarray) -> int:
        try:
            return int(self.dec.decode(self.family, _coder_probs(freqs)[None])[0])
        except Exception as exc:  # constriction reports invalid compressed data as ValueError/RuntimeError
            raise InputError(f"{self.name}: corrupt {self.what} payload ({exc})") from None
