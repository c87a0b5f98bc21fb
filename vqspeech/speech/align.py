"""Offline forced alignment of transcribed speech with pocketsphinx (its en-us acoustic model and CMU
dictionary ship inside the wheel) -> TextGrids with an ARPAbet ``phones`` tier and a ``words`` tier.

How an utterance is aligned:
1. the text is normalised (lower case, punctuation stripped) and split into words;
2. each word is looked up in pocketsphinx's CMU dictionary; a word that is missing gets a pronunciation from
   espeak-ng's letter-to-sound rules (the ``demo`` extra) mapped to ARPAbet, and is reported as *guessed*;
   when espeak-ng is not installed (or gives nothing) the word is *skipped* with a warning naming it;
3. pocketsphinx aligns the word sequence (optional silence between words, alternative pronunciations) at
   100 frames/s, then a second pass gives phone boundaries; when that fails (the search loses the path,
   which happens on fast or unusual voices) it retries at 200 frames/s, whose shorter minimum phone duration
   lets it through;
4. phone labels are folded to the 39 ARPAbet phones + ``sil`` (noise fillers become ``sil``), gaps are
   filled with ``sil``, and the tiers cover the audio from 0 to its end.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.errors import InputError, VQSpeechError
from vqspeech.io.atomic import atomic_write
from vqspeech.speech.data.alignments import Interval, write_textgrid
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.data.corpora import discover
from vqspeech.speech.data.espeak import Voice, synth_fresh
from vqspeech.speech.data.phones import espeak_to_arpabet, fold_phone
from vqspeech.speech.eval.judges import JUDGE_SAMPLE_RATE, mono16k, normalize_text, require, to_pcm16

FRAME_RATES = (100, 200)  # tried in this order


@dataclass
class Alignment:
    """One aligned utterance: ``phones`` and ``words`` tiers covering ``[0, duration]`` seconds, the words
    whose pronunciation was guessed (``{word: "ARPABET PHONES"}``), the words skipped, and the frame rate used."""

    phones: list[Interval]
    words: list[Interval]
    duration: float
    guessed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    frame_rate: int = 100


def espeak_pronunciation(word: str) -> str | None:
    """ARPAbet pronunciation of ``word`` from espeak-ng's letter-to-sound rules, or None when espeak-ng is not
    installed or gives no phone."""
    try:
        import espeakng_loader  # noqa: F401
    except ImportError:
        return None
    _, events, _ = synth_fresh(word, Voice("en-us"))  # never initialise espeak-ng in this process
    phones: list[str] = []
    for name, _ in events:
        try:
            phones += [p for p in espeak_to_arpabet(name) if p != "sil"]
        except KeyError:
            continue
    return " ".join(phones) or None


class Aligner:
    """A reusable pocketsphinx forced aligner (decoders and added pronunciations are kept between calls)."""

    def __init__(self, g2p: bool = True) -> None:
        self._ps = require("pocketsphinx", "forced alignment")
        self.g2p = g2p
        self._decoders: dict[int, Any] = {}
        self._pron: dict[str, str | None] = {}  # words not in the dictionary -> guessed phones (None: skipped)

    def _decoder(self, frame_rate: int) -> Any:
        if frame_rate not in self._decoders:
            dec = self._ps.Decoder(samprate=JUDGE_SAMPLE_RATE, frate=frame_rate, logfn=os.devnull)
            for word, phones in self._pron.items():
                if phones:
                    dec.add_word(word, phones, False)
            self._decoders[frame_rate] = dec
        return self._decoders[frame_rate]

    def prepare(self, text: str) -> tuple[list[str], dict[str, str], list[str]]:
        """Normalise ``text`` into dictionary words.  Returns ``(words, guessed {word: phones}, skipped)``."""
        dec = self._decoder(FRAME_RATES[0])
        words, guessed, skipped = [], {}, []
        for w in normalize_text(text).split():
            if w not in self._pron and dec.lookup_word(w) is not None:
                words.append(w)
                continue
            if w not in self._pron:
                phones = espeak_pronunciation(w) if self.g2p else None
                self._pron[w] = phones
                if phones:
                    for d in self._decoders.values():
                        d.add_word(w, phones, True)
            if self._pron[w]:
                words.append(w)
                guessed[w] = self._pron[w]
            else:
                skipped.append(w)
        return words, guessed, skipped

    def _run(self, frame_rate: int, pcm: bytes, words: list[str]) -> tuple[list, list] | None:
        dec = self._decoder(frame_rate)
        try:
            dec.set_align_text(" ".join(words))
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            hyp = dec.hyp()
            said = [w for w in (hyp.hypstr.split() if hyp is not None else []) if not w.startswith(("<", "["))]
            if len(said) != len(words):
                return None
            dec.set_alignment()
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            al = dec.get_alignment()
            phones = [(p.start / frame_rate, (p.start + p.duration) / frame_rate, p.name) for p in al.phones()]
            wlist = [(w.start / frame_rate, (w.start + w.duration) / frame_rate, w.name) for w in al.words()]
        except RuntimeError:
            return None
        return (phones, wlist) if phones else None

    def align(self, audio: np.ndarray, sample_rate: int, text: str) -> Alignment:
        """Align ``audio [T]`` at ``sample_rate`` to ``text``.  Raises :class:`InputError` for empty audio or
        text without alignable words, :class:`VQSpeechError` when pocketsphinx finds no alignment."""
        x = mono16k(audio, sample_rate)
        duration = len(np.asarray(audio)) / sample_rate
        words, guessed, skipped = self.prepare(text)
        if skipped:
            warnings.warn(f"no pronunciation for {', '.join(skipped)}: skipped in the alignment", stacklevel=2)
        if not words:
            raise InputError(f"text {text!r} has no word that can be aligned")
        if duration < 0.1:
            raise InputError(f"audio of {duration:.3f} s is too short to align")
        pcm = to_pcm16(x)
        for rate in FRAME_RATES:
            out = self._run(rate, pcm, words)
            if out is not None:
                phones = _cover([(s, e, _fold(lab)) for s, e, lab in out[0]], duration, "sil")
                wtier = _cover([(s, e, _word(lab)) for s, e, lab in out[1]], duration, "")
                return Alignment(phones, wtier, duration, guessed, skipped, rate)
        raise VQSpeechError(f"pocketsphinx found no alignment of {len(words)} words to {duration:.2f} s of audio "
                            "(does the text match the audio?)")


def _fold(label: str) -> str:
    try:
        return fold_phone(label)
    except KeyError:  # noise fillers such as +NSN+ / +SPN+
        return "sil"


def _word(label: str) -> str:
    if label.startswith(("<", "[", "+")):
        return ""
    return label.split("(", 1)[0]


def _cover(items: list[tuple[float, float, str]], duration: float, gap: str) -> list[Interval]:
    """Intervals covering ``[0, duration]``: gaps filled with ``gap``, clipped at the end, the last one
    stretched to the end, consecutive ``gap`` labels merged."""
    out: list[Interval] = []

    def add(s: float, e: float, lab: str) -> None:
        if e <= s + 1e-9:
            return
        if out and out[-1].label == lab == gap:
            out[-1] = Interval(out[-1].start, e, lab)
        else:
            out.append(Interval(s, e, lab))

    t = 0.0
    for s, e, lab in sorted(items):
        s, e = max(s, t), min(e, duration)
        if s > t:
            add(t, s, gap)
        add(s, e, lab)
        t = max(t, e)
    if t < duration:
        if out and duration - t < 0.02:  # less than two frames: the recogniser's last frame ends early
            out[-1] = Interval(out[-1].start, duration, out[-1].label)
        else:
            add(t, duration, gap)
    if not out:
        out.append(Interval(0.0, duration, gap))
    return out


_ALIGNER: Aligner | None = None


def align_utterance(audio: np.ndarray, sample_rate: int, text: str) -> list[Interval]:
    """Forced alignment of one utterance ``audio [T]`` to ``text``: ARPAbet-39 + ``sil`` phone intervals in
    seconds covering the audio from 0 to its end.  Words missing from the dictionary are guessed with espeak-ng
    when it is installed, else skipped with a warning (see the module docstring)."""
    global _ALIGNER
    if _ALIGNER is None:
        _ALIGNER = Aligner()
    return _ALIGNER.align(audio, sample_rate, text).phones


def align_corpus(root: str | Path, out: str | Path | None = None, *, layout: str = "auto", overwrite: bool = False,
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Align every transcribed utterance of a corpus (text beside each wav, VCTK ``txt/``, LibriSpeech
    ``.trans.txt``, manifests with ``text``) and write one TextGrid per utterance (tiers ``phones`` and
    ``words``), atomically: ``out/<speaker>/<utterance id>.TextGrid``, or beside the audio when ``out`` is None.

    Existing TextGrids are kept unless ``overwrite`` (so a run can be resumed, and a corpus's own alignments
    are never replaced by accident).  Returns a summary: ``utterances``, ``aligned``, ``kept_existing``,
    ``no_text`` and ``failed`` (``{id: reason}``), ``guessed_words`` (``{word: phones}``), ``skipped_words``,
    ``seconds`` (of audio aligned), ``out``.
    """
    root = Path(root)
    utts = discover(root, layout)
    out_dir = Path(out) if out is not None else None
    aligner = Aligner()
    summary: dict[str, Any] = {"corpus": str(root), "out": str(out_dir) if out_dir else None,
                               "utterances": len(utts), "aligned": 0, "kept_existing": [], "no_text": [],
                               "failed": {}, "guessed_words": {}, "skipped_words": [], "seconds": 0.0}
    skipped: set[str] = set()
    t0 = time.time()
    for n, u in enumerate(utts, 1):
        if not u.text or not u.text.strip():
            summary["no_text"].append(u.id)
            continue
        dest = out_dir / u.speaker / f"{u.id}.TextGrid" if out_dir else Path(u.path).with_suffix(".TextGrid")
        if dest.exists() and not overwrite:
            summary["kept_existing"].append(u.id)
            continue
        try:
            audio = load_audio(u.path, JUDGE_SAMPLE_RATE)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                al = aligner.align(audio, JUDGE_SAMPLE_RATE, u.text)
        except VQSpeechError as exc:
            summary["failed"][u.id] = str(exc)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tiers = {"phones": al.phones, "words": al.words}
        atomic_write(dest, lambda tmp, al=al, tiers=tiers: write_textgrid(tmp, al.duration, tiers))
        summary["aligned"] += 1
        summary["seconds"] += al.duration
        summary["guessed_words"].update(al.guessed)
        skipped.update(al.skipped)
        if log:
            log(f"[{n}/{len(utts)}] {u.id}: {len(al.phones)} phones")
    summary["skipped_words"] = sorted(skipped)
    summary["seconds"] = round(summary["seconds"], 2)
    summary["wall_seconds"] = round(time.time() - t0, 2)
    if skipped:
        warnings.warn(f"no pronunciation for {len(skipped)} words, skipped in the alignments: "
                      f"{', '.join(sorted(skipped)[:20])}", stacklevel=2)
    return summary


