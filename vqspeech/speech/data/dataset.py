"""Training data: a corpus loaded once into memory (mono, at the recipe rate, optionally silence-trimmed,
int16) and deterministic random crops: the batch of step ``s`` depends only on ``(seed, s, rank)``, so a
resumed run sees exactly the batches an uninterrupted one would."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vqspeech.errors import AudioError, InputError
from vqspeech.progress import warn
from vqspeech.speech.data.alignments import Interval, frame_labels, read_phones
from vqspeech.speech.data.audio import load_audio, trim_silence
from vqspeech.speech.data.corpora import Utterance
from vqspeech.speech.data.phones import PHONES

PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}


@dataclass
class LoadedUtterance:
    """An utterance's audio as int16 ``[T]`` plus its speaker index and trim offset (samples)."""

    utt: Utterance
    audio: np.ndarray
    speaker: int
    trim_offset: int
    phones: list[Interval] | None = None


class AudioCorpus:
    """Utterances as int16, in memory or (``cache_dir``) memory-mapped from the on-disk corpus cache.
    ``speakers`` fixes the speaker-id order (the model's embedding rows)."""

    def __init__(
        self, utts: list[Utterance], sample_rate: int, speakers: list[str], *, trim: bool = False,
        top_db: float = 40.0, alignments: bool = False, cache_dir: str | None = None,
    ) -> None:
        index = {s: i for i, s in enumerate(speakers)}
        self.items: list[LoadedUtterance] = []
        self.skipped: list[str] = []
        if cache_dir:
            from vqspeech.speech.data.cache import open_cache

            samples, where, self.skipped = open_cache(utts, sample_rate, cache_dir, trim=trim, top_db=top_db)
            for u in utts:
                if u.id in where:
                    off, n, start = where[u.id]
                    phones = read_phones(u.alignment) if alignments and u.alignment else None
                    self.items.append(LoadedUtterance(u, samples[off : off + n], index.get(u.speaker, 0), start,
                                                      phones))
            utts = []
        for u in utts:
            try:
                audio = load_audio(u.path, sample_rate)
            except AudioError as exc:
                self.skipped.append(str(exc))
                continue
            offset = 0
            if trim:
                audio, offset = trim_silence(audio, top_db)
            pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
            phones = read_phones(u.alignment) if alignments and u.alignment else None
            self.items.append(LoadedUtterance(u, pcm, index.get(u.speaker, 0), offset, phones))
        if self.skipped:
            warn(f"warning: skipped {len(self.skipped)} unreadable file(s), e.g. {self.skipped[0]}")
        if not self.items:
            raise InputError("no usable audio in the corpus" + (f" ({self.skipped[0]})" if self.skipped else ""))
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.items)

    @property
    def seconds(self) -> float:
        return sum(len(it.audio) for it in self.items) / self.sample_rate

    def crops(self, batch: int, length: int, seed: int, hop: int | None = None) -> tuple[torch.Tensor, ...]:
        """``batch`` random crops of ``length`` samples (zero-padded when an utterance is shorter), chosen by
        a generator seeded with ``seed``.  Returns ``(audio [B, length] float32, speaker [B] long)``; with
        ``hop`` also ``phones [B, length // hop]``: the index in :data:`PHONES` of the phone at each code
        frame's centre (-1 without an alignment or outside it; needs ``alignments=True``)."""
        g = torch.Generator().manual_seed(seed)
        pick = torch.randint(0, len(self.items), (batch,), generator=g).tolist()
        out = np.zeros((batch, length), np.float32)
        spk = torch.empty(batch, dtype=torch.long)
        labels = torch.full((batch, length // hop if hop else 0), -1, dtype=torch.long)
        for b, i in enumerate(pick):
            it = self.items[i]
            n = len(it.audio)
            start = int(torch.randint(0, max(n - length, 0) + 1, (1,), generator=g))
            piece = it.audio[start : start + length]
            out[b, : len(piece)] = piece / 32768.0
            spk[b] = it.speaker
            if hop and it.phones:
                frames = frame_labels(it.phones, length // hop, hop, self.sample_rate, it.trim_offset + start)
                labels[b] = torch.tensor([PHONE_INDEX.get(p, -1) if p else -1 for p in frames])
        if hop:
            return torch.from_numpy(out), spk, labels
        return torch.from_numpy(out), spk
