"""``vqspeech report`` of a speech run: the page built from a small fixture run (the files scripts/demo.sh writes,
with short tones for the audio) opens in headless Chromium, every player loads and every image decodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_page_plays, chromium, run_cli, write_tone
from PIL import Image

from vqspeech.io.checkpoint import read_meta
from vqspeech.speech.codec import encode_codes


def _eval(step: int, quality: float) -> dict:
    """An evaluate JSON with every key ``vqspeech evaluate`` writes (values made up for the fixture)."""
    return {"utterances": ["a", "b"], "split": "runs/demo/split.json", "seed": 0, "temperature": 1.0,
            "code_agreement_conversion": 0.2 * quality, "code_agreement_reconstruction": 0.25 * quality,
            "log_mel_distance_db": 12.0 - quality, "bits_per_s": 900.0, "uniform_bits_per_s": 1125.0,
            "stoi": 0.6, "pesq_wb": 1.05,
            "conversion_speaker": {"n": 2, "similarity_target": 0.6, "similarity_source": 0.55,
                                   "closer_to_target": 0.5 + 0.4 * quality, "identified_as_target": 0.4 * quality,
                                   "identified_as_source": 0.0},
            "original_identification": 0.9, "reconstruction_identification": 0.5 * quality,
            "wer_original": 0.8, "wer_reconstruction": 0.9, "wer_conversion": 0.95,
            "checkpoint": f"runs/demo/checkpoints/step-{step}.safetensors"}


def make_speech_run(root: Path, checkpoint: Path) -> Path:
    """``root/runs/demo`` (+ ``demo_prior``) as scripts/demo.sh leaves them: a copy of a tiny trained run (config,
    split, metrics, checkpoint) plus conversions, codec files, samples, evaluations and phoneme-eval with tones."""
    run = root / "runs" / "demo"
    shutil.copytree(checkpoint.parents[1], run)
    ck = run / "checkpoints" / "last.safetensors"
    meta = read_meta(ck)
    speakers, sr = meta["speakers"], meta["sample_rate"]
    split = json.loads((run / "split.json").read_text())
    sources = [split["valid"][0], split["train"][0]]
    for i, src in enumerate(sources):
        for j, spk in enumerate(speakers):
            write_tone(run / "convert" / f"{src}-to-{spk}.wav", 0.3, sr, freq=150.0 + 60 * i + 20 * j)
    (run / "codec").mkdir()
    for uid in split["valid"][:2]:
        codes = np.random.default_rng(0).integers(0, meta["num_codes"], 40)
        for name in (f"{uid}.vqs", f"{uid}.unigram.vqs"):
            encode_codes(codes, run / "codec" / name, vqvae=ck, num_samples=40 * meta["hop_length"])
    write_tone(run / "codec" / f"{split['valid'][0]}.wav", 0.3, sr, freq=300.0)
    for i in range(2):
        write_tone(run / "samples" / f"sample-{i:03d}.wav", 0.4, sr, freq=200.0 + 100 * i)
    (run / "eval").mkdir()
    for step, q in ((20, 0.3), (40, 0.6), (60, 0.8)):
        (run / "eval" / f"step-{step}.json").write_text(json.dumps(_eval(step, q)))
    pe = {"utterances": 4, "frames": 400, "frame_rate": 250.0, "phones": 20, "accuracy_heldout": 0.42,
          "accuracy_same_set": 0.5, "majority_baseline": 0.12, "majority_phone": "sil",
          "accuracy_heldout_nonsil": 0.38, "majority_baseline_nonsil": 0.06, "majority_phone_nonsil": "AH",
          "cluster_purity": 0.2, "pnmi": 0.45, "codes_used": 30, "bitrate_bits_per_s": 1100.0,
          "mean_run_length_frames": 1.5, "baseline": {"name": "MFCC+delta k-means, K=32", "accuracy_heldout": 0.6,
                                                      "pnmi": 0.7, "codes_used": 32}}
    (run / "phoneme_eval.json").write_text(json.dumps(pe))
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(
        run / "codes_phones.png")
    (run / "timings.tsv").write_text("train\t30\nconvert\t4\n")
    prior = root / "runs" / "demo_prior"
    prior.mkdir()
    (prior / "metrics.jsonl").write_text(json.dumps({"step": 10, "valid_bits_per_code": 4.7, "valid_bits_per_s": 590.0,
                                                     "uniform_bits_per_s": 1125.0}) + "\n")
    return run


def test_speech_report_page_plays_every_sound(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    run = make_speech_run(tmp_path, tiny_model)
    speakers = read_meta(run / "checkpoints" / "last.safetensors")["speakers"]
    split = json.loads((run / "split.json").read_text())
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["report", "runs/demo"], monkeypatch, capsys)
    assert code == 0, err
    page = run / "report.html"
    text = page.read_text()
    # the judges' table comes first, then the players
    order = [text.index(s) for s in ("What the judges hear", "Listen:", "Codec (.vqs files)", "Prior samples",
                                     "Training curves", "How phonetic are the codes", "Time taken")]
    assert order == sorted(order)
    assert "conversion: identified as target / as source" in text and "590 bits/s" in text
    held = split["valid"][0]
    assert text.index(held) < text.index(split["train"][0])  # held-out utterances first
    assert "held out" in text
    n_conv = 2 * len(speakers)
    n_audio = 2 + n_conv + (2 + 1) + 2  # originals, recon + conversions, codec originals + decoded, samples
    assert text.count("<audio controls") == n_audio
    assert text.count('class="spec"') == n_audio  # each player with its spectrogram
    # the corpus originals live outside the run: copied beside the page, linked relatively
    assert (run / "report_files" / "src").is_dir() and "../" not in text
    with chromium(tmp_path, monkeypatch) as driver:
        media = assert_page_plays(driver, page.resolve().as_uri(), min_audio=n_audio, min_img=n_audio + 3)
    assert all(u.startswith("file://") for u in media["resources"])
    assert {round(a["duration"], 1) for a in media["audio"]} >= {0.3, 0.4}


def test_judged_checkpoints_are_placed_by_their_recorded_minutes() -> None:
    """A checkpoint's own training minutes (all invocations of a resumed run) win over steps x minutes per step."""
    import math

    from vqspeech.speech.report import eval_minutes

    assert eval_minutes(2500, {"train_minutes": 50.3}, 0.5) == 50.3
    assert eval_minutes(100, {}, 0.5) == 50.0
    assert math.isnan(eval_minutes(100, {}, 0.0))
