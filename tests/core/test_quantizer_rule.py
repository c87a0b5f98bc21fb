"""One quantizer rule for every family: each VQ-VAE's quantizer comes from ``QuantizerConfig.build`` (the dead-code
restart relative to the expected use per code, counted over all DDP ranks), and ``encode`` never updates the
codebook, even in training mode."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp

from vqspeech import registry
from vqspeech.quantize import VectorQuantizer
from vqspeech.train.recipe import QuantizerConfig
from vqspeech.verbs import load_recipe

# each family's VQ-VAE recipes, the metadata its builder reads, and an input for encode()
VQVAES: dict[str, tuple[dict[str, Any], Any]] = {
    "demo.yaml": ({"speakers": ["a", "b"]}, lambda m: torch.randn(2, m.hop * 4)),
    "images_demo.yaml": ({}, lambda m: torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)),
    "maze.yaml": ({}, lambda m: torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)),
    "maze_global.yaml": ({"actions": ["noop"], "frame_size": 64, "num_codes": 512, "frame_num_codes": 16,
                          "frame_latent_shape": [8, 8]},
                         lambda m: torch.randint(0, 16, (2, 8, 8))),
}


def _model(recipe: str) -> tuple[torch.nn.Module, Any]:
    cfg = load_recipe(f"recipes/{recipe}", ["quantizer.restart_threshold=0.03", "quantizer.init=kmeans"])
    meta, _ = VQVAES[recipe]
    torch.manual_seed(0)
    return registry.get(cfg.task).build(cfg, meta), cfg


def test_every_vqvae_kind_is_covered() -> None:
    kinds = {load_recipe(f"recipes/{r}").task for r in VQVAES}
    assert kinds == set(registry.of_role("vqvae")), "add the new VQ-VAE kind's recipe to VQVAES"


@pytest.mark.parametrize("recipe", sorted(VQVAES))
def test_every_family_builds_the_one_quantizer(recipe: str) -> None:
    model, cfg = _model(recipe)
    q = model.quantizer
    assert isinstance(q, VectorQuantizer) and q.restart_relative
    assert q.restart_threshold == cfg.quantizer.restart_threshold == 0.03  # as written, whatever the batch size


@pytest.mark.parametrize("recipe", sorted(VQVAES))
def test_encode_never_updates_the_codebook(recipe: str) -> None:
    model, _ = _model(recipe)
    model.train()
    before = {k: v.clone() for k, v in model.quantizer.state_dict().items()}
    codes = model.encode(VQVAES[recipe][1](model))
    assert codes.dtype == torch.long and codes.shape[0] == 2
    after = model.quantizer.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "encode changed the quantizer"
    assert not bool(model.quantizer.initialized) and model.training


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CENTRES = torch.tensor([[float(i), float(i % 3)] for i in range(8)]) * 10


def _ddp_rank(rank: int, world: int, port: int, out: dict) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(rank)
    vq = QuantizerConfig(num_codes=8, dim=2, ema=True, decay=0.9, restart_threshold=0.3).build().train()
    vq.weight.data.copy_(CENTRES)
    vq.ema_sum.copy_(CENTRES)
    for _ in range(30):
        pick = torch.randint(0, 4, (64,)) + 4 * rank  # rank 0 sees codes 0-3 only, rank 1 codes 4-7 only
        vq((CENTRES[pick] + 0.01 * torch.randn(64, 2)).t()[None])
    out[rank] = (vq.codebook.clone(), vq.ema_count.clone())
    dist.destroy_process_group()


def test_restart_under_ddp_counts_the_use_on_every_rank() -> None:
    """Each rank sees half of the codes; summed over the ranks every code is used as often as expected, so none
    is re-seeded (a per-rank count would call the other half dead on each rank) and the ranks stay identical."""
    out = mp.Manager().dict()
    mp.spawn(_ddp_rank, args=(2, _free_port(), out), nprocs=2, join=True)
    (cb0, n0), (cb1, n1) = out[0], out[1]
    assert torch.equal(cb0, cb1) and torch.equal(n0, n1)
    assert torch.allclose(cb0, CENTRES, atol=0.05)  # no code was re-seeded
    assert (n0 > 0.3 * n0.mean()).all()