def compare_alignments(hyp: list[Interval], ref: list[Interval], step: float = 0.01) -> dict[str, float]:
    """Agreement of two phone alignments of the same audio.

    ``frame_agreement``: fraction of ``step``-second frames (centres, up to the shorter end) with the same label.
    Boundary errors: the two label sequences are matched (longest common subsequence, silences included); for
    every matched phone after the first, ``|start_hyp - start_ref|``.  Returns ``frame_agreement``,
    ``boundaries`` (count), ``median_boundary_error_ms``, ``within_20ms`` and ``within_50ms`` (fractions).
    """
    import difflib

    if not hyp or not ref:
        raise InputError("compare_alignments: an alignment is empty")
    end = min(hyp[-1].end, ref[-1].end)
    centres = (np.arange(int(end / step)) + 0.5) * step

    def labels(ivs: list[Interval]) -> list[str | None]:
        starts = np.array([iv.start for iv in ivs])
        idx = np.searchsorted(starts, centres, side="right") - 1
        return [ivs[i].label if i >= 0 and c < ivs[i].end else None for i, c in zip(idx, centres, strict=True)]

    agree = float(np.mean([a == b for a, b in zip(labels(hyp), labels(ref), strict=True)])) if len(centres) else 0.0
    sm = difflib.SequenceMatcher(None, [iv.label for iv in hyp], [iv.label for iv in ref], autojunk=False)
    errs = [abs(hyp[blk.a + k].start - ref[blk.b + k].start)
            for blk in sm.get_matching_blocks() for k in range(blk.size) if blk.a + k > 0 and blk.b + k > 0]
    e = np.asarray(errs, dtype=np.float64)
    return {
        "frame_agreement": agree,
        "boundaries": int(e.size),
        "median_boundary_error_ms": float(np.median(e) * 1000) if e.size else float("nan"),
        "within_20ms": float(np.mean(e <= 0.02)) if e.size else 0.0,
        "within_50ms": float(np.mean(e <= 0.05)) if e.size else 0.0,
    }
