from __future__ import annotations

import torch

from vqspeech.nn.pixelcnn import GatedPixelCNN


def _dependency(model: GatedPixelCNN, h: int, w: int, labels: torch.Tensor | None = None) -> torch.Tensor:
    """dep[p, q] = True when the logits at raster position p have a nonzero gradient w.r.t. the input at q."""
    x = torch.randn(1, model.embed.embedding_dim, h, w, dtype=torch.float64, requires_grad=True)
    out = model.double().forward_embedded(x, labels)
    dep = torch.zeros(h * w, h * w, dtype=torch.bool)
    for p in range(h * w):
        (g,) = torch.autograd.grad(out[0, :, p // w, p % w].sum(), x, retain_graph=True)
        dep[p] = g[0].abs().sum(0).flatten() > 0
    return dep


def test_causal_and_no_blind_spot() -> None:
    torch.manual_seed(0)
    h, w = 5, 5
    model = GatedPixelCNN(num_codes=7, channels=4, layers=5, kernel=3, out_hidden=8)
    dep = _dependency(model, h, w)
    n = h * w
    earlier = torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-1)  # q < p in raster order
    # causality: nothing at or after the position itself (the first layer never sees its own position)
    assert not (dep & ~earlier).any()
    # no blind spot: the last output sees every earlier position (a plain masked PixelCNN misses the upper right)
    assert dep[n - 1, : n - 1].all()
    # and every output sees the whole row above, right of it included
    for p in range(w, n):
        i, j = divmod(p, w)
        assert dep[p, (i - 1) * w + min(j + 1, w - 1)]


def test_class_conditioning_changes_logits() -> None:
    torch.manual_seed(0)
    model = GatedPixelCNN(num_codes=5, channels=8, layers=2, kernel=3, num_classes=3, out_hidden=8)
    codes = torch.randint(0, 5, (1, 4, 4))
    a = model(codes, torch.tensor([0]))
    b = model(codes, torch.tensor([2]))
    assert (a - b).abs().max() > 1e-4
    # the first position has no context, yet the class changes it: the class is a real input
    assert (a[0, :, 0, 0] - b[0, :, 0, 0]).abs().max() > 1e-4


def test_sampling_is_seeded_and_greedy_matches_argmax() -> None:
    torch.manual_seed(0)
    model = GatedPixelCNN(num_codes=6, channels=8, layers=2, kernel=3, num_classes=2, out_hidden=8).eval()
    lab = torch.tensor([0, 1, 1])
    s1 = model.sample(3, (3, 4), lab, generator=torch.Generator().manual_seed(5))
    s2 = model.sample(3, (3, 4), lab, generator=torch.Generator().manual_seed(5))
    s3 = model.sample(3, (3, 4), lab, generator=torch.Generator().manual_seed(6))
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)
    g = model.sample(3, (3, 4), lab, temperature=0)
    # greedy sampling is a fixed point of the teacher-forced argmax
    assert torch.equal(model(g, lab).argmax(1), g)
