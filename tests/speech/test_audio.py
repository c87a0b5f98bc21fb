from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import write_tone

from vqspeech.errors import AudioError
from vqspeech.nn.mulaw import mulaw_decode, mulaw_encode
from vqspeech.speech.data.audio import load_audio, save_wav, trim_silence


def test_resamples_and_mixes_down(tmp_path: Path) -> None:
    p = write_tone(tmp_path / "x.wav", seconds=0.5, sr=8000, channels=2)
    a = load_audio(p, 16000)
    assert a.dtype == np.float32 and a.ndim == 1
    assert abs(len(a) - 8000) <= 2
    spectrum = np.abs(np.fft.rfft(a))
    assert abs(np.argmax(spectrum) * 16000 / len(a) - 220) < 5


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "text", "nan", "zero", "directory"])
def test_bad_audio_raises_one_clear_error(tmp_path: Path, case: str) -> None:
    p = tmp_path / "bad.wav"
    if case == "empty":
        p.write_bytes(b"")
    elif case == "corrupt":
        good = write_tone(tmp_path / "good.wav").read_bytes()
        p.write_bytes(good[:20] + b"\x00garbage" * 10)
    elif case == "text":
        p = tmp_path / "notes.wav"
        p.write_text("this is not audio\n")
    elif case == "nan":
        sf.write(str(p), np.full(800, np.nan, np.float32), 16000, subtype="FLOAT")
    elif case == "zero":
        sf.write(str(p), np.zeros(0, np.float32), 16000)
    elif case == "directory":
        p = tmp_path / "dir.wav"
        p.mkdir()
    with pytest.raises(AudioError) as err:
        load_audio(p, 16000)
    assert str(p) in str(err.value)


def test_mulaw_round_trip() -> None:
    x = torch.linspace(-1, 1, 1001)
    q = mulaw_encode(x)
    assert q.min() == 0 and q.max() == 255
    y = mulaw_decode(q)
    assert (y - x).abs().max() < 0.04  # coarse steps near +-1
    small = torch.linspace(-0.01, 0.01, 101)
    assert (mulaw_decode(mulaw_encode(small)) - small).abs().max() < 3e-4  # fine steps near 0


def test_trim_keeps_offset(tmp_path: Path) -> None:
    sr = 16000
    tone = np.sin(2 * np.pi * 300 * np.arange(sr // 2) / sr).astype(np.float32) * 0.5
    x = np.concatenate([np.zeros(4000, np.float32), tone, np.zeros(3000, np.float32)])
    y, off = trim_silence(x, top_db=30)
    assert abs(off - 4000) <= 512
    np.testing.assert_array_equal(y[:100], x[off : off + 100])


def test_save_wav_refuses_missing_directory(tmp_path: Path) -> None:
    from vqspeech.errors import InputError

    with pytest.raises(InputError, match="does not exist"):
        save_wav(tmp_path / "nope" / "x.wav", np.zeros(10), 16000)
    save_wav(tmp_path / "x.wav", np.zeros(10), 16000)
    assert sf.info(str(tmp_path / "x.wav")).frames == 10


@pytest.mark.parametrize("rate", [16000, 8000, 22050])
def test_block_reading_equals_reading_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: int) -> None:
    """Files are read, mixed and resampled a block at a time (memory of about one result for an hour-long file);
    the samples are the same as reading the whole file and resampling it in one call."""
    import soxr

    from vqspeech.speech.data import audio as audio_mod

    rng = np.random.default_rng(0)
    stereo = (rng.standard_normal((16000 * 5 + 123, 2)) * 0.1).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(str(path), stereo, 16000, subtype="FLOAT")
    monkeypatch.setattr(audio_mod, "READ_BLOCK_SECONDS", 1)  # 6 blocks
    got = audio_mod.load_audio(path, rate)
    mono = stereo.mean(axis=1, dtype=np.float32)
    want = mono if rate == 16000 else soxr.resample(mono, 16000, rate)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
