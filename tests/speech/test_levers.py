"""The speech levers (README "Speech levers"): each is off when off, has the shapes it promises, is seeded, and
its gradient reaches what it should."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vqspeech.speech.config import VQVAEModel
from vqspeech.speech.models import SpeechVQVAE, deemphasis, preemphasis, time_jitter
from vqspeech.train.recipe import QuantizerConfig

SMALL = dict(encoder_channels=16, downsample_layers=4, cond_channels=8, speaker_dim=4, residual_channels=8,
             gate_channels=16, skip_channels=8, layers=4, cycle=4)
Q = QuantizerConfig(num_codes=16, dim=4)


def _model(**kw) -> SpeechVQVAE:
    torch.manual_seed(0)
    return SpeechVQVAE(VQVAEModel(**{**SMALL, **kw}), Q, num_speakers=3, sample_rate=8000)


def test_jitter_moves_frames_to_neighbours_only() -> None:
    z = torch.arange(40.0).reshape(1, 1, 40).repeat(2, 3, 1)
    assert torch.equal(time_jitter(z, 0.0), z)
    g = torch.Generator().manual_seed(0)
    j = time_jitter(z, 0.5, g)
    moved = (j[:, 0] - z[:, 0]).abs()
    assert set(moved.unique().tolist()) <= {0.0, 1.0} and 0.3 < (moved > 0).float().mean() < 0.7
    assert torch.equal(j[:, 0], j[:, 2])  # a whole frame (every channel) moves together
    assert torch.equal(j, time_jitter(z, 0.5, torch.Generator().manual_seed(0)))  # seeded


def test_jitter_only_in_training() -> None:
    m = _model(jitter=0.5).eval()
    audio, spk = torch.rand(2, 1024) * 0.2 - 0.1, torch.tensor([0, 1])
    assert m(audio, spk).nll.item() == m(audio, spk).nll.item()  # eval: deterministic
    m.train()
    torch.manual_seed(1)
    a = m(audio, spk).nll.item()
    torch.manual_seed(2)
    assert a != m(audio, spk).nll.item()  # training: a different jitter draw changes the loss


def test_preemphasis_round_trip_and_off_when_off() -> None:
    x = torch.sin(torch.linspace(0, 40, 800))[None] * 0.5
    y = preemphasis(x, 0.9)
    assert y[0, 0] == x[0, 0] and torch.allclose(y[0, 1:], x[0, 1:] - 0.9 * x[0, :-1])
    assert torch.allclose(deemphasis(y, 0.9), x, atol=1e-5)
    plain, pe = _model(), _model(preemphasis=0.9)
    audio, spk = torch.rand(2, 1024) * 0.2 - 0.1, torch.tensor([0, 1])
    assert plain.eval()(audio, spk).nll.item() != pe.eval()(audio, spk).nll.item()
    codes = plain.encode(audio)
    out = pe.decode(codes, spk, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 1024) and torch.isfinite(out).all()
    # generation de-emphasises what the WaveNet sampled: the same draws without the de-emphasis step
    pe.decoder.preemphasis = 0.0
    raw = pe.decode(codes, spk, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(out, raw, atol=1e-3) and torch.allclose(out, deemphasis(raw, 0.9), atol=1e-5)


def test_logmel_encoder_shapes_and_chunked_equals_whole() -> None:
    from vqspeech.speech.inference import encode_audio

    m = _model(encoder_input="logmel", norm_seconds=0.1, encoder_layers=2).eval()
    enc, hop = m.encoder, m.hop
    assert enc.features(torch.zeros(2, hop * 16)).shape == (2, 40, 16)
    assert m.encoder(torch.zeros(2, hop * 16)).shape == (2, 4, 16)
    rng = np.random.default_rng(0)
    audio = (rng.normal(size=hop * 300) * 0.1).astype(np.float32)
    whole = encode_audio(m, [audio], chunk_frames=4096)[0]
    chunked = encode_audio(m, [audio], chunk_frames=37)[0]
    assert len(whole) == 300 and np.array_equal(whole, chunked)
    # the benchmark's front-end count: window + real FFT + power + mel matmul of one frame, by hand
    n, freqs = enc.n_fft, enc.n_fft // 2 + 1
    assert enc.front_end_flops_per_frame == pytest.approx(n + 2.5 * n * math.log2(n) + 3 * freqs + 2 * freqs * 40)


def test_sliding_normalisation_removes_a_gain() -> None:
    """A louder copy of the same audio gives the same normalised log-mel frames (a gain is a constant log
    offset), which is what makes the input per-utterance normalised."""
    m = _model(encoder_input="logmel", norm_seconds=0.2).eval()
    x = torch.randn(1, 16 * 200) * 0.05
    a, b = m.encoder.features(x), m.encoder.features(4 * x)
    assert torch.allclose(a, b, atol=2e-2)
    plain = _model(encoder_input="logmel").eval()
    assert not torch.allclose(plain.encoder.features(x), plain.encoder.features(4 * x), atol=1e-1)


@pytest.mark.parametrize("weight", [1.0, 0.2])
def test_speaker_adversary_reverses_the_encoders_gradient(weight: float) -> None:
    m0, m1 = _model(), _model(speaker_adversary=weight)
    m1.load_state_dict({**m1.state_dict(), **m0.state_dict()})
    audio, spk = torch.rand(4, 1024) * 0.2 - 0.1, torch.tensor([0, 1, 2, 0])
    out = m1(audio, spk)
    assert set(m1.adversary_stats) == {"adv_ce", "adv_acc"}
    assert out.loss.item() == pytest.approx(out.nll.item() + out.vq_loss.item() + m1.adversary_stats["adv_ce"],
                                            rel=1e-5)
    assert m1.adversary_stats["adv_ce"] == pytest.approx(math.log(3), abs=0.5)
    out.loss.backward()
    assert all(p.grad is not None for p in m1.adversary.parameters())
    # the encoder's gradient from the adversary alone is minus ``weight`` times that of a plain classifier loss
    m1.zero_grad()
    ce, _ = m1.adversary(m1.quantizer(m1.encoder(audio)).quantized, spk)
    ce.backward()
    g_rev = m1.encoder.net[0].weight.grad.clone()
    m1.zero_grad()
    m1.adversary.weight = -1.0  # un-reversed
    ce, _ = m1.adversary(m1.quantizer(m1.encoder(audio)).quantized, spk)
    ce.backward()
    assert torch.allclose(g_rev, -weight * m1.encoder.net[0].weight.grad, atol=1e-6) and g_rev.abs().sum() > 0
    assert _model().adversary is None and "adversary" not in "".join(_model().state_dict())


def test_levers_are_validated() -> None:
    with pytest.raises(ValueError, match="jitter"):
        VQVAEModel(jitter=1.5)
    with pytest.raises(ValueError, match="logmel"):
        VQVAEModel(norm_seconds=1.0)
    with pytest.raises(ValueError, match="preemphasis"):
        VQVAEModel(preemphasis=-0.1)


def test_frozen_codes_train_the_decoder_only() -> None:
    """Two-stage schedule, stage two: no gradient reaches the encoder or codebook, the EMA codebook and its
    statistics stay put, ``train()`` keeps both in eval mode; before freezing all of it learns (off when off)."""
    audio, spk = torch.rand(2, 1024) * 0.2 - 0.1, torch.tensor([0, 1])
    for frozen in (False, True):
        torch.manual_seed(0)  # the demo's codebook rule: EMA statistics, restarts, k-means init
        q = QuantizerConfig(num_codes=16, dim=4, ema=True, restart_threshold=0.03, init="kmeans")
        m = SpeechVQVAE(VQVAEModel(**SMALL, jitter=0.5, speaker_adversary=0.2), q, num_speakers=3, sample_rate=8000)
        m.train()
        m(audio, spk)  # data-dependent init happens on the first training batch
        if frozen:
            m.freeze_codes()
            m.train()
        before = {k: v.clone() for k, v in m.state_dict().items() if k.startswith(("encoder.", "quantizer."))}
        out = m(audio, spk)
        out.loss.backward()
        enc_grads = [p.grad for p in [*m.encoder.parameters(), *m.quantizer.parameters(), *m.adversary.parameters()]]
        after = m.state_dict()
        moved = [k for k, v in before.items() if not torch.equal(v, after[k])]
        assert all(p.grad is not None for p in m.decoder.parameters() if p.requires_grad)
        if frozen:
            assert all(g is None for g in enc_grads) and not moved and not m.adversary_stats
            assert not any(p.requires_grad for p in [*m.encoder.parameters(), *m.adversary.parameters()])
            assert not m.encoder.training and not m.quantizer.training and m.decoder.training
        else:
            assert any(g is not None for g in enc_grads) and moved  # EMA statistics moved
            assert all(p.grad is not None for p in m.adversary.parameters()) and m.adversary_stats
