"""The one device rule (:func:`vqspeech.device.pick_device`), as every command and training task uses it.  CUDA is
mocked as available, so a code path that ignores ``--device cpu`` (or picks ``cuda:0`` under torchrun) fails here:
this machine has no GPU to move a model to."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from vqspeech.device import pick_device
from vqspeech.errors import InputError

PACKAGE = Path(__file__).resolve().parents[2] / "vqspeech"


def test_device_under_torchrun_uses_local_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert pick_device("cuda") == torch.device("cuda", 1) and pick_device("auto") == torch.device("cuda", 1)
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(InputError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(InputError, match="--device must be auto, cpu or cuda, not 'gpu'"):
        pick_device("gpu")
    picked = torch.device("cuda", 3)
    assert pick_device(picked) is picked  # a device already picked passes through


def test_no_module_picks_a_device_of_its_own() -> None:
    """Only :mod:`vqspeech.device` reads ``torch.cuda.is_available()`` to choose a device: no family helper or task
    has a rule of its own (the training loop's RNG state checks it for another reason)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ("device.py", "train/loop.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "is_available" and ast.unparse(node) == \
                    "torch.cuda.is_available":
                offenders.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.FunctionDef) and node.name == "_device":
                offenders.append(f"{rel}:{node.lineno} def _device")
    assert not offenders, offenders


def test_every_task_factory_takes_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """``verbs.train`` hands each kind's task the picked device (``registry.Kind.task(config, run_dir, device)``)."""
    import inspect

    from vqspeech import registry

    for kind in registry.kinds().values():
        params = list(inspect.signature(kind.task).parameters)
        assert len(params) >= 3 and params[2] == "device", (kind.name, params)
