"""Inference beside the speech models: audio -> codes (chunked, batched, exact) and codes -> audio (batched
cached WaveNet generation).  Commands call these; they never call each other.

Every utterance is cut into chunks of whole code frames, each read with ``context`` extra frames of real audio on
both sides (at least the encoder's receptive field) and followed by zeros, so a frame's code never depends on
where the chunk or the batch ends: chunked == whole-file and batched == one-by-one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech.device import pick_device
from vqspeech.errors import AudioError
from vqspeech.progress import warn
from vqspeech.registry import load_model
from vqspeech.speech.config import SPEECH_VQVAE, SpeechMeta
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.data.corpora import discover
from vqspeech.speech.models import SpeechVQVAE


def load_vqvae(path: str | Path) -> tuple[SpeechVQVAE, SpeechMeta]:
    """A speech VQ-VAE checkpoint and its typed metadata."""
    model, meta = load_model(path, expect=SPEECH_VQVAE)
    return model, SpeechMeta.of(meta, str(path))


@dataclass
class _Chunk:
    utt: int  # index into the batch's utterances
    keep_from: int  # first frame (of the utterance) this chunk contributes
    keep_to: int
    skip: int  # frames of left context to drop from the chunk's output
    audio: np.ndarray


def _chunks(audio: np.ndarray, hop: int, context: int, chunk_frames: int, utt: int) -> list[_Chunk]:
    frames = math.ceil(len(audio) / hop)
    out = []
    for a in range(0, frames, chunk_frames):
        b = min(a + chunk_frames, frames)
        lo = max(0, a - context)
        hi = min(len(audio), (b + context) * hop)
        out.append(_Chunk(utt, a, b, a - lo, audio[lo * hop : hi]))
    return out


# Bytes of encoder activations one encode batch may hold.  On CPU small batches are also the fastest (measured
# with the paper-size encoder: 4.1x real time at 32 MiB, 3.8x at 128 MiB) and keep an hour of audio under 1 GB.
ACTIVATION_BUDGET = 32 * 2**20
GPU_ACTIVATION_BUDGET = 1024 * 2**20


def _fit_budget(model: SpeechVQVAE, context: int, chunk_frames: int, batch_size: int,
                budget: int = ACTIVATION_BUDGET) -> tuple[int, int]:
    """Shrink ``chunk_frames`` and ``batch_size`` so one batch's encoder activations stay within
    ``budget`` bytes (the widest are the first layers': width x T / stride, an output and the next input
    alive together, fp32), so memory does not grow with the encoder's width or the file's length."""
    hop = model.hop
    per_sample = 4 * model.encoder.activation_floats
    samples = max(hop * (2 * context + 8), int(budget // per_sample))
    chunk_frames = min(chunk_frames, max(8, samples // hop - 2 * context))  # lowered, never raised
    batch_size = max(1, min(batch_size, samples // ((chunk_frames + 2 * context) * hop)))
    return chunk_frames, batch_size


def _encode_batch(model: SpeechVQVAE, group: list[_Chunk], context: int, device: torch.device | str,
                  ) -> list[np.ndarray]:
    """Codes of each chunk's kept frames.  The batch is padded to a common length with at least ``context``
    frames of zeros after every chunk, so a chunk's codes do not depend on its batch."""
    hop = model.hop
    n = (math.ceil(max(len(c.audio) for c in group) / hop) + context) * hop
    x = np.zeros((len(group), n), np.float32)
    for j, c in enumerate(group):
        x[j, : len(c.audio)] = c.audio
    out = model.encode(torch.from_numpy(x).to(device)).cpu().numpy()
    return [out[j, c.skip : c.skip + c.keep_to - c.keep_from] for j, c in enumerate(group)]


def _plan(model: SpeechVQVAE, chunk_frames: int, batch_size: int, device: torch.device | str,
          ) -> tuple[int, int, int]:
    """``(context, chunk_frames, batch_size)`` for ``model``: context frames cover the encoder's receptive field;
    chunk and batch are fitted to the device's activation budget."""
    context = math.ceil(model.encoder.receptive_field / model.hop) + 1
    budget = GPU_ACTIVATION_BUDGET if torch.device(device).type == "cuda" else ACTIVATION_BUDGET
    return (context, *_fit_budget(model, context, chunk_frames, batch_size, budget))


@torch.no_grad()
def encode_audio(
    model: SpeechVQVAE, audios: list[np.ndarray], *, chunk_frames: int = 4096, batch_size: int = 16,
    device: torch.device | str = "cpu",
) -> list[np.ndarray]:
    """Codes ``[ceil(T/hop)]`` for each audio ``[T]`` (float32), chunked and batched (results do not depend on
    ``chunk_frames`` or ``batch_size``; both are lowered to keep a batch's activations within
    ``ACTIVATION_BUDGET``, ``GPU_ACTIVATION_BUDGET`` on CUDA)."""
    hop = model.hop
    context, chunk_frames, batch_size = _plan(model, chunk_frames, batch_size, device)
    pieces = [c for i, a in enumerate(audios) for c in _chunks(a, hop, context, chunk_frames, i)]
    pieces.sort(key=lambda c: len(c.audio))
    codes = [np.zeros(math.ceil(len(a) / hop), np.int64) for a in audios]
    for s in range(0, len(pieces), batch_size):
        group = pieces[s : s + batch_size]
        for c, got in zip(group, _encode_batch(model, group, context, device), strict=True):
            codes[c.utt][c.keep_from : c.keep_to] = got
    return codes


