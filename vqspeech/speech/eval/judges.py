"""Listening judges that no one here trained: a pretrained speaker encoder (resemblyzer), an offline recogniser
(pocketsphinx, its default en-us model), log-mel distance, STOI, wide-band PESQ and code agreement.

Everything here works on numpy audio (mono float32 ``[T]`` in [-1, 1]) and plain arrays; nothing reads a
vqspeech checkpoint or the command line.  The judges whose packages are optional (the ``eval`` extra) import
them on first use and raise :class:`~vqspeech.errors.VQSpeechError` naming the extra when they are missing.
The speaker encoder's weights ship inside the ``resemblyzer`` wheel and the recogniser's acoustic model,
language model and dictionary inside the ``pocketsphinx`` wheel: nothing is downloaded.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from vqspeech.errors import InputError, VQSpeechError
from vqspeech.speech.data.audio import resample

JUDGE_SAMPLE_RATE = 16000  # both pretrained judges (and wide-band PESQ) work at 16 kHz
EVAL_EXTRA_HINT = "install with pip install 'vqspeech[eval]'"


def require(module: str, purpose: str) -> ModuleType:
    """Import an optional package of the ``eval`` extra, or raise a one-line :class:`VQSpeechError`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise VQSpeechError(f"{purpose} needs the Python package {module!r} ({exc}); {EVAL_EXTRA_HINT}") from None


def mono16k(audio: np.ndarray, sample_rate: int, what: str = "audio") -> np.ndarray:
    """Validate ``[T]`` audio and bring it to 16 kHz float32."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise InputError(f"{what}: expected mono audio of shape [T], got shape {list(x.shape)}")
    if x.size == 0:
        raise InputError(f"{what}: contains no samples")
    if not np.isfinite(x).all():
        raise InputError(f"{what}: contains NaN or infinite samples")
    if sample_rate <= 0:
        raise InputError(f"sample rate must be positive, not {sample_rate}")
    if sample_rate != JUDGE_SAMPLE_RATE:
        x = resample(x, sample_rate, JUDGE_SAMPLE_RATE)
    return np.ascontiguousarray(x, dtype=np.float32)


# --------------------------------------------------------------------------------------------- speaker judge


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors ``[D]`` (0 when either is all zeros)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise InputError(f"cosine similarity of vectors of different sizes {a.size} and {b.size}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def speaker_centroids(embeddings: Mapping[str, np.ndarray | Sequence[np.ndarray]]) -> dict[str, np.ndarray]:
    """Enrol speakers: ``{speaker: [N, D] embeddings}`` -> ``{speaker: unit-norm mean embedding [D]}``."""
    out: dict[str, np.ndarray] = {}
    for spk, embs in embeddings.items():
        e = np.asarray(embs, dtype=np.float64)
        if e.ndim == 1:
            e = e[None]
        if e.ndim != 2 or e.shape[0] == 0:
            raise InputError(f"speaker {spk!r}: no reference embeddings to enrol")
        m = e.mean(axis=0)
        out[spk] = (m / max(np.linalg.norm(m), 1e-12)).astype(np.float32)
    if not out:
        raise InputError("no speakers to enrol")
    return out


def identify(embedding: np.ndarray, centroids: Mapping[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The enrolled speaker closest (cosine) to ``embedding [D]``, with the similarity to every speaker."""
    if not centroids:
        raise InputError("no enrolled speakers to identify among")
    scores = {spk: cosine_similarity(embedding, c) for spk, c in centroids.items()}
    return max(scores, key=lambda s: scores[s]), scores


def identification_accuracy(
    embeddings: np.ndarray | Sequence[np.ndarray], speakers: Sequence[str], centroids: Mapping[str, np.ndarray]
) -> float:
    """Fraction of ``embeddings [N, D]`` whose closest enrolled speaker is the one in ``speakers [N]``."""
    embs = list(embeddings)
    if len(embs) != len(speakers):
        raise InputError(f"{len(embs)} embeddings but {len(speakers)} speaker labels")
    if not embs:
        raise InputError("no embeddings to identify")
    return float(np.mean([identify(e, centroids)[0] == s for e, s in zip(embs, speakers, strict=True)]))


