"""Command paths checked before any work: missing inputs first (before checkpoint lookup), ``-o`` that is one file
or a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqspeech.errors import InputError
from vqspeech.io.paths import output_is_file, require_inputs


def test_output_is_file_or_directory(tmp_path: Path) -> None:
    assert output_is_file(tmp_path / "a.wav", (".wav",), "wav files")
    assert output_is_file(tmp_path / "A.WAV", (".wav",), "wav files")
    assert not output_is_file(tmp_path / "decoded", (".wav",), "wav files")
    (tmp_path / "run.v2").mkdir()
    assert not output_is_file(tmp_path / "run.v2", (".wav",), "wav files")  # an existing directory stays one
    with pytest.raises(InputError, match=r"y\.vqs: this command writes wav files; give -o NAME\.wav"):
        output_is_file(tmp_path / "y.vqs", (".wav",), "wav files")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InputError, match="plain: this command writes PNG files"):
        output_is_file(tmp_path / "plain", (".png",), "PNG files")
    assert not (tmp_path / "y.vqs").exists()


def test_require_inputs_names_the_first_missing(tmp_path: Path) -> None:
    (tmp_path / "here.wav").write_bytes(b"")
    require_inputs([tmp_path / "here.wav", None])
    with pytest.raises(InputError, match=r"gone\.wav: no such file or directory"):
        require_inputs([tmp_path / "here.wav", tmp_path / "gone.wav", tmp_path / "also.wav"])


@pytest.mark.parametrize("call", ["image.encode", "image.decode", "image.evaluate", "video.encode", "video.decode",
                                  "video.evaluate", "video.sample"])
def test_image_and_video_commands_report_a_missing_input_before_the_checkpoint(
        call: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No checkpoint anywhere and no input: the input is what the error names, and nothing is written."""
    import importlib

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    family, name = call.split(".")
    fn = getattr(importlib.import_module(f"vqspeech.{family}.commands"), name)
    missing = tmp_path / "nope"
    if name == "encode":
        args, kwargs = ([missing], tmp_path / "out"), {}
    elif name == "decode":
        args, kwargs = (missing, tmp_path / "out"), {}
    elif name == "evaluate":
        args, kwargs = (missing,), {"json_path": tmp_path / "r.json"}
    else:
        args, kwargs = (tmp_path / "s.gif",), {"context": missing, "actions": "forward"}
    with pytest.raises(InputError, match=r"nope: no such file or directory"):
        fn(*args, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_reports_show_paths_relative_to_the_working_directory(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What is written for users names no folder of the machine (``runs/demo/split.json``, not ``/home/...``)."""
    from vqspeech.io.paths import shown_path

    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "runs" / "demo" / "split.json") == "runs/demo/split.json"
    assert shown_path("runs/x.safetensors") == "runs/x.safetensors"
    assert shown_path(tmp_path.parent / "data" / "a.wav") == "../data/a.wav"
    assert shown_path(tmp_path / "runs" / "demo" / "split.json", start=tmp_path / "runs") == "demo/split.json"
