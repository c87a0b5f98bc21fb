"""``train.compile`` (what is compiled, a real compile of a small module, the eager fallbacks) and the
learning-rate schedule."""

from __future__ import annotations

import shutil

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


class _Small(torch.nn.Module):
    """A model that names one submodule to compile, as the speech models name their WaveNets."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))

    def compile_targets(self) -> list[torch.nn.Module]:
        return [self.inner]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def test_compile_compiles_the_named_modules_and_matches_eager(capsys: pytest.CaptureFixture) -> None:
    """With a C++ compiler (CI has one) ``_compile`` really compiles: dynamo captures a graph of the named module
    on the first call, and forward and gradients equal the eager ones; without one it says so and stays eager."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch.manual_seed(0)
    model = _Small()
    x = torch.randn(3, 4)
    ref = model(x)
    ref.sum().backward()
    ref_grad = model.inner[0].weight.grad.clone()
    model.zero_grad()
    torch._dynamo.reset()
    counters.clear()
    loop._compile(model, torch.device("cpu"))
    err = capsys.readouterr().err
    out = model(x)
    out.sum().backward()
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(model.inner[0].weight.grad, ref_grad)
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        assert "no C++ compiler" in err and model.inner._compiled_call_impl is None
        return
    assert model.inner._compiled_call_impl is not None
    assert counters["stats"]["unique_graphs"] >= 1  # a graph was captured and compiled, not skipped


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
