"""``enroll``: a voice held out of a tiny model's training is added from its recordings; only the new speaker row
is fitted (everything else bit-identical), it fits that voice better than where it started, and the new
checkpoint converts to it through the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY_SET, run_cli

from vqspeech.io.checkpoint import load_state, read_meta


@pytest.fixture(scope="module")
def held_out_voice_model(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from vqspeech.verbs import train

    spk = sorted(p.name for p in demo_corpus.iterdir() if p.is_dir())[-1]
    run = tmp_path_factory.mktemp("enroll") / "run"
    ckpt = train("recipes/demo.yaml", out=run, overrides=[*TINY_SET, f"data.root={demo_corpus}",
                                                          f"data.unseen_speakers=[{spk}]"], max_steps=40, device="cpu")
    return ckpt, spk


def test_enroll_a_held_out_voice(held_out_voice_model: tuple[Path, str], demo_corpus: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    ckpt, spk = held_out_voice_model
    assert spk not in read_meta(ckpt)["speakers"]
    wavs = sorted((demo_corpus / spk).glob("*.wav"))
    out = tmp_path / "new.safetensors"
    code, _, err = run_cli(["enroll", "newvoice", *map(str, wavs[:3]), "-c", str(ckpt), "-o", str(out),
                            "--steps", "40", "--device", "cpu"], monkeypatch, capsys)
    assert code == 0, err
    assert "a minute or more" in err  # ~10 s of audio: said, not refused
    meta = read_meta(out)
    assert meta["speakers"] == [*read_meta(ckpt)["speakers"], "newvoice"]
    stats = meta["enrolled"]["newvoice"]
    assert stats["nll_bits_end"] < stats["nll_bits_start"]
    old, new = load_state(ckpt)[0], load_state(out)[0]
    for k, v in old.items():
        if k == "decoder.speakers.weight":
            assert torch.equal(new[k][:-1], v) and not torch.equal(new[k][-1], v.mean(0))
        else:
            assert torch.equal(new[k], v), k  # nothing else moved
    # the new voice fits a recording it did not see better than the mean voice it started from
    from vqspeech.speech.data.audio import load_audio
    from vqspeech.speech.inference import load_vqvae

    model, _ = load_vqvae(out)
    audio = torch.from_numpy(load_audio(wavs[3], 16000)[: 1024 * 8]).reshape(8, 1024)
    zq = model.quantizer(model.encoder(audio)).quantized
    with torch.no_grad():
        new_nll = model.decoder.nll(audio, zq, torch.full((8,), len(meta["speakers"]) - 1)).item()
        model.decoder.speakers.weight[-1] = model.decoder.speakers.weight[:-1].mean(0)
        mean_nll = model.decoder.nll(audio, zq, torch.full((8,), len(meta["speakers"]) - 1)).item()
    assert new_nll < mean_nll
    code, _, err = run_cli(["convert", str(wavs[0]), "--speaker", "newvoice", "-c", str(out), "-o",
                            str(tmp_path / "c.wav"), "--device", "cpu"], monkeypatch, capsys)
    assert code == 0, err
    assert (tmp_path / "c.wav").stat().st_size > 1000


def test_enroll_refusals(held_out_voice_model: tuple[Path, str], demo_corpus: Path, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    ckpt, spk = held_out_voice_model
    known = read_meta(ckpt)["speakers"][0]
    wav = str(sorted((demo_corpus / spk).glob("*.wav"))[0])
    import soundfile as sf

    sf.write(tmp_path / "short.wav", np.zeros(8000, np.float32) + 0.01, 16000)
    for args, message in [
        ([known, wav, "-o", str(tmp_path / "a.safetensors")], "already a voice"),
        (["x", str(tmp_path / "short.wav"), "-o", str(tmp_path / "a.safetensors")], "too little"),
        (["x", wav, "-o", str(tmp_path / "a.wav")], "NAME.safetensors"),
        (["x", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "a.safetensors")], "missing.wav"),
    ]:
        code, _, err = run_cli(["enroll", *args, "-c", str(ckpt), "--steps", "2"], monkeypatch, capsys)
        assert code == 2 and err.startswith("error:") and message in err, err
    assert not (tmp_path / "a.safetensors").exists()
