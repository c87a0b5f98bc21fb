from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vqspeech.errors import InputError, VQSpeechError
from vqspeech.io.tokens import read_token_meta, read_tokens
from vqspeech.video import commands


def test_encode_decode_round_trip(maze16: Path, tiny_vqvae: Path, tmp_path: Path) -> None:
    res = commands.encode([maze16], tmp_path / "tok", checkpoint=tiny_vqvae, device="cpu")
    assert res == {"written": 6, "skipped": 0, "failed": 0}
    rows = read_tokens(tmp_path / "tok")
    row = next(r for r in rows if r["id"] == "train/000/ep00000")
    assert row["shape"] == [24, 4, 4] and len(row["codes"]) == 24 * 16 and len(row["actions"]) == 24
    ep = np.load(maze16 / "train" / "000" / "ep00000.npz")
    assert row["actions"] == ep["actions"].tolist()
    assert read_token_meta(tmp_path / "tok")["actions"][1] == "forward"
    # Resumable: a second run writes nothing new.
    assert commands.encode([maze16], tmp_path / "tok", checkpoint=tiny_vqvae, device="cpu")["skipped"] == 6
    one = commands.encode([maze16 / "test" / "000" / "ep00001.npz"], tmp_path / "one", checkpoint=tiny_vqvae,
                          fmt="npz", device="cpu")
    assert one["written"] == 1
    gifs = commands.decode(tmp_path / "one" / "ep00001.npz", tmp_path / "dec.gif", checkpoint=tiny_vqvae,
                           device="cpu")
    z = np.load(tmp_path / "dec.npz")
    assert gifs[0].exists() and z["video"].shape == (24, 16, 16, 3) and z["actions"].shape == (24,)
    many = commands.decode(tmp_path / "tok", tmp_path / "decoded", checkpoint=tiny_vqvae, device="cpu")
    assert len(many) == 6 and (tmp_path / "decoded" / "train_000_ep00000.npz").exists()


def test_encode_bad_episodes(maze16: Path, tiny_vqvae: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, video=np.zeros((5, 16, 16, 3), np.uint8), actions=np.zeros(4, np.int64))
    with pytest.raises(InputError, match=r"bad\.npz: 'video' has 5 frames but 'actions' has 4"):
        commands.encode([bad], tmp_path / "t1", checkpoint=tiny_vqvae, device="cpu")
    big = tmp_path / "big.npz"
    np.savez(big, video=np.zeros((3, 32, 32, 3), np.uint8), actions=np.zeros(3, np.int64))
    with pytest.raises(InputError, match=r"big\.npz: frames are 32x32 but 16x16"):
        commands.encode([big], tmp_path / "t2", checkpoint=tiny_vqvae, device="cpu")
    with pytest.raises(VQSpeechError, match="1 episode"):
        commands.encode([maze16 / "test", big], tmp_path / "t3", checkpoint=tiny_vqvae, device="cpu")
    assert (tmp_path / "t3" / "_errors.jsonl").exists()


