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
    # the targets come first, then the judges, then the players
    order = [text.index("<h2>" + s) for s in ("Targets", "What the judges hear", "Listen:", "Codec (.vqs files)",
                                              "Prior samples", "Training curves", "How phonetic are the codes",
                                              "Time taken")]
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


def _targets_run(root: Path) -> Path:
    """A run dir with only what the targets are read from: two evaluations (the later one judged; it has no STOI) and
    a phoneme-eval with the MFCC baseline and ABX."""
    run = root / "runs" / "demo"
    (run / "eval").mkdir(parents=True)
    early = _eval(100, 1.0)
    early["conversion_speaker"].update(identified_as_target=0.1, closer_to_target=0.95)
    last = _eval(200, 1.0)
    del last["stoi"]
    last["conversion_speaker"].update(identified_as_target=0.85, closer_to_target=0.5)
    last.update(wer_original=0.6, wer_reconstruction=0.8)  # 1.33x the originals'
    (run / "eval" / "step-100.json").write_text(json.dumps(early))
    (run / "eval" / "step-200.json").write_text(json.dumps(last))
    abx = {"angular": {"within": 0.1, "across": 0.2}, "equal": {"within": 0.3, "across": 0.4}}
    base_abx = {"angular": {"within": 0.15, "across": 0.3}, "equal": {"within": 0.2, "across": 0.25}}
    (run / "phoneme_eval.json").write_text(json.dumps({
        "accuracy_heldout": 0.5, "pnmi": 0.4, "abx": abx,
        "baseline": {"name": "MFCC+delta k-means, K=32", "accuracy_heldout": 0.45, "pnmi": 0.6, "abx": base_abx}}))
    return run


TARGETS_MET = {"held-out conversions identified as the target": "yes",
               "held-out conversions closer to the target than the source": "no",
               "reconstruction STOI": "–",
               "reconstruction word error vs the originals'": "yes",
               "codes vs MFCC k-means (same K, same rate): held-out phone accuracy": "yes",
               "codes vs MFCC k-means (same K, same rate): PNMI": "no",
               "codes vs MFCC k-means (same K, same rate): ABX error across speakers": "yes"}


def test_speech_report_opens_with_the_targets_and_whether_each_is_met(tmp_path: Path) -> None:
    """The page's first section is the targets table, judged on the last evaluation and phoneme-eval; the judges'
    section no longer carries the loose "Targets: ..." sentence."""
    import html
    import re

    from vqspeech.io.html import Page
    from vqspeech.speech.report import build

    run = _targets_run(tmp_path)
    page = Page(run / "report.html", "t")
    build(run, page)
    titles = [t for _, t, _ in page.sections]
    assert titles[:2] == ["Targets", "What the judges hear"]
    body = page.sections[0][2]
    assert "step 200" in body
    rows = [[html.unescape(c) for c in r] for r in re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>"
                                                               r"<td>(.*?)</td></tr>", body)]
    assert {r[0]: r[3] for r in rows} == TARGETS_MET
    assert [r[0] for r in rows] == list(TARGETS_MET)
    shown = {r[0]: r[2] for r in rows}
    assert shown["held-out conversions identified as the target"] == "85 %"
    assert shown["reconstruction STOI"] == "not measured"
    assert shown["reconstruction word error vs the originals'"] == "80 % vs 60 % (1.33×)"
    assert shown["codes vs MFCC k-means (same K, same rate): ABX error across speakers"].startswith("20.0 % vs 30.0 %")
    assert all("Targets:" not in b for _, _, b in page.sections)


def test_markdown_demo_report_opens_with_the_targets(tmp_path: Path) -> None:
    """``scripts/report.py`` (``report.md``) leads with the same table."""
    import os
    import subprocess
    import sys

    run = _targets_run(tmp_path)
    for name in ("f1_000-to-f1", "f1_000-to-m3", "croak_027-to-m3"):  # conversions of two source utterances
        write_tone(run / "convert" / f"{name}.wav", 0.5, 8000)
    root = Path(__file__).resolve().parents[2]
    # the script imports this tree's package, not whichever one the environment has installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "scripts/report.py", str(run)], capture_output=True, text=True, cwd=root,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    text = (run / "report.md").read_text()
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads[0] == "## Targets" and heads[1].startswith("## What the judges hear")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.split("## What the judges")[0].splitlines()
            if line.startswith("| ") and not line.startswith("| target |")]
    assert {r[0]: r[3] for r in rows} == TARGETS_MET
    assert "Targets:" not in text
    sources = [line for line in text.splitlines() if line.startswith("Source: ")]  # each lists its own conversions
    assert sources == ["Source: `demo_corpus/croak/croak_027.wav`. Converted to: [m3](convert/croak_027-to-m3.wav)",
                       "Source: `demo_corpus/f1/f1_000.wav`. Converted to: [f1](convert/f1_000-to-f1.wav), "
                       "[m3](convert/f1_000-to-m3.wav)"]
