from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from vqspeech.quantize import VectorQuantizer, nearest_codes, squared_distances


def test_codes_equal_numpy_argmin() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(37, 8)
    z = torch.randn(3, 8, 50)
    out = vq(z)
    flat = z.permute(0, 2, 1).reshape(-1, 8).numpy().astype(np.float64)
    e = vq.codebook.detach().numpy().astype(np.float64)
    brute = np.array([np.argmin(((row[None] - e) ** 2).sum(1)) for row in flat])
    assert np.array_equal(out.codes.reshape(-1).numpy(), brute)
    assert out.codes.shape == (3, 50)
    q = e[brute].reshape(3, 50, 8).transpose(0, 2, 1)
    np.testing.assert_allclose(out.quantized.detach().numpy(), q, atol=1e-6)


def test_straight_through_plus_commitment_gradient() -> None:
    torch.manual_seed(1)
    beta = 0.3
    vq = VectorQuantizer(16, 4, beta=beta)
    z = torch.randn(2, 4, 10, requires_grad=True)
    out = vq(z)
    upstream = torch.randn_like(out.quantized)
    (out.quantized * upstream).sum().backward(retain_graph=True)
    grad_st = z.grad.clone()
    np.testing.assert_allclose(grad_st.numpy(), upstream.numpy(), atol=1e-6)  # pure straight-through
    z.grad = None
    ((out.quantized * upstream).sum() + out.loss).backward()
    q = vq.embed(out.codes).detach()
    commit = beta * 2 * (z.detach() - q) / z.numel()
    np.testing.assert_allclose(z.grad.numpy(), (upstream + commit).numpy(), atol=1e-6)


def test_codebook_and_commitment_terms_move_their_own_side() -> None:
    torch.manual_seed(2)
    beta = 0.25
    vq = VectorQuantizer(8, 3, beta=beta)
    z = torch.randn(4, 3, 5, requires_grad=True)
    out = vq(z)
    out.loss.backward()
    q = vq.embed(out.codes).detach()
    # commitment term alone reaches z, with weight beta
    np.testing.assert_allclose(z.grad.numpy(), (beta * 2 * (z.detach() - q) / z.numel()).numpy(), atol=1e-7)
    # codebook term alone reaches the codes, with weight 1
    flat_z = z.detach().permute(0, 2, 1).reshape(-1, 3)
    flat_c = out.codes.reshape(-1)
    expected = torch.zeros(8, 3)
    expected.index_add_(0, flat_c, 2 * (vq.codebook.detach()[flat_c] - flat_z) / z.numel())
    np.testing.assert_allclose(vq.codebook.grad.numpy(), expected.numpy(), atol=1e-7)


def test_ema_step_matches_equations_6_to_8_by_hand() -> None:
    vq = VectorQuantizer(2, 1, ema=True, decay=0.5, eps=0.0, beta=0.25)
    vq.codebook.copy_(torch.tensor([[0.0], [10.0]]))
    vq.ema_sum.copy_(vq.codebook)
    # three vectors: 1 and 2 go to code 0, 9 to code 1
    z = torch.tensor([[[1.0, 2.0, 9.0]]])  # [B=1, D=1, T=3]
    vq.train()
    out = vq(z)
    assert out.codes.tolist() == [[0, 0, 1]]
    # N0 = .5*1 + .5*2 = 1.5 ; N1 = .5*1 + .5*1 = 1.0
    # m0 = .5*0 + .5*3 = 1.5 ; m1 = .5*10 + .5*9 = 9.5
    assert torch.allclose(vq.ema_count, torch.tensor([1.5, 1.0]))
    assert torch.allclose(vq.ema_sum, torch.tensor([[1.5], [9.5]]))
    assert torch.allclose(vq.codebook, torch.tensor([[1.0], [9.5]]))
    # EMA mode: loss is beta * commitment only; codebook computed before the update
    commit = ((1 - 0) ** 2 + (2 - 0) ** 2 + (9 - 10) ** 2) / 3
    assert out.loss.item() == pytest.approx(0.25 * commit)
    assert not vq.codebook.requires_grad
    # eval mode changes nothing
    vq.eval()
    before = [t.clone() for t in (vq.codebook, vq.ema_count, vq.ema_sum)]
    vq(torch.randn(2, 1, 7))
    for a, b in zip(before, (vq.codebook, vq.ema_count, vq.ema_sum), strict=True):
        assert torch.equal(a, b)


