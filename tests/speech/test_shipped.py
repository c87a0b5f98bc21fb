"""Models shipped in the package (``vqspeech/shipped/<name>/``): listed by ``models``, named with ``-c NAME``, used
(and named on stderr) when nothing is under ./runs/, and referred to as ``shipped:<name>/<file>`` in ``.vqs``
headers and priors so those files work on any machine.  A tiny model stands in for the shipped one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import run_cli, save_toy_prior

import vqspeech.io.shipped as shipped
from vqspeech.io.runs import find_checkpoint
from vqspeech.speech import codec


@pytest.fixture()
def shipped_dir(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shipped"
    (root / "tinyvoices").mkdir(parents=True)
    vq = root / "tinyvoices" / "vqvae.safetensors"
    shutil.copy(tiny_model, vq)
    monkeypatch.setattr(shipped, "SHIPPED_DIR", root)
    save_toy_prior(root / "tinyvoices" / "prior.safetensors", vq)
    (root / "tinyvoices" / "MODEL_CARD.md").write_text("# tinyvoices\n")
    (root / "empty").mkdir()  # a folder without checkpoints is not a model
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    return root


def test_models_lists_the_shipped_ones(shipped_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["models"], monkeypatch, capsys)
    assert code == 0, err
    line = out.strip()
    assert line.startswith("tinyvoices: speech (speech-prior, speech-vqvae)") and "MODEL_CARD.md" in line
    assert "voices f1, f2, f3" in line and "16000 Hz" in line


def test_resolution_by_name_and_as_the_last_resort(shipped_dir: Path, capsys: pytest.CaptureFixture) -> None:
    vq, prior = shipped_dir / "tinyvoices" / "vqvae.safetensors", shipped_dir / "tinyvoices" / "prior.safetensors"
    assert find_checkpoint("tinyvoices", ("speech-vqvae",)) == vq
    assert find_checkpoint("tinyvoices", ("speech-prior",)) == prior
    assert find_checkpoint("shipped:tinyvoices/prior.safetensors", ("speech-vqvae",)) == prior
    assert find_checkpoint("other.safetensors", ("speech-vqvae",)) == Path("other.safetensors")  # a path as given
    capsys.readouterr()
    assert find_checkpoint(None, ("speech-vqvae",)) == vq  # nothing under ./runs/: the shipped one, said
    assert "using the model shipped with vqspeech: tinyvoices" in capsys.readouterr().err
    with pytest.raises(Exception, match="has no image-vqvae checkpoint"):
        find_checkpoint("tinyvoices", ("image-vqvae",))
    assert shipped.model_ref(vq) == "shipped:tinyvoices/vqvae.safetensors"
    assert shipped.resolve_ref("shipped:tinyvoices/vqvae.safetensors") == vq


def test_convert_and_codec_with_no_training(shipped_dir: Path, demo_corpus: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    wav = str(sorted(demo_corpus.rglob("*.wav"))[0])
    code, _, err = run_cli(["convert", wav, "--speaker", "f2", "-o", "out.wav", "--device", "cpu"], monkeypatch,
                           capsys)
    assert code == 0 and "using the model shipped with vqspeech: tinyvoices" in err, err
    assert Path("out.wav").stat().st_size > 1000
    code, _, err = run_cli(["encode", wav, "-o", "x.vqs", "-c", "tinyvoices", "--prior", "tinyvoices"], monkeypatch,
                           capsys)
    assert code == 0, err
    header, _ = codec.read_header("x.vqs")
    assert header["vqvae"]["path"] == "shipped:tinyvoices/vqvae.safetensors"  # no machine path in the file
    assert header["prior"]["path"] == "shipped:tinyvoices/prior.safetensors"
    code, _, err = run_cli(["decode", "x.vqs", "-o", "y.wav"], monkeypatch, capsys)
    assert code == 0 and Path("y.wav").stat().st_size > 1000, err
    code, _, err = run_cli(["sample", "-c", "tinyvoices", "-o", "s.wav", "--seconds", "0.05", "--device", "cpu"],
                           monkeypatch, capsys)
    assert code == 0, err


def test_the_real_shipped_voices_model_converts_and_compresses(demo_corpus: Path, tmp_path: Path) -> None:
    """The model that ships (vqspeech/shipped/voices): a user with nothing trained converts a recording to each of
    its voices and round-trips it through the codec, from an empty folder, in a fresh process."""
    import os
    import subprocess
    import sys

    import soundfile as sf

    real = Path(shipped.__file__).resolve().parents[1] / "shipped" / "voices"
    assert (real / "vqvae.safetensors").is_file() and (real / "prior.safetensors").is_file()
    assert "Allison Smith" in (real / "MODEL_CARD.md").read_text()  # the licence's attribution travels with it
    wav = sorted(demo_corpus.rglob("*.wav"))[0]
    env = {k: v for k, v in os.environ.items() if k != "VQSPEECH_CHECKPOINT"}

    def vqs(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vqspeech.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True)

    voices = vqs("speakers").stdout.split()
    assert voices == ["allison", "carlo", "ivrvoiceru", "june"], voices
    r = vqs("convert", str(wav), "--speaker", "june", "-o", "out.wav", "--device", "cpu")
    assert r.returncode == 0 and "using the model shipped with vqspeech: voices" in r.stderr, r.stderr
    out, sr = sf.read(tmp_path / "out.wav")
    assert sr == 8000 and abs(len(out) / sr - sf.info(wav).duration) < 0.05 and out.std() > 1e-3
    r = vqs("encode", str(wav), "-o", "x.vqs", "--prior", "voices")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x.vqs").stat().st_size * 8 / sf.info(wav).duration < 2000  # a codec, not a copy
    r = vqs("decode", "x.vqs", "-o", "y.wav")
    assert r.returncode == 0 and sf.info(tmp_path / "y.wav").samplerate == 8000, r.stderr