def test_sample_and_evaluate(maze16: Path, tiny_vqvae: Path, tiny_prior: Path, tmp_path: Path) -> None:
    ep = maze16 / "test" / "000" / "ep00000.npz"
    gif = commands.sample(tmp_path / "s.gif", tiny_prior, context=ep, actions="forward*3,right", device="cpu")
    z = np.load(tmp_path / "s.npz")
    assert gif.exists() and (tmp_path / "s.png").exists()
    assert z["codes"].shape == (1, 4, 4, 4) and z["video"].shape == (1, 4, 16, 16, 3)
    assert z["actions"].tolist() == [1, 1, 1, 4]
    commands.sample(tmp_path / "f.gif", tiny_prior, context=ep, actions_from=True, steps=3, n=2, temperature=1.0,
                    device="cpu")
    assert np.load(tmp_path / "f.npz")["video"].shape == (2, 3, 16, 16, 3)
    with pytest.raises(InputError, match="unknown action 'jump'; known actions: noop, forward"):
        commands.sample(tmp_path / "x.gif", tiny_prior, context=ep, actions="jump", device="cpu")
    with pytest.raises(InputError, match="exactly one of"):
        commands.sample(tmp_path / "x.gif", tiny_prior, context=ep, device="cpu")
    rep = commands.evaluate(maze16, tiny_prior, json_path=tmp_path / "e.json", md_path=tmp_path / "e.md",
                            out_dir=tmp_path / "figs", context=3, steps=4, max_windows=3, device="cpu")
    assert set(rep["psnr"]) == {"ceiling", "rollout", "teacher_forced", "rollout_no_actions", "copy_last"}
    assert all(len(v) == 4 for v in rep["psnr"].values()) and rep["windows"] == 3
    assert 0 < rep["ssim"]["ceiling"][0] <= 1
    assert json.loads((tmp_path / "e.json").read_text())["steps"] == 4
    assert "copy last" in (tmp_path / "e.md").read_text() and (tmp_path / "figs" / "window0.png").exists()
    vq_only = commands.evaluate(maze16, tiny_vqvae, context=3, steps=2, device="cpu")
    assert set(vq_only["psnr"]) == {"ceiling", "copy_last"}


def test_cli_passes_the_video_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    """Every option of the video sample, evaluate and corpus maze functions can be given on the command line."""
    import torch
    from helpers import run_cli

    from vqspeech.io.checkpoint import save_checkpoint

    prior = tmp_path / "prior.safetensors"
    save_checkpoint(prior, torch.nn.Linear(1, 1), {"kind": "video-prior"})  # the CLI reads only its kind
    ep = tmp_path / "ep.npz"
    np.savez(ep, video=np.zeros((8, 16, 16, 3), np.uint8), actions=np.zeros(8, np.int64))
    calls: dict[str, tuple[tuple, dict]] = {}
    for name in ("sample", "evaluate", "corpus_maze"):
        monkeypatch.setattr(commands, name, lambda *a, _name=name, **k: calls.__setitem__(_name, (a, k)))
    code, _, err = run_cli(["sample", "-o", str(tmp_path / "s.gif"), "-c", str(prior), "--vqvae", "vq.safetensors",
                            "--context", str(ep), "--actions-from", "--context-frames", "3", "--steps", "4",
                            "--start", "5", "--fps", "2", "--temperature", "0.5", "-n", "2", "--seed", "7"],
                           monkeypatch, capsys)
    assert code == 0, err
    _, k = calls["sample"]
    assert (k["vqvae"], k["context"], k["actions_from"], k["context_frames"], k["steps"], k["start"], k["fps"],
            k["temperature"], k["n"], k["seed"]) == (Path("vq.safetensors"), ep, True, 3, 4, 5, 2.0,
                                                     0.5, 2, 7)
    # without -c, the --context episode picks the video family
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    code, _, err = run_cli(["sample", "-o", "t.gif", "--context", str(ep), "--actions", "forward"], monkeypatch,
                           capsys)
    assert code == 0 and calls["sample"][0] == (Path("t.gif"),) and calls["sample"][1]["checkpoint"] is None, err
    code, _, err = run_cli(["sample", "-o", "t.gif", "--context", "gone.npz", "--actions", "forward"], monkeypatch,
                           capsys)
    assert code == 2 and err.strip() == "error: gone.npz: no such file or directory"
    code, _, err = run_cli(["evaluate", str(tmp_path), "-c", str(prior), "--vqvae", "vq.safetensors",
                            "--temperature", "0.8", "--context", "3", "--steps", "2", "--max-items", "5"],
                           monkeypatch, capsys)
    assert code == 0, err
    _, k = calls["evaluate"]
    assert (k["vqvae"], k["temperature"], k["context"], k["steps"], k["max_windows"]) == (
        Path("vq.safetensors"), 0.8, 3, 2, 5)
    code, _, err = run_cli(["corpus", "maze", str(tmp_path / "maze"), "--mazes", "2", "--cells", "3", "--explore",
                            "0.5"], monkeypatch, capsys)
    assert code == 0, err
    _, k = calls["corpus_maze"]
    assert (k["mazes"], k["cells"], k["explore"]) == (2, 3, 0.5)
    code, out, _ = run_cli(["sample", "--help"], monkeypatch, capsys)
    assert code == 0 and "--start" in out and "--fps" in out


