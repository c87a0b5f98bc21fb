"""Speech commands and helpers the 0.1 suite left untested or tested weakly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import run_cli, write_tone

import vqspeech
from vqspeech.errors import ConfigError
from vqspeech.io.tokens import read_tokens
from vqspeech.speech.data.alignments import Interval, write_textgrid
from vqspeech.speech.data.audio import load_audio, trim_silence
from vqspeech.speech.inference import encode_audio, synthesize


def test_alignments_are_matched_by_utterance_id_not_stem(tmp_path: Path) -> None:
    """Two speakers each with utt1.TextGrid: each utterance is scored against its own speaker's grid."""
    from vqspeech.speech.eval.phonetic import gather

    ali = tmp_path / "ali"
    for spk, label in (("alice", "AA"), ("bob", "IY")):
        (ali / spk).mkdir(parents=True)
        write_textgrid(ali / spk / "utt1.TextGrid", 1.0, {"phones": [Interval(0, 1.0, label)]})
    rows = [{"id": f"{spk}_utt1", "path": f"x/{spk}/utt1.wav", "num_samples": 1000, "trim_offset": 0,
             "codes": [0] * 10} for spk in ("bob", "alice")]
    utts, problems = gather(rows, ali, 1000, 100)
    assert not problems
    assert [u[1][0] for u in utts] == ["IY", "AA"]


def test_encode_ids_equal_the_training_split_ids(tiny_model: Path, tmp_path: Path) -> None:
    """One id rule: a generic folder gives the same ids to encode and to the corpus reader (split.json)."""
    from vqspeech.speech.commands import encode
    from vqspeech.speech.data.corpora import discover

    for spk, stem in (("alice", "a1"), ("bob", "a1"), ("bob", "bob_2")):
        write_tone(tmp_path / "c" / spk / f"{stem}.wav", 0.1)
    encode([tmp_path / "c"], tmp_path / "tok", checkpoint=tiny_model)
    ids = sorted(r["id"] for r in read_tokens(tmp_path / "tok"))
    assert ids == sorted(u.id for u in discover(tmp_path / "c")) == ["alice_a1", "bob_2", "bob_a1"]


def test_batched_decode_equals_decoding_alone(tiny_model: Path) -> None:
    """A short utterance in a batch with a longer one: its audio equals decoding it alone (padding is zeros in
    latent space, as when decoding alone, not code 0)."""
    model = vqspeech.load(tiny_model)
    rng = np.random.default_rng(0)
    short, long = rng.integers(0, 32, 9), rng.integers(0, 32, 20)
    short[-1] = 5
    alone = synthesize(model, [short], [1], temperature=0.0)[0]
    both = synthesize(model, [long, short], [0, 1], temperature=0.0, batch_size=2)
    np.testing.assert_allclose(both[1], alone, atol=1e-5)


@pytest.mark.parametrize("recipe", ["demo_prior", "vctk_prior", "librispeech_prior"])
def test_every_prior_weight_is_trained_by_its_recipe(recipe: str) -> None:
    """With crops of the recipe's length, every weight of the prior receives a gradient (no dilation >= crop)."""
    from vqspeech.speech.models import CodePrior
    from vqspeech.speech.tasks import check_prior_crop
    from vqspeech.verbs import load_recipe

    cfg = load_recipe(f"recipes/{recipe}.yaml")
    check_prior_crop(cfg)
    m = cfg.model
    small = type(m)(speaker_dim=min(m.speaker_dim, 4), residual_channels=4, gate_channels=4, skip_channels=4,
                    layers=m.layers, cycle=m.cycle)  # the recipe's dilations, small widths
    prior = CodePrior(small, 16, 2)
    codes = torch.randint(0, 16, (2, cfg.data.crop_codes), generator=torch.Generator().manual_seed(0))
    prior.nll(codes, torch.tensor([0, 1])).backward()
    dead = [n for n, p in prior.named_parameters() if p.grad is None or (p.grad == 0).all()]
    # the first tap of every dilated convolution (the one that sees x[t - d]) is trained too
    dead += [f"convs.{i} tap 0" for i, c in enumerate(prior.net.convs) if (c.weight.grad[:, :, 0] == 0).all()]
    assert not dead, dead
    with pytest.raises(ConfigError, match="must exceed the largest dilation"):
        bad = load_recipe(f"recipes/{recipe}.yaml", [f"data.crop_codes={2 ** (m.cycle - 1)}"])
        check_prior_crop(bad)


