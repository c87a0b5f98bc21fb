"""``vqspeech encode``: audio files, folders and manifests -> a token dataset.

Every utterance is cut into chunks of whole code frames, each read with ``context`` extra frames of real audio
on both sides (at least the encoder's receptive field) and followed by zeros, so a frame's code never depends on
where the chunk or the batch ends: chunked == whole-file and batched == one-by-one.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vqspeech.data.audio import AUDIO_SUFFIXES, load_audio
from vqspeech.data.corpora import MANIFEST_SUFFIXES, Utterance, detect_layout, discover, read_manifest
from vqspeech.errors import AudioError, InputError, VQSpeechError
from vqspeech.formats.checkpoint import find_checkpoint, load_model, sha256_file
from vqspeech.formats.tokens import TokenWriter, write_token_meta
from vqspeech.models.speech_vqvae import SpeechVQVAE


def expand_inputs(inputs: list[str | Path]) -> list[Utterance]:
    """Files, folders (searched recursively; a recognised corpus layout gives speakers) and manifests."""
    utts: list[Utterance] = []
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise InputError(f"{p}: no such file or directory")
        if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES:
            utts += read_manifest(p)
        elif p.is_file():
            utts.append(Utterance(p.stem, str(p), p.parent.name or "unknown"))
        else:
            layout = detect_layout(p)
            if layout in ("vctk", "librispeech"):
                utts += discover(p, layout)
                continue
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                raise InputError(f"{p}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in this directory")
            for f in files:
                rel = f.relative_to(p)
                spk = rel.parts[0] if len(rel.parts) > 1 else "unknown"
                utts.append(Utterance(f.stem, str(f), spk))
    ids: dict[str, str] = {}
    for u in utts:
        if u.id in ids and ids[u.id] != u.path:
            raise InputError(f"two inputs share the id {u.id!r} ({ids[u.id]} and {u.path}); use a manifest with ids")
        ids[u.id] = u.path
    return sorted({u.id: u for u in utts}.values(), key=lambda u: u.id)


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


@torch.no_grad()
def encode_audio(
    model: SpeechVQVAE, audios: list[np.ndarray], *, chunk_frames: int = 4096, batch_size: int = 16,
    device: torch.device | str = "cpu",
) -> list[np.ndarray]:
    """Codes ``[ceil(T/hop)]`` for each audio ``[T]`` (float32), chunked and batched (results do not depend on
    ``chunk_frames`` or ``batch_size``)."""
    hop = model.hop
    context = math.ceil(model.encoder.receptive_field / hop) + 1
    pieces = [c for i, a in enumerate(audios) for c in _chunks(a, hop, context, chunk_frames, i)]
    pieces.sort(key=lambda c: len(c.audio))
    codes = [np.zeros(math.ceil(len(a) / hop), np.int64) for a in audios]
    for s in range(0, len(pieces), batch_size):
        group = pieces[s : s + batch_size]
        n = (math.ceil(max(len(c.audio) for c in group) / hop) + context) * hop  # >= context frames of zeros
        x = np.zeros((len(group), n), np.float32)
        for j, c in enumerate(group):
            x[j, : len(c.audio)] = c.audio
        out = model.encode(torch.from_numpy(x).to(device)).cpu().numpy()
        for j, c in enumerate(group):
            codes[c.utt][c.keep_from : c.keep_to] = out[j, c.skip : c.skip + c.keep_to - c.keep_from]
    return codes


def encode(
    inputs: list[str | Path], out: str | Path, *, checkpoint: str | Path | None = None, fmt: str = "parquet",
    batch_size: int = 16, num_shards: int | None = None, shard_index: int | None = None,
    shard_utterances: int = 256, chunk_frames: int = 4096, device: str = "cpu", trim: bool = False,
    progress: Callable[[int, int], None] | None = None, quiet: bool = False,
) -> dict[str, int]:
    """Encode ``inputs`` into the token dataset ``out``.  Returns counts ``{"written", "skipped", "failed"}``.

    Raises :class:`InputError` when every input failed, :class:`VQSpeechError` (exit 1) when some did.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if num_shards is None:
        num_shards, shard_index = world, int(os.environ.get("RANK", "0"))
    if shard_index is None or not 0 <= shard_index < num_shards:
        raise InputError(f"--shard-index must be in [0, {num_shards}) when --num-shards is {num_shards}")
    ckpt = find_checkpoint(checkpoint, ("speech-vqvae",))
    model, meta = load_model(ckpt, expect="speech-vqvae")
    dev = torch.device(device)
    model.to(dev)
    utts = expand_inputs(inputs)[shard_index::num_shards]
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if not out.parent.exists():
        raise InputError(f"{out}: parent directory {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    sr, hop = meta["sample_rate"], meta["hop_length"]
    write_token_meta(out, {"format": fmt, "model_path": str(ckpt), "model_sha256": sha256_file(ckpt),
                           "num_codes": meta["num_codes"], "frame_rate": sr / hop, "sample_rate": sr,
                           "hop_length": hop, "speakers": meta.get("speakers", [])})
    writer = TokenWriter(out, fmt, rank=shard_index)
    done = writer.done_ids()
    todo = [u for u in utts if u.id not in done]
    errors: list[dict[str, str]] = []
    written = 0
    for s in range(0, len(todo), batch_size):
        group, audios, offsets = [], [], []
        for u in todo[s : s + batch_size]:
            try:
                audio = load_audio(u.path, sr)
                offset = 0
                if trim:
                    from vqspeech.data.audio import trim_silence

                    audio, offset = trim_silence(audio)
                if len(audio) < hop:
                    raise AudioError(f"{u.path}: shorter than one code frame ({len(audio)} < {hop} samples)")
            except AudioError as exc:
                errors.append({"id": u.id, "path": u.path, "error": str(exc)})
                if len(utts) > 1:  # a lone bad input gets just the final error line
                    print(f"skipped: {exc}", file=sys.stderr)  # listed even with --quiet
                continue
            group.append(u)
            audios.append(audio)
            offsets.append(offset)
        for u, a, off, c in zip(group, audios, offsets, encode_audio(model, audios, chunk_frames=chunk_frames,
                                                                       batch_size=batch_size, device=dev),
                                strict=True):
            writer.add({"id": u.id, "speaker": u.speaker, "path": u.path, "num_samples": len(a),
                        "trim_offset": off, "codes": c.tolist()})
            written += 1
            if written % shard_utterances == 0:
                writer.flush()
        if progress:
            progress(min(s + batch_size, len(todo)), len(todo))
    writer.flush()
    if errors:
        with open(out / "errors.jsonl", "a") as f:
            f.writelines(json.dumps(e) + "\n" for e in errors)
    result = {"written": written, "skipped": len(utts) - len(todo), "failed": len(errors)}
    if errors and written == 0 and result["skipped"] == 0:
        raise InputError(errors[0]["error"] + ("" if len(errors) == 1 else f" (and {len(errors) - 1} more failed)"))
    if not quiet:
        print(f"encoded {written} utterance(s), {result['skipped']} already present, {len(errors)} failed -> {out}")
    if errors:
        raise VQSpeechError(f"{len(errors)} file(s) failed; see {out / 'errors.jsonl'}")
    return result
