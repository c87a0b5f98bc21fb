"""``train.compile`` (what is compiled, the eager fallbacks; no test here pays for a real compile) and the
learning-rate schedule."""

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


def test_lr_schedule_warms_up_and_decays_by_steps_or_time() -> None:
    tc = TrainConfig(max_steps=1000, lr_schedule="cosine", lr_final=0.1, warmup_steps=10)
    assert loop.lr_factor(tc, 0, 0.0) == pytest.approx(0.1)  # warm-up: 1/10
    assert loop.lr_factor(tc, 9, 0.0) == pytest.approx(1.0, abs=1e-3)
    assert loop.lr_factor(tc, 500, 0.0) == pytest.approx(0.55)  # halfway by steps
    assert loop.lr_factor(tc, 100, 0.5) == pytest.approx(0.55)  # halfway by the time budget
    assert loop.lr_factor(tc, 1000, 0.0) == pytest.approx(0.1)
    assert loop.lr_factor(tc, 10, 2.0) == pytest.approx(0.1)  # past the deadline: the floor
    const = TrainConfig(max_steps=1000)
    assert loop.lr_factor(const, 500, 0.9) == 1.0