def test_ema_laplace_smoothing_by_hand() -> None:
    vq = VectorQuantizer(2, 1, ema=True, decay=0.5, eps=0.1)
    vq.codebook.copy_(torch.tensor([[0.0], [10.0]]))
    vq.ema_sum.copy_(vq.codebook)
    vq.train()
    vq(torch.tensor([[[1.0, 2.0, 9.0]]]))
    n = 2.5
    smoothed = (torch.tensor([1.5, 1.0]) + 0.1) / (n + 0.2) * n
    assert torch.allclose(vq.codebook[:, 0], torch.tensor([1.5, 9.5]) / smoothed)


def test_unused_codes_do_not_blow_up_in_ema_mode() -> None:
    torch.manual_seed(3)
    vq = VectorQuantizer(64, 4, ema=True)
    vq.train()
    for _ in range(200):
        vq(torch.randn(2, 4, 8) * 0.01)
    assert torch.isfinite(vq.codebook).all()
    assert vq.codebook.abs().max() < 1.0


def test_chunked_equals_unchunked() -> None:
    torch.manual_seed(4)
    z = torch.randn(1000, 16)
    e = torch.randn(300, 16)
    c1, d1 = nearest_codes(z, e, chunk_size=None)
    c2, d2 = nearest_codes(z, e, chunk_size=77)
    assert torch.equal(c1, c2)
    assert torch.allclose(d1, d2)
    full = squared_distances(z, e)
    assert torch.equal(full.argmin(1), c1)
    assert torch.allclose(full.min(1).values, d1, atol=1e-4)
    a = VectorQuantizer(300, 16, chunk_size=None)
    b = VectorQuantizer(300, 16, chunk_size=64)
    b.load_state_dict(a.state_dict())
    zz = torch.randn(4, 16, 250)
    assert torch.equal(a(zz).codes, b(zz).codes)


def test_fp32_under_autocast() -> None:
    torch.manual_seed(5)
    vq = VectorQuantizer(32, 8)
    z = torch.randn(2, 8, 20)
    ref = vq(z).codes
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = vq(z)  # fp32 input under autocast: distances stay fp32, so the codes are exactly the fp32 codes
        low = vq(z.bfloat16())  # bf16 input: the codes of those bf16 values computed in fp32
    assert torch.equal(out.codes, ref)
    assert torch.equal(low.codes, vq(z.bfloat16().float()).codes)
    assert out.loss.dtype == torch.float32 and low.quantized.dtype == torch.bfloat16


def test_dead_code_is_restarted_from_encoder_output() -> None:
    torch.manual_seed(6)
    vq = VectorQuantizer(4, 2, restart_threshold=0.5, decay=0.5)
    vq.codebook.data.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [0.1, 0.0], [0.0, 0.1]]))
    vq.train()
    z = torch.randn(1, 2, 64) * 0.1
    vq(z)  # code 1 unused: count 1 -> 0.5*1 = 0.5 (not below threshold yet)
    assert torch.equal(vq.codebook[1].detach(), torch.tensor([100.0, 100.0]))
    vq(z)  # 0.25 < 0.5: restarted
    new = vq.codebook[1].detach()
    flat = z[0].t()
    assert (flat == new).all(1).any(), "restarted code must be one of the encoder outputs"
    assert vq.ema_count[1] == 1.0


