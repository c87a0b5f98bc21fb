"""`vqspeech evaluate` (speech) and `vqspeech align` through the CLI, with the real judges."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import run_cli


def test_evaluate_speech_report(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("resemblyzer")
    pytest.importorskip("pocketsphinx")
    args = ["evaluate", str(demo_corpus), "-c", str(tiny_model), "--json", str(tmp_path / "r.json"), "--md",
            str(tmp_path / "r.md"), "--max-items", "2", "--device", "cpu"]
    code, _, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    r = json.loads((tmp_path / "r.json").read_text())
    split = json.loads((tiny_model.parents[1] / "split.json").read_text())
    assert set(r["utterances"]) <= set(split["valid"]) and r["split"].endswith("split.json")  # held out only
    assert not Path(r["split"]).is_absolute() and not Path(r["checkpoint"]).is_absolute()  # no machine paths
    assert r["original_identification"] == 1.0  # the judge knows the real voices...
    cs = r["conversion_speaker"]
    assert cs["n"] == len(r["utterances"]) and 0 <= cs["identified_as_target"] <= 1
    from vqspeech.speech.data.audio import load_audio
    from vqspeech.speech.data.corpora import discover
    from vqspeech.speech.eval.judges import AsrJudge, corpus_word_error_rate

    utts = {u.id: u for u in discover(demo_corpus)}
    asr = AsrJudge()
    chosen = [utts[i] for i in r["utterances"]]
    wer = corpus_word_error_rate([u.text for u in chosen], [asr.transcribe(load_audio(u.path, 16000)) for u in chosen])
    assert r["wer_original"] == pytest.approx(wer)  # scored on the real held-out originals
    assert r["wer_reconstruction"] >= 0 and r["wer_conversion"] >= 0
    assert 0 < r["bits_per_s"] <= r["uniform_bits_per_s"] == 5 * 1000
    assert 0 <= r["code_agreement_conversion"] <= 1 and r["log_mel_distance_db"] > 0
    assert "| conversion: identified as target / as source |" in (tmp_path / "r.md").read_text()


def test_align_cli_writes_textgrids_and_keeps_existing(demo_corpus: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("pocketsphinx")
    corpus = tmp_path / "c"
    (corpus / "f1").mkdir(parents=True)
    for stem in ("f1_000", "f1_001"):
        for ext in (".wav", ".txt"):
            shutil.copy(demo_corpus / "f1" / f"{stem}{ext}", corpus / "f1" / f"{stem}{ext}")
    code, out, err = run_cli(["align", str(corpus), "-o", str(tmp_path / "ali")], monkeypatch, capsys)
    assert code == 0, err
    grids = sorted((tmp_path / "ali" / "f1").glob("*.TextGrid"))
    assert [g.stem for g in grids] == ["f1_000", "f1_001"]
    from vqspeech.speech.data.alignments import read_phones

    assert {iv.label for iv in read_phones(grids[0])} - {"sil"}  # real phones, not only silence
    code, _, err = run_cli(["align", str(tmp_path / "nope")], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: ")


def test_evaluate_unseen_speakers_and_a_target_voice(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    """--unseen converts speech of a speaker the model does not know to each of its voices; word error is scored
    over the recordings that have a transcript (here one of two).  --target sends every held-out conversion to one
    voice, whose own utterances are then not sources; a voice the model does not have is refused."""
    pytest.importorskip("resemblyzer")
    pytest.importorskip("pocketsphinx")
    from vqspeech.io.checkpoint import read_meta

    src = sorted(p for p in demo_corpus.iterdir() if p.is_dir())[0]
    (tmp_path / "unseen" / "stranger").mkdir(parents=True)
    for i, wav in enumerate(sorted(src.glob("*.wav"))[:2]):
        shutil.copy(wav, tmp_path / "unseen" / "stranger" / wav.name)
        if i == 0:
            shutil.copy(wav.with_suffix(".txt"), tmp_path / "unseen" / "stranger" / f"{wav.stem}.txt")
    target = read_meta(tiny_model)["speakers"][0]
    base = ["evaluate", str(demo_corpus), "-c", str(tiny_model), "--json", str(tmp_path / "r.json"), "--max-items",
            "4", "--device", "cpu"]
    code, _, err = run_cli([*base, "--target", target, "--unseen", str(tmp_path / "unseen")], monkeypatch, capsys)
    assert code == 0, err
    r = json.loads((tmp_path / "r.json").read_text())
    u = r["unseen"]
    voices = json.loads((tiny_model.parents[1] / "split.json").read_text())
    assert len(u["utterances"]) == 2 and u["conversions"] == 2 * len(u["voices"]) and len(u["voices"]) == 3, voices
    assert 0 <= u["identified_as_target"] <= 1 and 0 <= u["closer_to_target"] <= 1
    assert u["wer_utterances"] == 1 and u["wer_original"] >= 0 and u["wer_conversion"] >= 0
    assert r["target"] == target and r["utterances"] and r["targets"] == [target] * len(r["utterances"])
    assert not [i for i in r["utterances"] if i.startswith(target + "_")]  # the target's own speech is no source
    code, _, err = run_cli([*base, "--target", "nobody"], monkeypatch, capsys)
    assert code == 2 and "'nobody' is not a voice of this model" in err, err
    code, _, err = run_cli([*base, "--unseen", str(tmp_path / "nothing")], monkeypatch, capsys)
    assert code == 2 and "nothing" in err


def test_markdown_shows_values_that_are_not_numbers() -> None:
    """A JSON report with null (or NaN) values renders ("–") instead of crashing the markdown and HTML reports."""
    from vqspeech.speech.eval.listening import markdown

    r = {"utterances": ["a"], "split": "x", "original_identification": 1.0, "reconstruction_identification": None,
         "conversion_speaker": {"identified_as_target": 0.5, "identified_as_source": None, "closer_to_target": 1.0,
                                "similarity_target": 0.5, "similarity_source": 0.4},
         "wer_original": 0.3, "wer_reconstruction": None, "wer_conversion": float("nan"), "log_mel_distance_db": 9.0,
         "code_agreement_conversion": 0.2, "code_agreement_reconstruction": 0.3, "bits_per_s": 100.0,
         "uniform_bits_per_s": 200.0}
    md = markdown(r)
    assert "| word error (1 with transcripts): originals / reconstructions / conversions | 30% / – / – |" in md
    assert "| conversion: identified as target / as source | 50% / – |" in md
