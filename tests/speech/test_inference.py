from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import TINY_SET, run_cli, write_tone

import vqspeech
from vqspeech.io.tokens import read_tokens
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.inference import encode_audio, encode_stream


def test_chunked_and_batched_codes_equal_whole_file(tiny_model: Path, demo_corpus: Path) -> None:
    model = vqspeech.load(tiny_model)
    audios = [load_audio(p, 16000) for p in sorted(demo_corpus.rglob("*.wav"))[:5]]
    audios[1] = audios[1][:-37]  # not a multiple of the hop
    whole = [encode_audio(model, [a], chunk_frames=10**9, batch_size=1)[0] for a in audios]
    chunked = encode_audio(model, audios, chunk_frames=7, batch_size=5)
    for w, c, a in zip(whole, chunked, audios, strict=True):
        assert len(w) == -(-len(a) // model.hop)
        np.testing.assert_array_equal(w, c)
    # the frames away from the end equal a plain forward pass of the model on the file
    ref = model.encode(torch.from_numpy(audios[0][None, : len(audios[0]) // 16 * 16])).numpy()[0]
    np.testing.assert_array_equal(whole[0][: len(ref) - 10], ref[:-10])
    assert len(set(whole[0].tolist())) > 1


def test_streamed_codes_equal_whole_file(tiny_model: Path, demo_corpus: Path) -> None:
    """Encoding from blocks of any size (as a long file is read) gives the whole-file codes and length."""
    model = vqspeech.load(tiny_model)
    audio = np.concatenate([load_audio(p, 16000) for p in sorted(demo_corpus.rglob("*.wav"))[:3]])[:-21]
    rng = np.random.default_rng(0)
    for chunk_frames, batch_size in ((7, 1), (9, 4), (10**6, 16)):
        ref = encode_audio(model, [audio], chunk_frames=chunk_frames, batch_size=batch_size)[0]
        cuts = np.sort(rng.choice(len(audio), 12, replace=False))
        blocks = [b for b in np.split(audio, cuts) if len(b)]
        codes, n = encode_stream(model, iter(blocks), chunk_frames=chunk_frames, batch_size=batch_size)
        assert n == len(audio)
        np.testing.assert_array_equal(codes, ref)
    for short in (1, model.hop, 5 * model.hop + 3):  # shorter than one chunk, in one block
        codes, n = encode_stream(model, iter([audio[:short]]), chunk_frames=4)
        np.testing.assert_array_equal(codes, encode_audio(model, [audio[:short]], chunk_frames=4)[0])
    assert encode_stream(model, iter([]))[0].size == 0


def test_encode_formats_and_readers(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import pandas as pd
    import pyarrow.dataset as ds

    code, out, err = run_cli(["encode", str(demo_corpus), "-o", str(tmp_path / "tok"), "-c", str(tiny_model)],
                             monkeypatch, capsys)
    assert code == 0, err
    meta = json.loads((tmp_path / "tok" / "_meta.json").read_text())
    assert meta["num_codes"] == 32 and meta["hop_length"] == 16 and meta["frame_rate"] == 1000.0
    assert meta["format_version"] == 2 and meta["kind"] == "speech-vqvae" and len(meta["model_sha256"]) == 64
    # the directory reads as it is: _meta.json is skipped by the readers' default "_" prefix rule
    df = pd.read_parquet(tmp_path / "tok")
    assert len(df) == 12
    assert set(df.columns) == {"id", "codes", "shape", "speaker", "path", "num_samples", "trim_offset"}
    table = ds.dataset(tmp_path / "tok").to_table()
    assert table.num_rows == 12 and str(table.schema.field("codes").type) == "list<element: uint16>"
    row = df.sort_values("id").iloc[0]
    assert row["speaker"] == "f1" and len(row["codes"]) == -(-row["num_samples"] // 16)
    assert list(row["shape"]) == [len(row["codes"])]
    for fmt in ("units", "npz"):
        code, _, err = run_cli(["encode", str(demo_corpus), "-o", str(tmp_path / fmt), "-c", str(tiny_model),
                                "--format", fmt], monkeypatch, capsys)
        assert code == 0, err
        rows = {r["id"]: list(r["codes"]) for r in read_tokens(tmp_path / fmt)}
        assert rows == {r["id"]: list(r["codes"]) for _, r in df.iterrows()}
    # files over STREAM_SECONDS are encoded as they are read: the same rows, and a bad one still listed
    import vqspeech.speech.commands as enc
    import vqspeech.speech.data.audio as audio_mod

    monkeypatch.setattr(enc, "STREAM_SECONDS", 0.5)
    monkeypatch.setattr(audio_mod, "READ_BLOCK_SECONDS", 1)
    streams = []
    monkeypatch.setattr(enc, "encode_stream", lambda *a, **k: streams.append(1) or encode_stream(*a, **k))
    streamed = enc.encode([demo_corpus], tmp_path / "streamed", checkpoint=tiny_model, fmt="npz", chunk_frames=8)
    assert streamed == {"written": 12, "skipped": 0, "failed": 0} and len(streams) == 12
    got = {r["id"]: (list(r["codes"]), r["num_samples"]) for r in read_tokens(tmp_path / "streamed")}
    assert got == {r["id"]: (list(r["codes"]), r["num_samples"]) for _, r in df.iterrows()}


def test_interrupted_encode_resumes_to_the_same_dataset(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import vqspeech.speech.commands as enc

    full = tmp_path / "full"
    enc.encode([demo_corpus], full, checkpoint=tiny_model, batch_size=2, shard_utterances=2)
    part = tmp_path / "part"
    real = enc.encode_audio
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            (part / ".part-00000-00009.parquet.tmp123").write_bytes(b"half a shard")  # a write cut short
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(enc, "encode_audio", dying)
    with pytest.raises(KeyboardInterrupt):
        enc.encode([demo_corpus], part, checkpoint=tiny_model, batch_size=2, shard_utterances=2)
    assert 0 < len(read_tokens(part)) < 12
    monkeypatch.setattr(enc, "encode_audio", real)
    res = enc.encode([demo_corpus], part, checkpoint=tiny_model, batch_size=2, shard_utterances=2)
    assert res["skipped"] > 0 and res["written"] + res["skipped"] == 12

    def rows(p: Path) -> list:
        return sorted((r["id"], r["speaker"], r["num_samples"], tuple(r["codes"])) for r in read_tokens(p))

    assert rows(part) == rows(full)
    res = enc.encode([demo_corpus], part, checkpoint=tiny_model)
    assert res == {"written": 0, "skipped": 12, "failed": 0}


def test_bad_files_are_skipped_and_listed(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.wav").write_bytes((demo_corpus / "f1" / "f1_000.wav").read_bytes())
    (src / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    sf.write(str(src / "tiny.wav"), np.zeros(5, np.float32), 16000)
    code, _, err = run_cli(["encode", str(src), "-o", str(tmp_path / "tok"), "-c", str(tiny_model)], monkeypatch,
                           capsys)
    assert code == 1
    assert "broken.wav" in err and "tiny.wav" in err and err.strip().splitlines()[-1].startswith("error: 2 file")
    errors = [json.loads(x) for x in (tmp_path / "tok" / "_errors.jsonl").read_text().splitlines()]
    assert {e["id"] for e in errors} == {"in_broken", "in_tiny"}  # loose files: the folder is the speaker
    assert [r["id"] for r in read_tokens(tmp_path / "tok")] == ["in_good"]


def _mel(x: np.ndarray) -> np.ndarray:
    import librosa

    m = librosa.feature.melspectrogram(y=x.astype(np.float32), sr=16000, n_fft=512, hop_length=160, n_mels=40)
    return np.log(m + 1e-5)


def test_reconstruction_is_closer_to_its_source(demo_corpus: Path, tmp_path: Path) -> None:
    from vqspeech.speech.inference import synthesize
    from vqspeech.verbs import train

    src = tmp_path / "two" / "f1"
    src.mkdir(parents=True)
    names = ["f1_000.wav", "f1_001.wav"]
    for n in names:
        (src / n).write_bytes((demo_corpus / "f1" / n).read_bytes())
    ck = train("recipes/demo.yaml", out=tmp_path / "run", overrides=[
        *TINY_SET, f"data.root={tmp_path / 'two'}", "data.valid_fraction=0.0", "model.residual_channels=16",
        "model.gate_channels=32", "model.skip_channels=16", "train.lr=0.005"], max_steps=150, device="cpu")
    model = vqspeech.load(ck)
    a, b = (load_audio(src / n, 16000) for n in names)
    codes = encode_audio(model, [a])[0]
    y = synthesize(model, [codes], [0], temperature=1.0, seed=0)[0][: len(a)]
    n = min(len(a), len(b))
    ma, mb, my = _mel(a[:n]), _mel(b[:n]), _mel(y[:n])
    d_own, d_other = np.mean((my - ma) ** 2), np.mean((my - mb) ** 2)
    assert d_own < d_other, (d_own, d_other)


def test_decode_and_convert_cli(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    wav = demo_corpus / "f2" / "f2_001.wav"
    (tmp_path / "in").mkdir()
    short = tmp_path / "in" / "short.wav"
    audio, sr = sf.read(str(wav))
    sf.write(str(short), audio[:3000], sr)
    code, _, err = run_cli(["encode", str(short), "-o", str(tmp_path / "tok"), "-c", str(tiny_model)], monkeypatch,
                           capsys)
    assert code == 0, err
    args = ["decode", str(tmp_path / "tok"), "-o", str(tmp_path / "out"), "-c", str(tiny_model), "--seed", "3"]
    assert run_cli(args, monkeypatch, capsys)[0] == 0
    first = (tmp_path / "out" / "in_short.wav").read_bytes()  # id: <speaker (folder)>_<stem>
    assert run_cli(args, monkeypatch, capsys)[0] == 0
    assert (tmp_path / "out" / "in_short.wav").read_bytes() == first  # same seed, same samples
    y, ysr = sf.read(str(tmp_path / "out" / "in_short.wav"))
    assert ysr == 16000 and len(y) == -(-3000 // 16) * 16
    out = tmp_path / "conv.wav"
    code, _, err = run_cli(["convert", str(short), "--speaker", "f3", "-o", str(out), "-c", str(tiny_model)],
                           monkeypatch, capsys)
    assert code == 0, err
    assert sf.info(str(out)).frames == 3000
    code, out_text, err = run_cli(["speakers", "-c", str(tiny_model)], monkeypatch, capsys)
    assert code == 0 and out_text == "f1\nf2\nf3\n", (out_text, err)


def _pt(tmp_path: Path) -> Path:
    p = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(1)}, p)
    return p


@pytest.mark.parametrize("case", [
    "missing", "dir_no_audio", "corrupt", "empty", "too_short", "nan", "unknown_speaker", "prior_ckpt",
    "truncated_ckpt", "pickle_ckpt", "codes_out_of_range", "missing_out_dir",
])
def test_bad_input_gives_one_error_line_and_exit_2(case: str, tiny_model: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    good = write_tone(tmp_path / "good.wav", 0.2)
    ck = str(tiny_model)
    out = str(tmp_path / "o.wav")
    if case == "missing":
        args = ["convert", str(tmp_path / "nope.wav"), "--speaker", "f1", "-o", out, "-c", ck]
    elif case == "dir_no_audio":
        (tmp_path / "empty").mkdir()
        args = ["encode", str(tmp_path / "empty"), "-o", str(tmp_path / "tok"), "-c", ck]
    elif case == "corrupt":
        (tmp_path / "c.wav").write_bytes(good.read_bytes()[:44] + b"\xff" * 3)
        (tmp_path / "c.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
        args = ["convert", str(tmp_path / "c.wav"), "--speaker", "f1", "-o", out, "-c", ck]
    elif case == "empty":
        (tmp_path / "e.wav").write_bytes(b"")
        args = ["encode", str(tmp_path / "e.wav"), "-o", str(tmp_path / "tok"), "-c", ck]
    elif case == "too_short":
        sf.write(str(tmp_path / "s.wav"), np.zeros(8, np.float32), 16000)
        args = ["convert", str(tmp_path / "s.wav"), "--speaker", "f1", "-o", out, "-c", ck]
    elif case == "nan":
        sf.write(str(tmp_path / "n.wav"), np.full(800, np.nan, np.float32), 16000, subtype="FLOAT")
        args = ["convert", str(tmp_path / "n.wav"), "--speaker", "f1", "-o", out, "-c", ck]
    elif case == "unknown_speaker":
        args = ["convert", str(good), "--speaker", "p999", "-o", out, "-c", ck]
    elif case == "prior_ckpt":
        from vqspeech.io.checkpoint import save_checkpoint

        save_checkpoint(tmp_path / "prior.safetensors", torch.nn.Linear(1, 1), {"kind": "speech-prior"})
        args = ["convert", str(good), "--speaker", "f1", "-o", out, "-c", str(tmp_path / "prior.safetensors")]
    elif case == "truncated_ckpt":
        (tmp_path / "t.safetensors").write_bytes(tiny_model.read_bytes()[:1000])
        args = ["convert", str(good), "--speaker", "f1", "-o", out, "-c", str(tmp_path / "t.safetensors")]
    elif case == "pickle_ckpt":
        args = ["convert", str(good), "--speaker", "f1", "-o", out, "-c", str(_pt(tmp_path))]
    elif case == "codes_out_of_range":
        (tmp_path / "u.txt").write_text("x\t1 2 999\n")
        args = ["decode", str(tmp_path / "u.txt"), "-o", out, "-c", ck]
    else:
        args = ["convert", str(good), "--speaker", "f1", "-o", str(tmp_path / "no" / "dir" / "o.wav"), "-c", ck]
    code, _, err = run_cli(args, monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not (tmp_path / "o.wav").exists()
    if case == "unknown_speaker":
        assert "f1, f2, f3" in lines[0]


def test_stereo_8k_input_converts(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    src = write_tone(tmp_path / "st.wav", 0.1, sr=8000, channels=2)
    code, _, err = run_cli(["convert", str(src), "--speaker", "f2", "-o", str(tmp_path / "y.wav"), "-c",
                            str(tiny_model)], monkeypatch, capsys)
    assert code == 0, err
    info = sf.info(str(tmp_path / "y.wav"))
    assert info.samplerate == 16000 and info.channels == 1 and abs(info.frames - 1600) <= 2