@pytest.mark.parametrize("mode", ["random", "kmeans"])
def test_data_init(mode: str) -> None:
    torch.manual_seed(7)
    vq = VectorQuantizer(8, 2, init=mode)
    centres = torch.tensor([[5.0, 5.0], [-5.0, 5.0], [5.0, -5.0], [-5.0, -5.0]])
    z = (centres.repeat(50, 1) + 0.01 * torch.randn(200, 2)).t()[None]  # [1, 2, 200]
    vq.train()
    vq(z)
    assert bool(vq.initialized)
    d = squared_distances(centres, vq.codebook.detach())
    assert (d.min(1).values < 0.1).all(), "every cluster gets a code"


def test_one_and_two_dimensional_inputs() -> None:
    torch.manual_seed(8)
    vq = VectorQuantizer(10, 3)
    img = torch.randn(2, 3, 5, 6, requires_grad=True)
    out = vq(img)
    assert out.quantized.shape == img.shape and out.codes.shape == (2, 5, 6)
    assert torch.allclose(vq.embed(out.codes), out.quantized)
    out.quantized.sum().backward()
    assert img.grad.shape == img.shape
    seq = vq(torch.randn(2, 3, 11))
    assert seq.codes.shape == (2, 11)
    assert 1.0 <= seq.perplexity.item() <= 10.0
    assert 1 <= seq.codes_used.item() <= 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, z: torch.Tensor, state: dict, out: dict) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    vq = VectorQuantizer(16, 4, ema=True, decay=0.9, restart_threshold=0.05)
    vq.load_state_dict(state)
    vq.train()
    half = z.shape[0] // world
    for _ in range(5):
        vq(z[rank * half : (rank + 1) * half])
    out[rank] = vq.codebook.clone()
    dist.destroy_process_group()


def test_ddp_two_ranks_equal_single_process() -> None:
    torch.manual_seed(9)
    z = torch.randn(8, 4, 30)
    ref = VectorQuantizer(16, 4, ema=True, decay=0.9, restart_threshold=0.05)
    state = {k: v.clone() for k, v in ref.state_dict().items()}
    mgr = mp.Manager()
    out = mgr.dict()
    mp.spawn(_ddp_worker, args=(2, _free_port(), z, state, out), nprocs=2, join=True)
    torch.manual_seed(0)
    ref.train()
    for _ in range(5):
        ref(z)
    assert torch.equal(out[0], out[1])
    # no code went below the restart threshold here, so the runs see identical statistics
    assert torch.allclose(out[0], ref.codebook, atol=1e-5)


def test_relative_restart_leaves_used_codes_alone_and_revives_dead_ones() -> None:
    """restart_relative: the threshold is a fraction of the expected use per code, so codes used about as often
    as the others are never re-seeded (no churn), whatever the batch size; a code nobody uses is."""
    torch.manual_seed(0)
    for batch in (64, 4096):
        vq = VectorQuantizer(8, 2, ema=True, decay=0.9, restart_threshold=0.1, restart_relative=True).train()
        centres = vq.codebook.clone()
        centres[7] = 100.0  # code 7 sits far from all data: dead
        vq.weight.copy_(centres)
        vq.ema_sum.copy_(centres)
        for _ in range(60):
            pick = torch.randint(0, 7, (batch,))  # data around codes 0..6 only, used unevenly (1 to 3x)
            pick = torch.where(pick == 6, torch.randint(0, 3, (batch,)), pick)
            z = (centres[pick] + 1e-4 * torch.randn(batch, 2)).t()[None]
            before = vq.codebook[:7].clone()
            vq(z)
            assert torch.allclose(vq.codebook[:6], before[:6], atol=1e-3)  # used codes: only the EMA moves them
        assert (vq.codebook[7] - 100.0).abs().max() > 1.0, "the dead code was re-seeded from the data"
        expected = vq.ema_count.mean()
        assert vq.ema_count[7] > 0.1 * expected  # re-seeded codes start with a grace period