def test_sample_output_names(maze16: Path, tiny_prior: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture) -> None:
    """``-o`` names one of the files sample writes (the others go beside it, even with dots in the name); any
    other name and a missing folder are refused before any file is written."""
    from helpers import run_cli
    from PIL import Image

    ep = maze16 / "test" / "000" / "ep00000.npz"
    gif = commands.sample(tmp_path / "run.1.png", tiny_prior, context=ep, actions="forward*4", device="cpu")
    assert gif == tmp_path / "run.1.gif"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.1.gif", "run.1.npz", "run.1.png"]
    # The PNG strip is Figure 7's row: the 6 context frames, then the 4 generated (16x16 frames at scale 2, pad 2).
    assert Image.open(tmp_path / "run.1.png").size == (2 * (2 + 10 * (16 + 2)), 2 * (2 + 16 + 2))
    for bad in ("s.mp4", "strip", "gone/s.gif"):
        with pytest.raises(InputError, match=r"NAME\.gif|does not exist"):
            commands.sample(tmp_path / bad, tiny_prior, context=ep, actions="forward", device="cpu")
    assert not (tmp_path / "gone").exists() and not list(tmp_path.glob("s.*")) and not (tmp_path / "strip").exists()
    code, _, err = run_cli(["sample", "-o", str(tmp_path / "s.mp4"), "-c", str(tiny_prior), "--context", str(ep),
                            "--actions", "forward", "--device", "cpu"], monkeypatch, capsys)
    assert code != 0 and err.count("\n") == 1 and err.startswith("error: ") and "-o NAME.gif" in err
    assert not list(tmp_path.glob("s.*"))


def test_decode_and_evaluate_refuse_missing_folders(maze16: Path, tiny_vqvae: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    """As in the speech and image families, ``-o`` in a folder that does not exist is an error, not created."""
    from helpers import run_cli

    one = commands.encode([maze16 / "test" / "000" / "ep00001.npz"], tmp_path / "one", checkpoint=tiny_vqvae,
                          fmt="npz", device="cpu")
    assert one["written"] == 1
    tok = tmp_path / "one" / "ep00001.npz"
    for out in ("gone/x.gif", "gone/frames"):
        with pytest.raises(InputError, match="gone does not exist"):
            commands.decode(tok, tmp_path / out, checkpoint=tiny_vqvae, device="cpu")
    code, _, err = run_cli(["decode", str(tok), "-o", str(tmp_path / "gone" / "x.gif"), "-c", str(tiny_vqvae)],
                           monkeypatch, capsys)
    assert code != 0 and err.count("\n") == 1 and err.startswith("error: ")
    with pytest.raises(InputError, match="gone does not exist"):
        commands.evaluate(maze16, tiny_vqvae, out_dir=tmp_path / "gone" / "figs", context=3, steps=2,
                          device="cpu")
    assert not (tmp_path / "gone").exists()
    # A new directory whose parent exists is made, as before.
    assert len(commands.decode(tok, tmp_path / "frames", checkpoint=tiny_vqvae, device="cpu")) == 1


def test_evaluate_writes_the_markdown_atomically(maze16: Path, tiny_vqvae: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``--md`` goes through ``atomic_write`` (temp file, fsync, rename), as speech and image do: an interrupted
    run never leaves half a table."""
    from vqspeech.io.atomic import atomic_write

    written: list[Path] = []

    def spy(path: Path, write: object) -> None:
        written.append(Path(path))
        atomic_write(path, write)  # type: ignore[arg-type]

    monkeypatch.setattr(commands, "atomic_write", spy)
    commands.evaluate(maze16, tiny_vqvae, md_path=tmp_path / "e.md", context=3, steps=2, max_windows=2,
                      device="cpu")
    assert written == [tmp_path / "e.md"] and "copy last" in (tmp_path / "e.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.md"]
