"""Command paths checked before any work: missing inputs first (before checkpoint lookup)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqspeech.errors import InputError
from vqspeech.io.paths import require_inputs


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