def conversion_speaker_scores(
    converted: np.ndarray | Sequence[np.ndarray],
    sources: Sequence[str],
    targets: Sequence[str],
    centroids: Mapping[str, np.ndarray],
) -> dict[str, Any]:
    """Speaker scores of voice conversions.

    ``converted [N, D]`` are the embeddings of converted utterances, ``sources [N]`` the speakers who said them
    and ``targets [N]`` the voices they were converted to; ``centroids`` are the enrolled speakers (the model's
    speakers, enrolled from real reference utterances).  Returns ``n``, ``similarity_target`` and
    ``similarity_source`` (mean cosine to the target's / source's centroid), ``closer_to_target`` (fraction
    more similar to the target than to the source), ``identified_as_target`` and ``identified_as_source``
    (fraction whose closest enrolled speaker is the target / the source).
    """
    embs = list(converted)
    if not (len(embs) == len(sources) == len(targets)):
        raise InputError(f"{len(embs)} conversions, {len(sources)} sources and {len(targets)} targets")
    if not embs:
        raise InputError("no conversions to score")
    missing = sorted({*sources, *targets} - set(centroids))
    if missing:
        raise InputError(f"speakers not enrolled: {', '.join(missing)}")
    sim_t = [cosine_similarity(e, centroids[t]) for e, t in zip(embs, targets, strict=True)]
    sim_s = [cosine_similarity(e, centroids[s]) for e, s in zip(embs, sources, strict=True)]
    ident = [identify(e, centroids)[0] for e in embs]
    return {
        "n": len(embs),
        "similarity_target": float(np.mean(sim_t)),
        "similarity_source": float(np.mean(sim_s)),
        "closer_to_target": float(np.mean([t > s for t, s in zip(sim_t, sim_s, strict=True)])),
        "identified_as_target": float(np.mean([i == t for i, t in zip(ident, targets, strict=True)])),
        "identified_as_source": float(np.mean([i == s for i, s in zip(ident, sources, strict=True)])),
    }


class SpeakerJudge:
    """Speaker embeddings from resemblyzer's pretrained GE2E encoder (weights inside the wheel), with enrolment.

    ``embed(audio, sr)`` gives a unit-norm ``[256]`` embedding of one utterance (resampled to 16 kHz, volume
    normalised and long silences removed by resemblyzer's own preprocessing); ``enrol`` stores a speaker's
    mean embedding; ``identify`` picks the closest enrolled speaker.
    """

    def __init__(self, device: str = "cpu") -> None:
        # resemblyzer imports pkg_resources (setuptools<81) and webrtcvad; a missing one is a missing extra
        require("webrtcvad", "the speaker judge")
        resemblyzer = require("resemblyzer", "the speaker judge")
        self._preprocess = resemblyzer.preprocess_wav
        self.encoder = resemblyzer.VoiceEncoder(device, verbose=False)
        self.centroids: dict[str, np.ndarray] = {}

    def embed(self, audio: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE) -> np.ndarray:
        """One utterance ``[T]`` -> unit-norm embedding ``[256]`` float32."""
        wav = self._preprocess(mono16k(audio, sample_rate), source_sr=JUDGE_SAMPLE_RATE)
        if len(wav) < JUDGE_SAMPLE_RATE // 4:  # after silence removal: too little speech for a voice
            raise InputError(f"utterance has {len(wav) / JUDGE_SAMPLE_RATE:.2f} s of speech; the speaker judge "
                             "needs at least 0.25 s")
        return np.asarray(self.encoder.embed_utterance(wav), dtype=np.float32)

    def enrol(self, speaker: str, utterances: Sequence[np.ndarray], sample_rate: int = JUDGE_SAMPLE_RATE) -> None:
        """Enrol ``speaker`` from reference utterances (each ``[T]``): their mean embedding."""
        if not utterances:
            raise InputError(f"speaker {speaker!r}: no reference utterances to enrol")
        embs = np.stack([self.embed(u, sample_rate) for u in utterances])
        self.centroids.update(speaker_centroids({speaker: embs}))

    @property
    def speakers(self) -> list[str]:
        """The enrolled speakers, sorted."""
        return sorted(self.centroids)

    def identify(self, audio: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE) -> str:
        """The enrolled speaker closest to the utterance ``[T]``."""
        return identify(self.embed(audio, sample_rate), self.centroids)[0]


# --------------------------------------------------------------------------------------------------- ASR judge

_PUNCT = re.compile(r"[^\w' ]+")


def normalize_text(text: str) -> str:
    """Lower case, punctuation stripped (apostrophes inside words kept), hyphens split, whitespace collapsed."""
    s = _PUNCT.sub(" ", text.lower().replace("-", " ").replace("_", " "))
    return " ".join(w.strip("'") for w in s.split() if w.strip("'"))


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """``(edits, reference words)`` between normalised texts: substitutions + deletions + insertions."""
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    n_ref = len(ref.split())
    if n_ref == 0:
        return len(hyp.split()), 0
    if not hyp:
        return n_ref, n_ref
    jiwer = require("jiwer", "word error rate")
    out = jiwer.process_words(ref, hyp)
    return int(out.substitutions + out.deletions + out.insertions), n_ref


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate of one pair (normalised text).  An empty reference is an :class:`InputError`."""
    edits, n = word_errors(reference, hypothesis)
    if n == 0:
        raise InputError("word error rate: the reference text has no words")
    return edits / n


def corpus_word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus-level WER: total edits / total reference words over all pairs."""
    if len(references) != len(hypotheses):
        raise InputError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    edits = total = 0
    for r, h in zip(references, hypotheses, strict=True):
        e, n = word_errors(r, h)
        edits, total = edits + e, total + n
    if total == 0:
        raise InputError("word error rate: the references have no words")
    return edits / total


def to_pcm16(audio: np.ndarray) -> bytes:
    """Float ``[T]`` in [-1, 1] -> little-endian 16-bit PCM bytes (what pocketsphinx reads)."""
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