def _stream_chunks(blocks: Iterable[np.ndarray], hop: int, context: int, chunk_frames: int,
                   total: list[int]) -> Iterator[_Chunk]:
    """The chunks :func:`_chunks` cuts from the concatenated ``blocks``, made as the audio arrives and holding
    only the samples still needed (one chunk plus its context).  ``total[0]`` counts the samples read."""
    buf, base, a = np.zeros(0, np.float32), 0, 0  # buf[0] is sample number ``base``
    for block in blocks:
        buf = np.concatenate([buf, block])
        total[0] += len(block)
        while total[0] >= (a + chunk_frames + context) * hop:  # not the last chunk, and all its audio is here
            lo, hi = max(0, a - context) * hop, (a + chunk_frames + context) * hop
            yield _Chunk(0, a, a + chunk_frames, a - lo // hop, buf[lo - base : hi - base].copy())
            a += chunk_frames
            keep = max(0, a - context) * hop
            buf, base = buf[keep - base :], keep
    frames = math.ceil(total[0] / hop)
    while a < frames:
        b = min(a + chunk_frames, frames)
        lo, hi = max(0, a - context) * hop, min(total[0], (b + context) * hop)
        yield _Chunk(0, a, b, a - lo // hop, buf[lo - base : hi - base])
        a = b


@torch.no_grad()
def encode_stream(
    model: SpeechVQVAE, blocks: Iterable[np.ndarray], *, chunk_frames: int = 4096, batch_size: int = 16,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, int]:
    """``(codes [ceil(T/hop)], T)`` of one utterance given as consecutive audio blocks (e.g.
    :func:`~vqspeech.speech.data.audio.stream_audio`), in memory that does not grow with its length: equal to
    ``encode_audio(model, [np.concatenate(blocks)])[0]``."""
    context, chunk_frames, batch_size = _plan(model, chunk_frames, batch_size, device)
    total = [0]
    out: list[np.ndarray] = []
    group: list[_Chunk] = []
    for c in _stream_chunks(blocks, model.hop, context, chunk_frames, total):
        group.append(c)
        if len(group) == batch_size:
            out += _encode_batch(model, group, context, device)
            group = []
    if group:
        out += _encode_batch(model, group, context, device)
    codes = np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)
    return codes, total[0]


@torch.no_grad()
def synthesize(
    model: SpeechVQVAE, codes: list[np.ndarray], speakers: list[int], *, temperature: float = 1.0, seed: int = 0,
    batch_size: int = 16, progress: Callable[[int, int], None] | None = None, device: torch.device | str = "cpu",
) -> list[np.ndarray]:
    """Audio ``[len(c) * hop]`` for each code sequence, generated in batches of similar length.  Shorter
    utterances of a batch are padded with zero latents, so their audio matches decoding them alone."""
    order = sorted(range(len(codes)), key=lambda i: len(codes[i]))
    out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(codes)
    gen = torch.Generator(device=device).manual_seed(seed)
    total = sum(len(c) for c in codes) * model.hop
    done = 0
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        n = max(len(codes[i]) for i in idx)
        c = torch.zeros(len(idx), n, dtype=torch.long)
        for j, i in enumerate(idx):
            c[j, : len(codes[i])] = torch.as_tensor(codes[i], dtype=torch.long)
        lengths = torch.tensor([len(codes[i]) for i in idx])
        spk = torch.tensor([speakers[i] for i in idx])
        base = done
        cb = (lambda t, b=base, k=len(idx): progress(b + t * k, total)) if progress else None
        audio = model.decode(c.to(device), spk.to(device), lengths=lengths.to(device), temperature=temperature,
                             generator=gen, callback=cb).cpu().numpy()
        for j, i in enumerate(idx):
            out[i] = audio[j, : len(codes[i]) * model.hop]
        done += sum(len(codes[i]) for i in idx) * model.hop
    return out


def encode_corpus(vqvae: str | Path, root: str | Path, layout: str = "auto", mic: str = "mic1",
                  max_utterances: int = 0, *, device: torch.device | str = "cpu"
                  ) -> tuple[list[dict[str, Any]], SpeechMeta]:
    """Rows ``{id, speaker, codes}`` of a corpus encoded with a VQ-VAE checkpoint on ``device`` (unreadable files
    skipped)."""
    model, meta = load_vqvae(vqvae)
    dev = pick_device(device)
    model.to(dev)
    utts = discover(root, layout, mic)
    if max_utterances > 0:
        utts = utts[:max_utterances]
    rows = []
    for u in utts:
        try:
            audio = load_audio(u.path, meta.sample_rate)
        except AudioError as exc:
            warn(f"skipped: {exc}")
            continue
        if len(audio) >= model.hop:
            rows.append({"id": u.id, "speaker": u.speaker, "codes": encode_audio(model, [audio], device=dev)[0]})
    return rows, meta
