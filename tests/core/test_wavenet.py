from __future__ import annotations

import math

import pytest
import torch

from vqspeech.nn.encoder import StridedEncoder
from vqspeech.nn.wavenet import WaveNet, WaveNetConfig


def _randomize(net: torch.nn.Module) -> None:
    torch.manual_seed(0)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)


@pytest.mark.parametrize("fast", [False, True], ids=["torch", "compiled"])
def test_incremental_equals_teacher_forced(fast: bool) -> None:
    cfg = WaveNetConfig(num_classes=32, residual_channels=8, gate_channels=12, skip_channels=6, layers=6,
                        cycle=3, cond_channels=5, global_channels=4, hop=4)
    net = WaveNet(cfg).eval()
    _randomize(net)
    x = torch.randint(0, 32, (3, 40))
    cond = torch.randn(3, 5, 10)
    g = torch.randn(3, 4)
    ref = net(x, cond, g)
    _, step_logits = net.generate(40, cond, g, teacher=x, fast=fast)
    assert (step_logits - ref).abs().max().item() < 1e-4


@pytest.mark.parametrize("fast", [False, True], ids=["torch", "compiled"])
def test_incremental_without_conditioning_and_sampling_is_seeded(fast: bool) -> None:
    cfg = WaveNetConfig(num_classes=16, residual_channels=8, gate_channels=8, skip_channels=8, layers=4, cycle=2)
    net = WaveNet(cfg).eval()
    _randomize(net)
    x = torch.randint(0, 16, (2, 25))
    _, step_logits = net.generate(25, batch=2, teacher=x, fast=fast)
    assert (step_logits - net(x)).abs().max().item() < 1e-4
    a, _ = net.generate(30, batch=2, generator=torch.Generator().manual_seed(5), fast=fast)
    b, _ = net.generate(30, batch=2, generator=torch.Generator().manual_seed(5), fast=fast)
    assert torch.equal(a, b)


@pytest.mark.parametrize("fast", [False, True], ids=["torch", "compiled"])
def test_greedy_cached_equals_naive_recompute(fast: bool) -> None:
    cfg = WaveNetConfig(num_classes=16, residual_channels=8, gate_channels=8, skip_channels=8, layers=4, cycle=2,
                        cond_channels=3, hop=2)
    net = WaveNet(cfg).eval()
    _randomize(net)
    cond = torch.randn(1, 3, 20)
    cached, _ = net.generate(40, cond, temperature=0.0, fast=fast)
    slow = net.generate_naive(40, cond)
    assert torch.equal(cached, slow)


def test_compiled_step_samples_what_the_torch_path_samples() -> None:
    """Same weights, same seed: the compiled step draws the same noise and picks the same symbols, across more
    than one noise block and with per-frame conditioning."""
    cfg = WaveNetConfig(num_classes=64, residual_channels=8, gate_channels=12, skip_channels=8, layers=5, cycle=5,
                        cond_channels=3, global_channels=2, hop=8)
    net = WaveNet(cfg).eval()
    _randomize(net)
    cond, g = torch.randn(3, 3, 80), torch.randn(3, 2)
    ticks: list[int] = []
    a, _ = net.generate(600, cond, g, temperature=0.8, generator=torch.Generator().manual_seed(1), fast=True,
                        callback=ticks.append)
    b, _ = net.generate(600, cond, g, temperature=0.8, generator=torch.Generator().manual_seed(1), fast=False)
    assert torch.equal(a, b)
    assert ticks[-1] == 600
    assert len(set(a[0].tolist())) > 5, "sampling, not a constant"


def test_causality_and_receptive_field() -> None:
    cfg = WaveNetConfig(num_classes=8, residual_channels=4, gate_channels=4, skip_channels=4, layers=4, cycle=2)
    net = WaveNet(cfg).eval()
    _randomize(net)
    assert net.receptive_field == 1 + 2 + 1 + 2 + 1
    x = torch.randint(0, 8, (1, 30))
    y = x.clone()
    y[0, 20] = (y[0, 20] + 1) % 8
    a, b = net(x), net(y)
    assert torch.equal(a[..., :21], b[..., :21]), "output t must not see input t or later"
    assert not torch.equal(a[..., 21], b[..., 21])
    rf = net.receptive_field  # x[20] reaches outputs 21 .. 20 + rf
    assert not torch.allclose(a[..., 20 + rf], b[..., 20 + rf])
    assert torch.allclose(a[..., 21 + rf :], b[..., 21 + rf :], atol=1e-6)


def test_encoder_downsamples_by_hop() -> None:
    enc = StridedEncoder(1, 16, 8, layers=6, kernel=4)
    assert enc.hop == 64
    assert enc(torch.randn(2, 1, 64 * 7)).shape == (2, 8, 7)
    assert enc.receptive_field == 1 + 3 * 63


@pytest.mark.parametrize("strides", [[2, 2, 2, 2, 2, 4, 5], [5, 4, 2], [3, 2]])
def test_encoder_with_any_strides_maps_frames_exactly(strides: list[int]) -> None:
    """T = n * hop samples give n frames, and shifting the input by one hop shifts the output by one frame."""
    torch.manual_seed(0)
    enc = StridedEncoder(1, 8, 4, strides=strides)
    hop = enc.hop
    assert hop == math.prod(strides)
    x = torch.randn(1, 1, hop * 40)
    y = enc(x)
    assert y.shape == (1, 4, 40)
    shifted = enc(torch.cat([torch.randn(1, 1, hop), x], -1))
    rf_frames = enc.receptive_field // hop + 2
    torch.testing.assert_close(shifted[..., 1 + rf_frames : 41 - rf_frames], y[..., rf_frames : 40 - rf_frames])


@pytest.mark.parametrize("fast", [False, True], ids=["torch", "compiled"])
def test_generate_refuses_short_conditioning_and_handles_zero_steps(fast: bool) -> None:
    cfg = WaveNetConfig(num_classes=16, residual_channels=4, gate_channels=4, skip_channels=4, layers=2, cycle=2,
                        cond_channels=3, hop=2)
    net = WaveNet(cfg).eval()
    with pytest.raises(ValueError, match="fewer than 40 steps"):
        net.generate(40, torch.randn(1, 3, 5), fast=fast)  # 5 frames x 2 steps
    sym, logits = net.generate(0, torch.randn(2, 3, 5), teacher=torch.zeros(2, 0, dtype=torch.long), fast=fast)
    assert sym.shape == (2, 0) and logits.shape == (2, 16, 0)


def test_choose_callback_is_honoured_even_when_fast_is_asked() -> None:
    cfg = WaveNetConfig(num_classes=16, residual_channels=4, gate_channels=4, skip_channels=4, layers=2, cycle=2)
    net = WaveNet(cfg).eval()
    seen: list[int] = []

    def choose(t: int, logits: torch.Tensor) -> torch.Tensor:
        seen.append(t)
        return torch.full((logits.shape[0],), 3, dtype=torch.long)

    sym, _ = net.generate(5, batch=1, choose=choose, fast=True)
    assert seen == [0, 1, 2, 3, 4] and sym.tolist() == [[3] * 5]