class AsrJudge:
    """Offline speech recognition with pocketsphinx's default US English model (inside the wheel).

    ``transcribe(audio, sr)`` returns the normalised hypothesis text (empty when nothing is recognised).
    Extra keyword arguments are pocketsphinx configuration (e.g. ``lw=10.0``).
    """

    def __init__(self, **config: Any) -> None:
        ps = require("pocketsphinx", "the ASR judge")
        self.decoder = ps.Decoder(samprate=JUDGE_SAMPLE_RATE, logfn=os.devnull, **config)

    def transcribe(self, audio: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE) -> str:
        """Recognise one utterance ``[T]``."""
        pcm = to_pcm16(mono16k(audio, sample_rate))
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return normalize_text(hyp.hypstr) if hyp is not None else ""


# ------------------------------------------------------------------------------------------ signal distances


def log_mel(audio: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE, n_mels: int = 80, n_fft: int = 1024,
            hop_length: int = 256, floor_db: float = -80.0) -> np.ndarray:
    """Log-mel spectrogram ``[n_mels, frames]`` in dB re full scale, floored at ``floor_db``."""
    import librosa

    x = np.asarray(audio, dtype=np.float32)
    mel = librosa.feature.melspectrogram(y=x, sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                                         power=2.0)
    return librosa.power_to_db(mel, ref=1.0, amin=10.0 ** (floor_db / 10.0), top_db=None)


def log_mel_distance(a: np.ndarray, b: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE, n_mels: int = 80,
                     n_fft: int = 1024, hop_length: int = 256) -> float:
    """Mean absolute difference in dB between the log-mel spectrograms of ``a [T]`` and ``b [T']``, over the
    shorter signal's frames (the signals should be time-aligned, e.g. a reconstruction and its original)."""
    for name, x in (("first signal", a), ("second signal", b)):
        x = np.asarray(x)
        if x.ndim != 1 or x.size == 0:
            raise InputError(f"log-mel distance: {name} must be non-empty mono audio [T], got shape {list(x.shape)}")
    n = min(len(a), len(b))
    ma = log_mel(np.asarray(a)[:n], sample_rate, n_mels, n_fft, hop_length)
    mb = log_mel(np.asarray(b)[:n], sample_rate, n_mels, n_fft, hop_length)
    return float(np.mean(np.abs(ma - mb)))


def _pair16k(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    r = mono16k(reference, sample_rate, "reference")
    d = mono16k(degraded, sample_rate, "degraded")
    n = min(len(r), len(d))
    return r[:n].astype(np.float64), d[:n].astype(np.float64)


def stoi(reference: np.ndarray, degraded: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE,
         extended: bool = False) -> float:
    """Short-time objective intelligibility (pystoi; 0..1, higher is better) over the shorter length."""
    pystoi = require("pystoi", "STOI")
    r, d = _pair16k(reference, degraded, sample_rate)
    return float(pystoi.stoi(r, d, JUDGE_SAMPLE_RATE, extended=extended))


def pesq_wb(reference: np.ndarray, degraded: np.ndarray, sample_rate: int = JUDGE_SAMPLE_RATE) -> float:
    """Wide-band PESQ (ITU-T P.862.2 via the ``pesq`` package; MOS-LQO about 1.0..4.64) over the shorter length."""
    pesq = require("pesq", "PESQ")
    r, d = _pair16k(reference, degraded, sample_rate)
    try:
        return float(pesq.pesq(JUDGE_SAMPLE_RATE, r, d, "wb"))
    except Exception as exc:  # pesq raises its own error types (no utterance detected, buffer too short)
        raise InputError(f"PESQ failed: {type(exc).__name__}: {exc}") from None


def pesq_nb(reference: np.ndarray, degraded: np.ndarray, sample_rate: int = 8000) -> float:
    """Narrow-band PESQ (ITU-T P.862, MOS-LQO about 1.0..4.5) at 8 kHz over the shorter length: the measure
    telephone codecs such as Codec2 are compared by."""
    import soxr

    pesq = require("pesq", "PESQ")
    r, d = (a if sample_rate == 8000 else soxr.resample(a, sample_rate, 8000) for a in (reference, degraded))
    n = min(len(r), len(d))
    try:
        return float(pesq.pesq(8000, r[:n].astype(np.float32), d[:n].astype(np.float32), "nb"))
    except Exception as exc:  # pesq raises its own error types (no utterance detected, buffer too short)
        raise InputError(f"PESQ failed: {type(exc).__name__}: {exc}") from None


# --------------------------------------------------------------------------------------------- code agreement


def code_agreement(a: np.ndarray | Sequence[int], b: np.ndarray | Sequence[int]) -> float:
    """Fraction of positions where two code sequences ``[T]`` and ``[T']`` are equal, over the shorter length."""
    x, y = np.asarray(a), np.asarray(b)
    if x.ndim != 1 or y.ndim != 1:
        raise InputError(f"code agreement needs 1-D code arrays, got shapes {list(x.shape)} and {list(y.shape)}")
    n = min(len(x), len(y))
    if n == 0:
        raise InputError("code agreement: a code array is empty")
    return float(np.mean(x[:n] == y[:n]))
