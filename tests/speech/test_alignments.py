from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vqspeech.errors import InputError
from vqspeech.speech.data.alignments import Interval, frame_labels, read_phones, read_tiers, write_textgrid
from vqspeech.speech.data.phones import ARPABET, ESPEAK_TO_ARPABET, PHONES, espeak_to_arpabet, fold_phone


def test_fold_table() -> None:
    assert len(ARPABET) == 39 and len(PHONES) == 40
    assert fold_phone("AH0") == "AH" and fold_phone("er1") == "ER" and fold_phone(" iy2 ") == "IY"
    for s in ("sil", "sp", "spn", "pau", "", "SIL"):
        assert fold_phone(s) == "sil"
    assert fold_phone("ax") == "AH" and fold_phone("dx") == "T" and fold_phone("hv") == "HH"
    with pytest.raises(KeyError):
        fold_phone("hello")


def test_espeak_table_targets_are_in_the_phone_set() -> None:
    for name, parts in ESPEAK_TO_ARPABET.items():
        assert all(p in PHONES for p in parts), name
    assert espeak_to_arpabet("'aI") == ("AY",) and espeak_to_arpabet(",oU") == ("OW",)
    assert espeak_to_arpabet("_:") == ("sil",) and espeak_to_arpabet("A@") == ("AA", "R")


def test_textgrid_round_trip_and_tier_choice(tmp_path: Path) -> None:
    p = tmp_path / "x.TextGrid"
    words = [Interval(0, 0.5, "hello"), Interval(0.5, 1.0, "")]
    phones = [Interval(0, 0.2, "HH"), Interval(0.2, 0.5, "AH0"), Interval(0.5, 1.0, "sp")]
    write_textgrid(p, 1.0, {"words": words, "phones": phones})
    dur, tiers = read_tiers(p)
    assert dur == 1.0 and list(tiers) == ["words", "phones"]
    assert [iv.label for iv in read_phones(p)] == ["HH", "AH", "sil"]
    write_textgrid(p, 1.0, {"words": words, "segments": phones})  # no tier called phones: pick the phone-like one
    assert [iv.label for iv in read_phones(p)] == ["HH", "AH", "sil"]
    write_textgrid(p, 1.0, {"words": words})
    with pytest.raises(InputError, match="no phone tier"):
        read_phones(p)


def test_frame_labels_use_centres_and_trim_offset() -> None:
    phones = [Interval(0.0, 0.1, "sil"), Interval(0.1, 0.2, "AA"), Interval(0.2, 0.3, "B")]
    sr, hop = 1000, 50  # frames of 50 ms: centres at 25, 75, 125, ... ms
    assert frame_labels(phones, 6, hop, sr) == ["sil", "sil", "AA", "AA", "B", "B"]
    # audio trimmed by 100 samples (0.1 s): frame 0 now starts at 0.1 s in the original
    assert frame_labels(phones, 4, hop, sr, trim_offset=100) == ["AA", "AA", "B", "B"]
    assert frame_labels(phones, 8, hop, sr)[6:] == [None, None]


def test_demo_corpus_alignments_span_audio_and_match_energy(demo_corpus: Path) -> None:
    wavs = sorted(demo_corpus.rglob("*.wav"))
    assert len(wavs) == 12 and len({w.parent.name for w in wavs}) == 3
    sil_rms, phone_rms = [], []
    for w in wavs:
        audio, sr = sf.read(str(w))
        assert sr == 16000
        dur, tiers = read_tiers(w.with_suffix(".TextGrid"))
        assert set(tiers) == {"phones", "espeak"}
        assert w.with_suffix(".txt").read_text().strip()
        for items in tiers.values():
            assert items[0].start == 0.0 and abs(items[-1].end - len(audio) / sr) < 1e-4  # reader keeps 5 decimals
            assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(items, items[1:], strict=False))
            assert all(iv.end > iv.start for iv in items)
        for iv in read_phones(w.with_suffix(".TextGrid")):
            seg = audio[int(iv.start * sr) : int(iv.end * sr)]
            if len(seg) < 0.03 * sr:
                continue
            rms = float(np.sqrt(np.mean(seg**2)))
            (sil_rms if iv.label == "sil" else phone_rms).append(rms)
    assert np.median(sil_rms) < 0.003, "silence intervals must be near-silent"
    assert np.percentile(phone_rms, 10) > 5 * np.median(sil_rms) and np.median(phone_rms) > 0.02


def test_demo_corpus_is_deterministic(demo_corpus: Path, tmp_path: Path) -> None:
    from vqspeech.speech.data.demo_corpus import build_demo_corpus

    build_demo_corpus(tmp_path / "again", speakers=3, utterances=4, seed=0)
    for f in sorted(demo_corpus.rglob("*.*")):
        assert (tmp_path / "again" / f.relative_to(demo_corpus)).read_bytes() == f.read_bytes(), f.name
    build_demo_corpus(tmp_path / "other", speakers=1, utterances=4, seed=1)
    assert (tmp_path / "other" / "f1" / "f1_000.txt").read_text() != (demo_corpus / "f1" / "f1_000.txt").read_text()


def test_demo_without_espeak_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from vqspeech.errors import VQSpeechError
    from vqspeech.speech.data.espeak import Espeak

    monkeypatch.setitem(sys.modules, "espeakng_loader", None)
    monkeypatch.setattr(Espeak, "_instance", None)
    with pytest.raises(VQSpeechError, match=r"pip install 'vqspeech\[demo\]'"):
        Espeak.get()
