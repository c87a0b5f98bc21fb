"""The CLI knows no family: a shared verb asks the registry which family serves it and passes the options that
family declares; an option it does not take is an error that names it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import run_cli, write_tone

from vqspeech import registry
from vqspeech.io.checkpoint import save_checkpoint
from vqspeech.io.tokens import write_token_meta

CLI = Path(__file__).resolve().parents[2] / "vqspeech" / "cli.py"


def _checkpoint(path: Path, kind: str) -> Path:
    save_checkpoint(path, torch.nn.Linear(1, 1), {"kind": kind})  # the CLI reads only its kind
    return path


def test_cli_names_no_family() -> None:
    text = CLI.read_text().replace("vqspeech", "")
    assert not re.findall(r"speech|image|video|endswith", text)


def test_family_for_checkpoint_dataset_input_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    np.savez(tmp_path / "tok.npz", codes=np.zeros(5, np.uint16))
    np.savez(tmp_path / "map.npz", codes=np.zeros((4, 4), np.uint16))
    np.savez(tmp_path / "clip.npz", codes=np.zeros((3, 4, 4), np.uint16))
    np.savez(tmp_path / "ep.npz", video=np.zeros((2, 4, 4, 3), np.uint8), actions=np.zeros(2, np.int64))
    (tmp_path / "cifar" / "cifar-10-batches-py").mkdir(parents=True)
    (tmp_path / "maze" / "train" / "000").mkdir(parents=True)
    np.savez(tmp_path / "maze" / "train" / "000" / "ep0.npz", video=np.zeros((2, 4, 4, 3), np.uint8))
    write_tone(tmp_path / "voices" / "f1" / "a.wav", seconds=0.05)
    (tmp_path / "tokens").mkdir()
    write_token_meta(tmp_path / "tokens", {"kind": "video-vqvae", "format": "parquet", "num_codes": 8})
    speech = _checkpoint(tmp_path / "s.safetensors", "speech-vqvae")

    def fam(verb: str = "encode", ckpt: Path | None = None, data: tuple = (), options: tuple = ()) -> str:
        return registry.family_for(verb, ckpt, [tmp_path / d if d else None for d in data], options).name

    assert fam(data=("tok.npz",)) == "speech" and fam(data=("voices",)) == "speech"
    assert fam(data=("voices/f1/a.wav",)) == "speech"
    assert fam(data=("map.npz",)) == "image" and fam(data=("cifar",)) == "image"
    assert fam(data=("clip.npz",)) == "video" and fam(data=("ep.npz",)) == "video" and fam(data=("maze",)) == "video"
    assert fam(data=("tokens",)) == "video"  # the dataset's recorded kind
    assert fam(ckpt=speech, data=("ep.npz",)) == "speech"  # the checkpoint's kind decides
    monkeypatch.setenv("VQSPEECH_CHECKPOINT", str(_checkpoint(tmp_path / "i.safetensors", "image-vqvae")))
    assert fam(data=("ep.npz",)) == "image"
    monkeypatch.delenv("VQSPEECH_CHECKPOINT")
    # no checkpoint and no data: the family whose verb takes the options given, else the main family
    assert fam("sample", options=("label",)) == "image" and fam("sample", options=("actions_from",)) == "video"
    assert fam("sample", options=("temperature",)) == registry.FAMILIES[0]
    assert fam("decode", data=("missing.npz", None)) == registry.FAMILIES[0]


@pytest.mark.parametrize(("kind", "args", "message"), [
    ("image-vqvae", ["--trim"], "--trim is not an option of image encode"),
    ("video-vqvae", ["--prior", "p.safetensors"], "--prior is not an option of video encode"),
    ("speech-vqvae", ["--split", "train"], "--split is not an option of speech encode"),
])
def test_an_option_the_family_does_not_take_is_an_error(kind: str, args: list[str], message: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    ckpt = _checkpoint(tmp_path / "m.safetensors", kind)
    (tmp_path / "in").mkdir()
    code, _, err = run_cli(["encode", str(tmp_path / "in"), "-o", str(tmp_path / "tok"), "-c", str(ckpt), *args],
                           monkeypatch, capsys)
    assert code == 2 and err.strip() == f"error: {message}", err
    assert not (tmp_path / "tok").exists()


def test_given_family_options_reach_the_family_and_defaults_stay_its_own(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """``--split`` reaches image encode (it was dropped before); an option not given is not passed, so the
    family's own default holds; ``--max-items`` becomes the family's keyword."""
    from vqspeech.image import commands

    ckpt = _checkpoint(tmp_path / "m.safetensors", "image-vqvae")
    calls: dict[str, tuple[tuple, dict]] = {}
    for name in ("encode", "evaluate"):
        monkeypatch.setattr(commands, name, lambda *a, _name=name, **k: calls.__setitem__(_name, (a, k)))
    code, _, err = run_cli(["encode", str(tmp_path), "-o", "tok", "-c", str(ckpt), "--split", "test",
                            "--batch-size", "5", "--device", "cpu"], monkeypatch, capsys)
    assert code == 0, err
    a, k = calls["encode"]
    assert a == ([tmp_path], Path("tok"))
    assert k == {"checkpoint": ckpt, "fmt": "parquet", "num_shards": None, "shard_index": None, "device": "cpu",
                 "split": "test", "batch_size": 5}
    code, _, err = run_cli(["evaluate", str(tmp_path), "-c", str(ckpt), "--max-items", "7", "--vae", "v"],
                           monkeypatch, capsys)
    assert code == 0, err
    a, k = calls["evaluate"]
    assert a == (tmp_path,) and k["max_images"] == 7 and k["vae"] == Path("v") and "prior" not in k


def test_family_commands_take_what_they_declare() -> None:
    """Every family's command functions take the shared keywords and each option its ``family.py`` declares, and
    swallow nothing else (no ``**kwargs``): what the CLI passes is what the function reads."""
    import importlib
    import inspect

    shared = {"encode": {"checkpoint", "fmt", "num_shards", "shard_index", "device"},
              "decode": {"checkpoint", "device"}, "sample": {"checkpoint", "vqvae", "n", "seed", "device"},
              "evaluate": {"checkpoint", "json_path", "md_path", "seed", "device"}}
    for fam in registry.families().values():
        module = importlib.import_module(fam.commands_module)
        for verb in registry.VERBS:
            params = inspect.signature(getattr(module, verb)).parameters
            assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()), (fam.name, verb)
            wanted = shared[verb] | {o.keyword(n) for n, o in fam.verb_options(verb).items()}
            assert wanted <= set(params), (fam.name, verb, wanted - set(params))
