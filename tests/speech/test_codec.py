"""The speech codec (.vqs): container, lossless code round trips, size vs the prior's NLL, determinism, errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import run_cli, write_tone
from helpers import save_toy_prior as _save_prior

from vqspeech.errors import InputError
from vqspeech.io import container
from vqspeech.io.checkpoint import read_meta, sha256_file
from vqspeech.speech import codec
from vqspeech.speech.config import PriorModel
from vqspeech.speech.data.audio import load_audio
from vqspeech.speech.inference import encode_audio, load_vqvae
from vqspeech.speech.models import CodePrior

MAGIC, V = codec.MAGIC, codec.FORMAT_VERSION


@pytest.fixture(scope="module")
def prior(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_prior(tmp_path_factory.mktemp("prior") / "prior.safetensors", tiny_model)


@pytest.fixture(scope="module")
def wav(demo_corpus: Path) -> Path:
    return sorted(demo_corpus.rglob("*.wav"))[0]


def _one_error_line(code: int, err: str, *names: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for n in names:
        assert n in err, err


# -- container and quantisation (no model) -------------------------------------------------------------------------


def test_container_round_trip_and_refusals(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    container.write(p, {"x": 1, "s": "é"}, b"\x00\x01payload", magic=b"\x89TST", version=3)
    assert container.read(p, magic=b"\x89TST", version=3) == ({"x": 1, "s": "é"}, b"\x00\x01payload", 3)
    container.write(p.with_suffix(".z"), {"x": 1}, b"", magic=b"\x89TST", version=3, zdict=b'{"x":')
    assert container.read(p.with_suffix(".z"), magic=b"\x89TST", version=3, zdict=b'{"x":')[0] == {"x": 1}
    assert container.read(p, magic=b"\x89TST", version=5)[2] == 3  # older files still read
    data = p.read_bytes()
    cases = {
        "truncated": data[:-1], "truncated ": data[:9], "empty": b"", "wrong magic": b"RIFF" + data[4:],
        "newer vqspeech": container.pack({}, b"", magic=b"\x89TST", version=4), "unexpected bytes": data + b"\0",
    }
    for why, bad in cases.items():
        q = tmp_path / "bad.bin"
        q.write_bytes(bad)
        with pytest.raises(InputError, match=why.strip()) as exc:
            container.read(q, magic=b"\x89TST", version=3)
        assert str(q) in str(exc.value)


def test_quantised_frequencies_are_exact_and_positive() -> None:
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((50, 512)) * 20).astype(np.float32)
    logits[0] = -1e30  # degenerate rows still give a valid table
    logits[1, 3] = 1e30
    f = codec.quantize_logits(logits)
    assert f.dtype == np.int64 and (f >= 1).all() and (f.sum(1) == 1 << codec.PRECISION).all()
    rows = np.stack([codec.quantize_logits(r) for r in logits])  # row by row == all at once
    assert np.array_equal(rows, f)
    counts = np.bincount(rng.integers(0, 7, 100), minlength=512)
    c = codec.quantize_counts(counts)
    assert (c >= 1).all() and c.sum() == 1 << codec.PRECISION and c[np.argmax(counts)] == c.max()


# -- lossless round trips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_prior", [False, True])
def test_random_codes_round_trip(tiny_model: Path, prior: Path, tmp_path: Path, use_prior: bool) -> None:
    k = read_meta(tiny_model)["num_codes"]
    rng = np.random.default_rng(1)
    for n in (0, 1, 777):
        codes = rng.integers(0, k, n)
        out = tmp_path / f"r{n}.vqs"
        info = codec.encode_codes(codes, out, vqvae=tiny_model, prior=prior if use_prior else None)
        got, header = codec.read_codes(out)
        assert np.array_equal(got, codes) and header["codes"] == n
        assert header["entropy_model"] == ("prior" if use_prior else "unigram")
        assert info["bytes"] == out.stat().st_size


def test_real_codes_round_trip_through_the_cli(tiny_model: Path, prior: Path, wav: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    model, meta = load_vqvae(tiny_model)
    ref = encode_audio(model, [load_audio(wav, meta.sample_rate)])[0]
    sizes = {}
    for name, extra in (("uni", []), ("prior", ["--prior", str(prior)])):
        out = tmp_path / f"{name}.vqs"
        code, _, err = run_cli(["encode", str(wav), "-o", str(out), "-c", str(tiny_model), *extra], monkeypatch,
                               capsys)
        assert code == 0, err
        codes, header = codec.read_codes(out)
        assert np.array_equal(codes, ref)
        assert header["speaker"] == wav.parent.name and header["num_samples"] == len(load_audio(wav, 16000))
        sizes[name] = out.stat().st_size
        code, text, err = run_cli(["info", str(out)], monkeypatch, capsys)
        assert code == 0, err
        assert "bits/s" in text and f"codes: {len(ref)}" in text and sha256_file(tiny_model) in text
    # the unigram stream beats 16-bit storage by far, and log2 K bits per code too
    assert sizes["uni"] * 8 < len(ref) * np.log2(meta.num_codes)


def test_decode_vqs_to_wav(tiny_model: Path, prior: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture) -> None:
    src = write_tone(tmp_path / "spk" / "t.wav", seconds=0.05)
    vqs, out = tmp_path / "t.vqs", tmp_path / "t.wav"
    assert run_cli(["encode", str(src), "-o", str(vqs), "-c", str(tiny_model), "--prior", str(prior)], monkeypatch,
                   capsys)[0] == 0
    code, _, err = run_cli(["decode", str(vqs), "-o", str(out)], monkeypatch, capsys)  # models from the header
    assert code == 0, err
    assert len(load_audio(out, 16000)) == 800


# -- size vs NLL, determinism ---------------------------------------------------------------------------------------


def test_file_size_tracks_the_toy_priors_nll(tiny_model: Path, tmp_path: Path) -> None:
    k = read_meta(tiny_model)["num_codes"]
    rng = np.random.default_rng(2)
    logp = np.log(rng.dirichlet(np.full(k, 0.3)))
    toy = _save_prior(tmp_path / "toy.safetensors", tiny_model, log_probs=logp)
    p = np.exp(logp.astype(np.float32).astype(np.float64))
    p /= p.sum()
    codes = rng.choice(k, 4000, p=p)
    nll_bits = float(-np.log2(p[codes]).sum())
    out = tmp_path / "toy.vqs"
    info = codec.encode_codes(codes, out, vqvae=tiny_model, prior=toy)
    header_bytes = info["bytes"] - info["payload_bytes"]
    assert info["payload_bytes"] * 8 <= nll_bits * 1.01 + 64
    assert abs(info["payload_bytes"] * 8 / nll_bits - 1) < 0.01
    assert out.stat().st_size * 8 <= nll_bits * 1.01 + header_bytes * 8
    assert np.array_equal(codec.read_codes(out)[0], codes)
    # the unigram coder of the same codes pays about the empirical entropy (plus its table in the header)
    uni = codec.encode_codes(codes, tmp_path / "u.vqs", vqvae=tiny_model)
    assert abs(uni["payload_bytes"] * 8 / uni["model_bits"] - 1) < 0.01


def test_encode_and_decode_with_other_thread_counts_and_batch_sizes(tiny_model: Path, prior: Path, wav: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "d.vqs"
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        codec.encode_file(wav, out, checkpoint=tiny_model, prior=prior, batch_size=1)
        assert torch.get_num_threads() == 2  # the codec's own single-thread pass leaves the caller's setting
        torch.set_num_threads(1)
        codes, _ = codec.read_codes(out)
    finally:
        torch.set_num_threads(old)
    model, meta = load_vqvae(tiny_model)
    assert np.array_equal(codes, encode_audio(model, [load_audio(wav, meta.sample_rate)], batch_size=16)[0])
    # the coding probabilities are those of the step-by-step pass, whatever the sequence length
    pm = CodePrior(PriorModel(16, 32, 16, 4, 4, 4), meta.num_codes, len(meta.speakers))
    from vqspeech.io.checkpoint import load_state

    pm.load_state_dict(load_state(prior)[0])
    full = codec.prior_frequencies(pm.eval(), codes, 1)
    assert np.array_equal(codec.prior_frequencies(pm, codes[:40], 1), full[:40])


# -- bad inputs: one error line, exit 2 ------------------------------------------------------------------------------


@pytest.fixture()
def good_vqs(tiny_model: Path, prior: Path, tmp_path: Path) -> Path:
    out = tmp_path / "good.vqs"
    codec.encode_codes(np.arange(40) % 7, out, vqvae=tiny_model, prior=prior)
    return out


def _repack(src: Path, dst: Path, **changes: object) -> Path:
    header, payload, _ = container.read(src, magic=MAGIC, version=V, zdict=codec.ZDICT)
    header = {**header, **changes}
    container.write(dst, header, payload, magic=MAGIC, version=V, zdict=codec.ZDICT)
    return dst


def test_bad_codec_files(good_vqs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture) -> None:
    data = good_vqs.read_bytes()
    header = codec.read_header(good_vqs)[0]
    bad = {
        "truncated": data[: len(data) - 3],
        "wrong magic": b"RIFF" + data[4:],
        "newer vqspeech": MAGIC + struct.pack("<H", V + 1) + data[6:],
    }
    for why, blob in bad.items():
        p = tmp_path / f"{why.replace(' ', '_')}.vqs"
        p.write_bytes(blob)
        for cmd in (["decode", str(p), "-o", str(tmp_path / "x.wav")], ["info", str(p)]):
            code, _, err = run_cli(cmd, monkeypatch, capsys)
            _one_error_line(code, err, str(p), why)
    # a flipped payload bit decodes to other codes, which the checksum catches
    p = tmp_path / "flipped.vqs"
    p.write_bytes(data[:-2] + bytes([data[-2] ^ 0x10]) + data[-1:])
    code, _, err = run_cli(["decode", str(p), "-o", str(tmp_path / "x.wav")], monkeypatch, capsys)
    _one_error_line(code, err, str(p), "checksum")
    # a prior or VQ-VAE whose sha256 differs from the header's
    for role in ("prior", "vqvae"):
        p = _repack(good_vqs, tmp_path / f"{role}.vqs", **{role: {**header[role], "sha256": "0" * 64}})
        code, _, err = run_cli(["decode", str(p), "-o", str(tmp_path / "x.wav")], monkeypatch, capsys)
        _one_error_line(code, err, header[role]["path"], "sha256")
    # ... or that is missing
    p = _repack(good_vqs, tmp_path / "moved.vqs", prior={**header["prior"], "path": str(tmp_path / "gone.st")})
    code, _, err = run_cli(["decode", str(p), "-o", str(tmp_path / "x.wav")], monkeypatch, capsys)
    _one_error_line(code, err, "gone.st", "missing", "--prior")
    # ... or that is given instead of the recorded one
    code, _, err = run_cli(["decode", str(good_vqs), "-o", str(tmp_path / "x.wav"), "-c", header["prior"]["path"]],
                           monkeypatch, capsys)
    _one_error_line(code, err, "sha256", "VQ-VAE")


def test_vqs_and_token_dataset_confusions(good_vqs: Path, tiny_model: Path, wav: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    tokens = tmp_path / "tokens"
    assert run_cli(["encode", str(wav), "-o", str(tokens), "-c", str(tiny_model)], monkeypatch, capsys)[0] == 0
    # a token dataset given to the codec
    code, _, err = run_cli(["encode", str(tokens), "-o", str(tmp_path / "x.vqs"), "-c", str(tiny_model)],
                           monkeypatch, capsys)
    _one_error_line(code, err, str(tokens), "token dataset")
    # a .vqs file where a token dataset is expected
    code, _, err = run_cli(["train", "recipes/demo_prior.yaml", "--out", str(tmp_path / "run"), "--set",
                            f"data.tokens={good_vqs}"], monkeypatch, capsys)
    _one_error_line(code, err, str(good_vqs), "codec file, not a token dataset")
    from vqspeech.io.tokens import read_tokens

    with pytest.raises(InputError, match="codec file, not a token dataset"):
        read_tokens(good_vqs)
    # a .vqs file given to the token encoder as audio, and several inputs for one .vqs
    code, _, err = run_cli(["encode", str(good_vqs), "-o", str(tmp_path / "t2"), "-c", str(tiny_model)], monkeypatch,
                           capsys)
    _one_error_line(code, err, str(good_vqs), "codec file, not audio")
    code, _, err = run_cli(["encode", str(wav), str(wav), "-o", str(tmp_path / "y.vqs"), "-c", str(tiny_model)],
                           monkeypatch, capsys)
    _one_error_line(code, err, "one utterance")
