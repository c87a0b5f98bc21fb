from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import PRIOR_SET, run_cli

import vqspeech
from vqspeech.io.checkpoint import read_meta, save_checkpoint, sha256_file
from vqspeech.io.tokens import TokenWriter, write_token_meta
from vqspeech.speech.commands import token_columns
from vqspeech.verbs import train


def _fake_tokens(out: Path, seqs: list[list[int]], num_codes: int = 8) -> Path:
    out.mkdir()
    write_token_meta(out, {"format": "parquet", "model_path": "none", "model_sha256": "0" * 64,
                           "num_codes": num_codes, "frame_rate": 250.0, "sample_rate": 16000, "hop_length": 64,
                           "speakers": ["a", "b"]})
    w = TokenWriter(out, "parquet", columns=token_columns())
    for i, s in enumerate(seqs):
        w.add({"id": f"u{i}", "speaker": "ab"[i % 2], "path": "", "num_samples": len(s) * 64, "trim_offset": 0,
               "codes": s})
    w.flush()
    return out


def test_prior_learns_a_toy_code_language(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pattern = [3, 1, 4, 1, 5, 2, 6, 0]
    seqs = [[pattern[(k + j) % 8] for j in range(200)] for k in rng.integers(0, 8, 20)]
    tokens = _fake_tokens(tmp_path / "tok", seqs)
    ck = train("recipes/demo_prior.yaml", out=tmp_path / "run", overrides=[*PRIOR_SET, f"data.tokens={tokens}",
                                                                           "train.lr=0.01"],
               max_steps=150, device="cpu")
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    final = rows[-1]
    assert final["valid_bits_per_code"] < 0.2, final  # the pattern is deterministic after 2 codes
    assert final["uniform_bits_per_s"] == pytest.approx(3 * 250.0)
    prior = vqspeech.load(ck)
    out = prior.sample((3, 40), torch.tensor([0, 1, 0]), generator=torch.Generator().manual_seed(0))
    text = " ".join(map(str, pattern * 8))
    for row in out.tolist():
        assert " ".join(map(str, row[2:])) in text  # after a short start, the samples follow the pattern


def test_prior_incremental_equals_teacher_forced() -> None:
    from vqspeech.speech.config import PriorModel
    from vqspeech.speech.models import CodePrior

    torch.manual_seed(0)
    prior = CodePrior(PriorModel(speaker_dim=3, residual_channels=8, gate_channels=8, skip_channels=8, layers=5,
                                 cycle=3), num_codes=10, num_speakers=2).eval()
    for p in prior.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randint(0, 10, (2, 30))
    spk = torch.tensor([1, 0])
    ref = prior.net(x, None, prior.speakers(spk))
    _, logits = prior.net.generate(30, None, prior.speakers(spk), teacher=x)
    assert (ref - logits).abs().max() < 1e-4


def test_sample_end_to_end_and_mismatch_refused(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    from vqspeech.speech.commands import encode

    encode([demo_corpus], tmp_path / "tok", checkpoint=tiny_model)
    ck = train("recipes/demo_prior.yaml", out=tmp_path / "prior", overrides=[*PRIOR_SET,
               f"data.tokens={tmp_path / 'tok'}"], max_steps=10, device="cpu")
    meta = read_meta(ck)
    assert meta["kind"] == "speech-prior" and meta["vqvae_sha256"] == sha256_file(tiny_model)
    assert meta["num_codes"] == 32 and meta["speakers"] == ["f1", "f2", "f3"]
    args = ["sample", "-c", str(ck), "-n", "2", "--seconds", "0.02", "-o", str(tmp_path / "s"), "--seed", "1"]
    code, _, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    wavs = sorted((tmp_path / "s").glob("*.wav"))
    assert len(wavs) == 2 and sf.info(str(wavs[0])).frames == 320
    first = wavs[0].read_bytes()
    assert run_cli(args, monkeypatch, capsys)[0] == 0 and wavs[0].read_bytes() == first
    # another VQ-VAE (different bytes) is refused
    other = tmp_path / "other.safetensors"
    model = vqspeech.load(tiny_model)
    save_checkpoint(other, model, {**read_meta(tiny_model), "step": 1})
    code, _, err = run_cli([*args[:-2], "--vqvae", str(other)], monkeypatch, capsys)
    assert code == 2 and "not the VQ-VAE this prior was trained on" in err
    code, _, err = run_cli(["sample", "-c", str(tiny_model), "-o", str(tmp_path / "x")], monkeypatch, capsys)
    assert code == 2 and "speech-prior" in err


def test_prior_trains_from_audio_through_a_vqvae(tiny_model: Path, demo_corpus: Path, tmp_path: Path) -> None:
    from vqspeech.speech.commands import encode

    ck = train("recipes/demo_prior.yaml", out=tmp_path / "p", overrides=[
        *PRIOR_SET, "data.tokens=", f"data.root={demo_corpus}", f"data.vqvae={tiny_model}"], max_steps=3,
        device="cpu")
    meta = read_meta(ck)
    assert meta["vqvae_sha256"] == sha256_file(tiny_model) and meta["frame_rate"] == 1000.0
    # the same codes through a token dataset train the identical prior
    encode([demo_corpus], tmp_path / "tok", checkpoint=tiny_model)
    train("recipes/demo_prior.yaml", out=tmp_path / "t", overrides=[*PRIOR_SET, f"data.tokens={tmp_path / 'tok'}"],
          max_steps=3, device="cpu")
    rows = [[json.loads(x) for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()] for d in "pt"]
    assert rows[0][-1]["valid_bits_per_code"] == pytest.approx(rows[1][-1]["valid_bits_per_code"], abs=1e-6)
