"""``train.compile``: what is compiled, and the eager fallbacks (no test here pays for a real compile)."""

from __future__ import annotations

import pytest
import torch

from vqspeech.speech.models import CodePrior, SpeechVQVAE
from vqspeech.train import loop
from vqspeech.train.recipe import TrainConfig
from vqspeech.verbs import load_recipe


def test_compile_is_a_typed_train_setting() -> None:
    assert TrainConfig().compile is False
    cfg = load_recipe("recipes/demo.yaml")
    assert isinstance(cfg.train.compile, bool)


def test_speech_models_name_their_wavenets() -> None:
    cfg = load_recipe("recipes/demo.yaml")
    model = SpeechVQVAE(cfg.model, cfg.quantizer, 2)
    assert model.compile_targets() == [model.decoder.wavenet]
    pcfg = load_recipe("recipes/demo_prior.yaml")
    prior = CodePrior(pcfg.model, 16, 2)
    assert prior.compile_targets() == [prior.net]


def test_no_compiler_trains_eagerly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    cfg = load_recipe("recipes/demo.yaml")
    model = SpeechVQVAE(cfg.model, cfg.quantizer, 2)
    monkeypatch.setattr(loop.shutil, "which", lambda name: None)
    loop._compile(model, torch.device("cpu"))
    assert "no C++ compiler" in capsys.readouterr().err
    assert model.decoder.wavenet._compiled_call_impl is None


def test_model_without_targets_trains_eagerly(capsys: pytest.CaptureFixture) -> None:
    model = torch.nn.Linear(2, 2)
    loop._compile(model, torch.device("cpu"))
    assert "names no modules" in capsys.readouterr().err
    assert model._compiled_call_impl is None
