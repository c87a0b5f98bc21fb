"""``vqspeech decode`` and ``vqspeech convert``: codes -> speech by batched cached WaveNet generation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech.data.audio import load_audio, save_wav
from vqspeech.errors import AudioError, InputError
from vqspeech.formats.checkpoint import find_checkpoint, load_model
from vqspeech.formats.tokens import read_tokens
from vqspeech.models.speech_vqvae import SpeechVQVAE


def speaker_index(meta: dict[str, Any], speaker: str | None, fallback: str | None = None) -> int:
    """Row of ``speaker`` in the model's speaker table.  ``None``: ``fallback`` if known, else the first."""
    known = list(meta.get("speakers") or [])
    if speaker is None:
        return known.index(fallback) if fallback in known else 0
    if speaker not in known:
        raise InputError(f"unknown speaker {speaker!r}; this model knows: {', '.join(known)}")
    return known.index(speaker)


def check_output(out: Path, single: bool) -> None:
    """Refuse an output whose directory is missing (before any work is done)."""
    parent = out.parent if single else out
    if single and not parent.exists():
        raise InputError(f"{out}: directory {parent} does not exist; create it first")
    if not single and not out.parent.exists():
        raise InputError(f"{out}: parent directory {out.parent} does not exist")


@torch.no_grad()
def synthesize(
    model: SpeechVQVAE, codes: list[np.ndarray], speakers: list[int], *, temperature: float = 1.0, seed: int = 0,
    batch_size: int = 16, progress: Callable[[int, int], None] | None = None,
) -> list[np.ndarray]:
    """Audio ``[len(c) * hop]`` for each code sequence, generated in batches of similar length."""
    order = sorted(range(len(codes)), key=lambda i: len(codes[i]))
    out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(codes)
    gen = torch.Generator().manual_seed(seed)
    total = sum(len(c) for c in codes) * model.hop
    done = 0
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        n = max(len(codes[i]) for i in idx)
        c = torch.zeros(len(idx), n, dtype=torch.long)
        for j, i in enumerate(idx):
            c[j, : len(codes[i])] = torch.as_tensor(codes[i], dtype=torch.long)
        spk = torch.tensor([speakers[i] for i in idx])
        base = done
        cb = (lambda t, b=base, k=len(idx): progress(b + t * k, total)) if progress else None
        audio = model.decode(c, spk, temperature=temperature, generator=gen, callback=cb).numpy()
        for j, i in enumerate(idx):
            out[i] = audio[j, : len(codes[i]) * model.hop]
        done += sum(len(codes[i]) for i in idx) * model.hop
    return out


def decode(
    tokens: str | Path, out: str | Path, *, checkpoint: str | Path | None = None, speaker: str | None = None,
    temperature: float = 1.0, seed: int = 0, batch_size: int = 16, progress=None, quiet: bool = False,
) -> list[Path]:
    """Decode a token dataset / ``.npz`` / units file to wavs (``out`` a directory, or one ``.wav``)."""
    out = Path(out)
    single = out.suffix.lower() == ".wav"
    check_output(out, single)
    model, meta = load_model(find_checkpoint(checkpoint, ("speech-vqvae",)), expect="speech-vqvae")
    rows = read_tokens(tokens)
    if not rows:
        raise InputError(f"{tokens}: contains no utterances")
    if single and len(rows) > 1:
        raise InputError(f"{tokens}: holds {len(rows)} utterances; give a directory as -o, not a .wav file")
    k = meta["num_codes"]
    codes = []
    for r in rows:
        c = np.asarray(r["codes"], np.int64)
        if c.size == 0:
            raise InputError(f"{tokens}: utterance {r['id']!r} has no codes")
        if c.min() < 0 or c.max() >= k:
            bad = int(c.max()) if c.max() >= k else int(c.min())
            raise InputError(f"{tokens}: utterance {r['id']!r} has code {bad}, outside 0..{k - 1} of this model")
        codes.append(c)
    spk = [speaker_index(meta, speaker, r.get("speaker")) for r in rows]
    audio = synthesize(model, codes, spk, temperature=temperature, seed=seed, batch_size=batch_size,
                       progress=progress)
    if not single:
        out.mkdir(exist_ok=True)
    paths = [out if single else out / f"{r['id']}.wav" for r in rows]
    for p, a in zip(paths, audio, strict=True):
        save_wav(p, a, meta["sample_rate"])
    if not quiet:
        print(f"wrote {len(paths)} wav file(s) -> {out}")
    return paths


def convert(
    src: str | Path, speaker: str, out: str | Path, *, checkpoint: str | Path | None = None,
    temperature: float = 1.0, seed: int = 0, progress=None, quiet: bool = False,
) -> Path:
    """Re-synthesise ``src`` in the voice of ``speaker``: encode, then decode with the new speaker id."""
    from vqspeech.tasks.encode import encode_audio

    out = Path(out)
    check_output(out, True)
    model, meta = load_model(find_checkpoint(checkpoint, ("speech-vqvae",)), expect="speech-vqvae")
    idx = speaker_index(meta, speaker)
    audio = load_audio(src, meta["sample_rate"])
    if len(audio) < model.hop:
        raise AudioError(f"{src}: shorter than one code frame ({len(audio)} < {model.hop} samples)")
    codes = encode_audio(model, [audio])[0]
    wav = synthesize(model, [codes], [idx], temperature=temperature, seed=seed, progress=progress)[0]
    save_wav(out, wav[: len(audio)], meta["sample_rate"])
    if not quiet:
        print(f"wrote {out} ({len(audio) / meta['sample_rate']:.2f} s, speaker {speaker})")
    return out