def test_encode_trim_records_offset_and_codes_of_the_trimmed_audio(tiny_model: Path, tmp_path: Path) -> None:
    from vqspeech.speech.commands import encode

    t = np.arange(8000) / 16000
    audio = np.concatenate([np.zeros(3000), 0.5 * np.sin(2 * np.pi * 300 * t), np.zeros(2000)]).astype(np.float32)
    (tmp_path / "in").mkdir()
    sf.write(str(tmp_path / "in" / "u.wav"), audio, 16000)
    encode([tmp_path / "in" / "u.wav"], tmp_path / "tok", checkpoint=tiny_model, trim=True)
    row = read_tokens(tmp_path / "tok")[0]
    trimmed, offset = trim_silence(load_audio(tmp_path / "in" / "u.wav", 16000))
    assert 2000 < row["trim_offset"] == offset <= 3000 and row["num_samples"] == len(trimmed) < len(audio)
    assert row["codes"] == encode_audio(vqspeech.load(tiny_model), [trimmed])[0].tolist()


def test_info_describes_checkpoints_and_token_datasets(tiny_model: Path, demo_corpus: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["info", str(tiny_model)], monkeypatch, capsys)
    assert code == 0, err
    lines = dict(x.split(": ", 1) for x in out.splitlines())
    assert lines["kind"] == "speech-vqvae" and lines["speakers"] == "f1, f2, f3" and lines["hop_length"] == "16"
    assert lines["format_version"] == "2" and len(lines["sha256"]) == 64
    assert json.loads(lines["config"])["quantizer"]["num_codes"] == 32
    from vqspeech.speech.commands import encode

    encode([demo_corpus / "f1"], tmp_path / "tok", checkpoint=tiny_model)
    code, out, _ = run_cli(["info", str(tmp_path / "tok")], monkeypatch, capsys)
    lines = dict(x.split(": ", 1) for x in out.splitlines())
    assert code == 0 and lines["items"] == "4" and lines["kind"] == "speech-vqvae"
    n = sum(len(r["codes"]) for r in read_tokens(tmp_path / "tok"))
    assert lines["codes"] == str(n) and lines["seconds"] == f"{n / 1000:.1f}"
    code, _, err = run_cli(["info", str(tmp_path)], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: ") and "neither a checkpoint nor a token dataset" in err
    np.savez(tmp_path / "one.npz", codes=np.arange(6).reshape(2, 3))
    code, out, _ = run_cli(["info", str(tmp_path / "one.npz")], monkeypatch, capsys)
    assert code == 0 and "codes: 6" in out and "(2, 3)" in out  # a token file, not "a pickle"


def test_sampler_temperature(tiny_model: Path) -> None:
    """Temperature 0 is argmax (seed-independent); 1 follows the model; higher flattens the distribution."""
    model = vqspeech.load(tiny_model)
    codes = [np.random.default_rng(1).integers(0, 32, 30)]

    def run(temp: float, seed: int) -> np.ndarray:
        return synthesize(model, codes, [0], temperature=temp, seed=seed)[0]

    np.testing.assert_array_equal(run(0.0, 1), run(0.0, 2))
    np.testing.assert_array_equal(run(1.0, 3), run(1.0, 3))
    assert not np.array_equal(run(1.0, 3), run(1.0, 4))

    def spread(temp: float) -> float:
        from vqspeech.nn.mulaw import mulaw_encode

        q = np.concatenate([mulaw_encode(torch.from_numpy(run(temp, s))).numpy() for s in range(3)])
        p = np.bincount(q, minlength=256) / q.size
        return float(-(p[p > 0] * np.log2(p[p > 0])).sum())

    assert spread(0.0) < spread(1.0) < spread(3.0)


def test_encode_never_updates_the_codebook_in_training_mode(tiny_model: Path) -> None:
    model = vqspeech.load(tiny_model).train()
    before = {k: v.clone() for k, v in model.quantizer.state_dict().items()}
    model.encode(torch.randn(2, 1600) * 0.3)
    for k, v in model.quantizer.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model.quantizer.training  # and the mode is given back


def test_prior_refuses_speakers_it_cannot_map(tiny_model: Path, demo_corpus: Path, tmp_path: Path) -> None:
    from helpers import PRIOR_SET

    from vqspeech.speech.commands import encode
    from vqspeech.verbs import train

    encode([demo_corpus / "f1"], tmp_path / "units", checkpoint=tiny_model, fmt="units")
    ov = [*PRIOR_SET, f"data.tokens={tmp_path / 'units'}"]
    with pytest.raises(ConfigError, match="carry no speaker"):
        train("recipes/demo_prior.yaml", out=tmp_path / "p", overrides=ov, max_steps=1, device="cpu")
    # an unconditional prior trains on the same units
    train("recipes/demo_prior.yaml", out=tmp_path / "p", overrides=[*ov, "model.speaker_dim=0"], max_steps=1,
          device="cpu")


def test_chunked_encode_is_exact_with_a_640x_stride_list() -> None:
    """The 25 Hz encoder (strides 2,2,2,2,2,4,5): chunked and batched codes equal whole-file codes."""
    from vqspeech.speech.config import VQVAEModel
    from vqspeech.speech.models import SpeechVQVAE
    from vqspeech.train.recipe import QuantizerConfig

    torch.manual_seed(0)
    model = SpeechVQVAE(VQVAEModel(encoder_channels=8, strides=[2, 2, 2, 2, 2, 4, 5], cond_channels=4, speaker_dim=2,
                                   residual_channels=4, gate_channels=4, skip_channels=4, layers=2, cycle=2),
                        QuantizerConfig(num_codes=16, dim=4, init="kmeans"), 1)
    assert model.hop == 640
    rng = np.random.default_rng(0)
    audios = [rng.standard_normal(n).astype(np.float32) * 0.3 for n in (640 * 30 + 17, 640 * 9)]
    model.train()
    model.quantizer(model.encoder(torch.from_numpy(audios[0][None, : 640 * 30])))  # fit the codebook to data
    model.eval()
    whole = [encode_audio(model, [a], chunk_frames=10**6, batch_size=1)[0] for a in audios]
    chunked = encode_audio(model, audios, chunk_frames=4, batch_size=3)
    for w, c, a in zip(whole, chunked, audios, strict=True):
        assert len(w) == -(-len(a) // 640) and len(set(w.tolist())) > 1
        np.testing.assert_array_equal(w, c)


def test_phoneme_eval_refuses_tokens_of_another_family(tmp_path: Path) -> None:
    from vqspeech.errors import InputError
    from vqspeech.io.tokens import write_token_meta
    from vqspeech.speech.commands import phoneme_eval

    (tmp_path / "tok").mkdir()
    (tmp_path / "ali").mkdir()
    write_token_meta(tmp_path / "tok", {"kind": "image-vqvae", "format": "parquet", "num_codes": 8})
    with pytest.raises(InputError, match="phoneme-eval needs speech tokens"):
        phoneme_eval(tmp_path / "tok", tmp_path / "ali")


V01_VQVAE = Path(__file__).parent / "data" / "v0_1" / "vqvae.safetensors"


@pytest.mark.parametrize("out", ["y.vqs", "y.flac", "y.png"])
def test_decode_refuses_an_output_file_it_cannot_write(out: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    """Tokens decode to wavs: -o NAME.wav or a directory; `-o y.vqs` is an error, not a directory called y.vqs."""
    (tmp_path / "units.txt").write_text("f1_u1\t1 2 3\n")
    code, _, err = run_cli(["decode", str(tmp_path / "units.txt"), "-o", str(tmp_path / out), "-c", str(V01_VQVAE)],
                           monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / out}: "), err
    assert "give -o NAME.wav" in lines[0] and ("vqspeech encode IN.wav -o OUT.vqs" in lines[0]) == (out == "y.vqs")
    assert not (tmp_path / out).exists()
    code, _, err = run_cli(["decode", str(tmp_path / "units.txt"), "-o", str(tmp_path / "one.wav"), "-c",
                            str(V01_VQVAE)], monkeypatch, capsys)
    assert code == 0 and sf.info(str(tmp_path / "one.wav")).frames == 3 * 16, err


@pytest.mark.parametrize("command", ["encode", "encode-vqs", "decode", "convert", "evaluate", "phoneme-eval"])
def test_missing_input_is_reported_before_the_checkpoint(command: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    """No checkpoint given or found, and the input does not exist: the error names the input; nothing written."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    (tmp_path / "ali").mkdir()
    missing = str(tmp_path / "nope.wav")
    args = {"encode": ["encode", missing, "-o", "tok"],
            "encode-vqs": ["encode", missing, "-o", "x.vqs"],
            "decode": ["decode", missing, "-o", "out"],
            "convert": ["convert", missing, "--speaker", "f1", "-o", "x.wav"],
            "evaluate": ["evaluate", missing, "--json", "r.json"],
            "phoneme-eval": ["phoneme-eval", missing, "--alignments", "ali", "--json", "r.json"]}[command]
    code, _, err = run_cli(args, monkeypatch, capsys)
    assert code == 2 and err.strip() == f"error: {missing}: no such file or directory", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ali"]
