from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from vqspeech.errors import InputError, VQSpeechError
from vqspeech.speech.align import Aligner, align_corpus, align_utterance, compare_alignments
from vqspeech.speech.data.alignments import Interval, read_phones, read_tiers
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.data.corpora import discover
from vqspeech.speech.data.phones import PHONES

pytest.importorskip("pocketsphinx")


@pytest.fixture(scope="module")
def aligned(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The whole demo corpus aligned into a separate folder (its own exact TextGrids stay untouched)."""
    out = tmp_path_factory.mktemp("aligned")
    return out, align_corpus(demo_corpus, out)


def test_align_corpus_writes_one_textgrid_per_utterance(demo_corpus: Path, aligned: tuple[Path, dict]) -> None:
    out, summary = aligned
    utts = discover(demo_corpus)
    assert summary["utterances"] == summary["aligned"] == len(utts) == 12
    assert summary["failed"] == {} and summary["no_text"] == [] and summary["skipped_words"] == []
    for u in utts:
        grid = out / u.speaker / f"{u.id}.TextGrid"
        duration, tiers = read_tiers(grid)
        assert set(tiers) == {"phones", "words"}
        phones = read_phones(grid)
        audio_seconds = len(load_audio(u.path, 16000)) / 16000
        assert duration == pytest.approx(audio_seconds, abs=1e-4)  # the textgrid reader keeps 5 decimals
        assert phones[0].start == 0.0 and phones[-1].end == pytest.approx(audio_seconds, abs=1e-4)
        assert all(a.end == pytest.approx(b.start) for a, b in zip(phones, phones[1:], strict=False))
        assert {p.label for p in phones} <= set(PHONES)
        words = [iv.label for iv in tiers["words"] if iv.label]
        assert words == u.text.lower().replace(",", "").replace(".", "").replace("?", "").replace("!", "").split()
    assert not list(out.glob("**/.*.tmp*"))  # atomic writes leave no temp files


def test_alignment_agrees_with_exact_espeak_alignments(demo_corpus: Path, aligned: tuple[Path, dict]) -> None:
    """Measured on this corpus: frame agreement 0.74, median boundary error 14 ms, 88 % within 50 ms.  The
    pronunciations differ a little (CMU dictionary vs espeak), which caps the frame agreement."""
    out, _ = aligned
    scores = [compare_alignments(read_phones(out / u.speaker / f"{u.id}.TextGrid"), read_phones(u.alignment))
              for u in discover(demo_corpus)]
    errors_ms = np.median([s["median_boundary_error_ms"] for s in scores])
    assert np.mean([s["frame_agreement"] for s in scores]) > 0.6
    assert errors_ms < 30
    assert np.mean([s["within_50ms"] for s in scores]) > 0.75
    # a wrong alignment (another utterance's) scores far lower: the measure can fail
    utts = discover(demo_corpus)
    wrong = compare_alignments(read_phones(out / utts[1].speaker / f"{utts[1].id}.TextGrid"),
                               read_phones(utts[0].alignment))
    assert wrong["frame_agreement"] < 0.4


def test_align_corpus_keeps_existing_and_lists_missing_text(demo_corpus: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    (corpus / "f1").mkdir(parents=True)
    src = sorted((demo_corpus / "f1").glob("*.wav"))[:2]
    for n, s in enumerate(src):
        (corpus / "f1" / s.name).write_bytes(s.read_bytes())
        if n == 0:  # only the first has text
            (corpus / "f1" / s.with_suffix(".txt").name).write_text(s.with_suffix(".txt").read_text())
    summary = align_corpus(corpus)  # beside the audio
    assert summary["aligned"] == 1 and summary["no_text"] == [src[1].stem]
    grid = corpus / "f1" / f"{src[0].stem}.TextGrid"
    assert grid.exists()
    again = align_corpus(corpus)
    assert again["aligned"] == 0 and again["kept_existing"] == [src[0].stem]
    assert align_corpus(corpus, overwrite=True)["aligned"] == 1


def test_unknown_words_are_guessed_or_skipped(demo_corpus: Path) -> None:
    wav = sorted((demo_corpus / "f2").glob("*.wav"))[0]
    audio = load_audio(wav, 16000)
    text = wav.with_suffix(".txt").read_text()
    aligner = Aligner(g2p=False)
    with pytest.warns(UserWarning, match="zzqxv"):
        al = aligner.align(audio, 16000, text + " zzqxv")
    assert al.skipped == ["zzqxv"] and al.guessed == {}
    pytest.importorskip("espeakng_loader")
    words, guessed, skipped = Aligner().prepare("the blorfing 9")
    assert words == ["the", "blorfing", "9"] and skipped == []
    assert guessed["9"].split() == ["N", "AY", "N"]
    assert all(p in PHONES for p in guessed["blorfing"].split())


def test_align_utterance_resamples_and_rejects_bad_input(demo_corpus: Path) -> None:
    wav = sorted((demo_corpus / "f3").glob("*.wav"))[0]
    text = wav.with_suffix(".txt").read_text()
    audio = load_audio(wav, 22050)  # not the recogniser's rate
    phones = align_utterance(audio, 22050, text)
    assert isinstance(phones[0], Interval) and phones[-1].end == pytest.approx(len(audio) / 22050)
    ref = read_phones(wav.with_suffix(".TextGrid"))
    assert compare_alignments(phones, ref)["frame_agreement"] > 0.5
    with pytest.raises(InputError, match="no word"):
        align_utterance(audio, 22050, " ... ")
    with pytest.raises(InputError, match="no samples"):
        align_utterance(np.zeros(0, np.float32), 16000, "hello")
    with pytest.raises(InputError, match="shape"):
        align_utterance(np.zeros((2, 16000), np.float32), 16000, "hello")
    with warnings.catch_warnings(), pytest.raises(VQSpeechError, match="no alignment"):
        warnings.simplefilter("ignore")
        align_utterance(np.zeros(3200, np.float32), 16000, " ".join([text] * 4))  # 0.2 s of silence, 40 words


def test_compare_alignments_known_answer() -> None:
    ref = [Interval(0.0, 0.1, "sil"), Interval(0.1, 0.3, "AA"), Interval(0.3, 0.5, "B")]
    hyp = [Interval(0.0, 0.11, "sil"), Interval(0.11, 0.3, "AA"), Interval(0.3, 0.5, "B")]
    c = compare_alignments(hyp, ref)
    assert c["frame_agreement"] == pytest.approx(49 / 50)  # the frame centred at 0.105 s differs
    assert c["boundaries"] == 2 and c["median_boundary_error_ms"] == pytest.approx(5.0)  # errors 10 ms and 0
    assert c["within_20ms"] == 1.0
    late = [Interval(0.0, 0.16, "sil"), Interval(0.16, 0.3, "AA"), Interval(0.3, 0.5, "B")]
    assert compare_alignments(late, ref)["within_50ms"] == 0.5
    with pytest.raises(InputError):
        compare_alignments([], ref)


def test_align_corpus_reads_librispeech_transcripts(demo_corpus: Path, tmp_path: Path) -> None:
    import soundfile as sf

    chapter = tmp_path / "libri" / "19" / "198"
    chapter.mkdir(parents=True)
    lines = []
    for n, wav in enumerate(sorted((demo_corpus / "f3").glob("*.wav"))[:2]):
        uid = f"19-198-{n:04d}"
        sf.write(str(chapter / f"{uid}.flac"), load_audio(wav, 16000), 16000)
        lines.append(f"{uid} {wav.with_suffix('.txt').read_text().strip().upper()}")
    (chapter / "19-198.trans.txt").write_text("\n".join(lines) + "\n")
    summary = align_corpus(tmp_path / "libri", tmp_path / "grids")
    assert summary["aligned"] == 2 and summary["failed"] == {}
    assert sorted(p.name for p in (tmp_path / "grids" / "19").iterdir()) == ["19-198-0000.TextGrid",
                                                                             "19-198-0001.TextGrid"]
