from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vqspeech.errors import ConfigError, InputError
from vqspeech.registry import load_model
from vqspeech.train.recipe import build
from vqspeech.video.config import VIDEO_PRIOR, VIDEO_VQVAE, VideoPriorModel
from vqspeech.video.models import VideoPrior


def _prior(pixelcnn_layers: int, num_codes: int = 8, num_actions: int = 3, shape: tuple[int, int] = (4, 4),
           context: int = 2, dropout: float = 0.2) -> VideoPrior:
    cfg = build(VideoPriorModel, {"context_frames": context, "channels": 16, "cond_layers": 3,
                                  "pixelcnn_layers": pixelcnn_layers, "kernel": 3, "out_hidden": 32,
                                  "action_dim": 8, "action_dropout": dropout}, "test")
    torch.manual_seed(0)
    return VideoPrior(cfg, num_codes, num_actions, shape).eval()


@pytest.mark.parametrize("layers", [0, 2])
def test_prior_is_causal_in_time(layers: int) -> None:
    """Changing frame t or action t changes no prediction for earlier frames (action t: none up to frame t)."""
    m = _prior(layers)
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 8, (2, 6, 4, 4), generator=g)
    actions = torch.randint(0, 3, (2, 6), generator=g)
    base = m(codes, actions)
    for t in range(6):
        c2 = codes.clone()
        c2[:, t] = (c2[:, t] + 1) % 8
        out = m(c2, actions)
        assert torch.equal(out[:, :t], base[:, :t]), t
        if t + 1 < 6:
            assert not torch.allclose(out[:, t + 1], base[:, t + 1])
        a2 = actions.clone()
        a2[:, t] = (a2[:, t] + 1) % 3
        out = m(codes, a2)
        assert torch.equal(out[:, : t + 1], base[:, : t + 1]), t
        if t + 1 < 6:
            assert not torch.allclose(out[:, t + 1], base[:, t + 1])
    # Inside a frame the PixelCNN keeps raster order: the last code of frame 3 changes nothing of frame 3's logits.
    if layers:
        c3 = codes.clone()
        c3[:, 3, -1, -1] = (c3[:, 3, -1, -1] + 1) % 8
        assert torch.equal(m(c3, actions)[:, 3], base[:, 3])


def _toy_world(n: int, t: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A world where the next frame is the last one shifted by the action (0 left, 1 right, 2 stay), code 0 coming
    in at the edge."""
    codes = torch.empty(n, t, 4, 4, dtype=torch.long)
    codes[:, 0] = torch.randint(0, 8, (n, 4, 4), generator=g)
    actions = torch.randint(0, 3, (n, t), generator=g)
    shift = torch.tensor([-1, 1, 0])
    for i in range(1, t):
        for b in range(n):
            s = int(shift[actions[b, i - 1]])
            codes[b, i] = torch.roll(codes[b, i - 1], s, dims=1)
            if s:
                codes[b, i, :, 0 if s > 0 else -1] = 0
    return codes, actions


@pytest.mark.parametrize("layers", [0, 1])
def test_actions_matter_on_a_toy_world(layers: int) -> None:
    from vqspeech.video.inference import rollout

    m = _prior(layers, context=1).train()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(250):
        codes, actions = _toy_world(16, 4, g)
        drop = torch.rand(16, generator=g) < 0.2
        actions[drop] = -1
        loss = m.nll(codes, actions).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    codes, actions = _toy_world(32, 4, torch.Generator().manual_seed(99))
    with torch.no_grad():
        with_a = m.nll(codes, actions)[:, 1:].mean()
        without = m.nll(codes, torch.full_like(actions, -1))[:, 1:].mean()
    assert with_a < 0.3 * without, (float(with_a), float(without))
    gen = rollout(m, codes[:, :1].numpy(), actions.numpy(), 3)
    acc = (gen == codes[:, 1:].numpy()).mean()
    assert acc > 0.9, acc
    # Withheld actions: the model cannot know the motion; it is right far less often.
    blind = rollout(m, codes[:, :1].numpy(), np.full_like(actions.numpy(), -1), 3)
    assert (blind == codes[:, 1:].numpy()).mean() < acc - 0.2


def test_trained_checkpoints(tiny_vqvae: Path, tiny_prior: Path) -> None:
    vq, meta = load_model(tiny_vqvae, expect=VIDEO_VQVAE)
    assert meta["frame_size"] == 16 and meta["actions"][1] == "forward" and vq.latent_shape == (4, 4)
    prior, pmeta = load_model(tiny_prior, expect=VIDEO_PRIOR)
    assert pmeta["num_codes"] == 16 and pmeta["latent_shape"] == [4, 4] and prior.num_actions == 7
    assert (tiny_prior.parent.parent / "metrics.jsonl").exists()


def test_recipe_errors(maze16: Path, tiny_vqvae: Path, tmp_path: Path) -> None:
    from vqspeech import verbs

    with pytest.raises(ConfigError, match="did you mean 'action_dropout'"):
        verbs.load_recipe("recipes/maze_video.yaml", ["model.action_dropuot=0.1"])
    with pytest.raises(InputError, match="frames are 16x16 but data.frame_size is 64"):
        verbs.train("recipes/maze.yaml", out=tmp_path / "x", overrides=[f"data.root={maze16}"], max_steps=1,
                    device="cpu")
    with pytest.raises(InputError, match="takes 16x16 frames but data.frame_size is 64"):
        verbs.train("recipes/maze_video.yaml", out=tmp_path / "y",
                    overrides=[f"data.root={maze16}", f"data.vqvae={tiny_vqvae}"], max_steps=1, device="cpu")


def test_every_video_recipe_validates() -> None:
    from vqspeech import verbs

    for p in sorted(Path("recipes").glob("*.yaml")):
        cfg = verbs.load_recipe(p)
        if p.stem.startswith(("maze", "dmlab")):
            assert cfg.task.startswith("video-"), p


def test_two_stage_global_model(maze16: Path, tiny_vqvae: Path, tmp_path: Path) -> None:
    """The second stage: 4x4 frame codes -> 3 latents -> PixelCNN decoder; trains, saves, samples a grid."""
    from vqspeech import verbs
    from vqspeech.video import commands

    ck = verbs.train("recipes/maze_global.yaml", out=tmp_path / "g", max_steps=15, device="cpu", overrides=[
        f"data.root={maze16}", f"data.vqvae={tiny_vqvae}", "data.frame_size=16", "model.channels=16",
        "model.encoder_layers=1", "model.pixelcnn_layers=1", "model.kernel=3", "model.out_hidden=16",
        "quantizer.num_codes=8", "quantizer.dim=4", "train.batch_size=8", "train.valid_every=0",
        "train.max_minutes=0", "train.checkpoint_every=0"])
    model, meta = load_model(ck, expect="video-global")
    assert meta["latents"] == 3 and meta["frame_latent_shape"] == [4, 4]
    codes = torch.randint(0, 16, (2, 4, 4))
    assert model.encode(codes).shape == (2, 3)
    assert (tmp_path / "g" / "global_reconstructions.png").exists()
    png = commands.sample(tmp_path / "grid.png", ck, n=3, device="cpu")
    z = np.load(png.with_suffix(".npz"))
    assert z["latents"].shape == (3, 3) and z["frames"].shape == (3, 16, 16, 3)


def test_paper_shapes_84_to_21() -> None:
    """dmlab recipes: 84x84 frames -> 21x21 codes (K = 512) -> 84x84; the video prior and the 3-latent second
    stage take 21x21 maps (channels shrunk here to keep the test fast; the shapes are the recipes')."""
    from vqspeech import verbs
    from vqspeech.video.models import GlobalVQVAE
    from vqspeech.video.tasks import build_vqvae

    cfg = verbs.load_recipe("recipes/dmlab.yaml", ["model.hidden=8", "model.res_hidden=8"])
    assert cfg.quantizer.num_codes == 512 and cfg.data.frame_size == 84
    vq = build_vqvae(cfg).eval()
    x = torch.randint(0, 256, (2, 3, 84, 84), dtype=torch.uint8)
    codes = vq.encode(x)
    assert codes.shape == (2, 21, 21) and vq.decode(codes).shape == (2, 3, 84, 84)
    pc = verbs.load_recipe("recipes/dmlab_video.yaml", ["model.channels=8", "model.out_hidden=8",
                                                        "model.pixelcnn_layers=1"])
    prior = VideoPrior(pc.model, 512, 7, (21, 21)).eval()
    clip = torch.randint(0, 512, (1, 3, 21, 21))
    assert prior(clip, torch.zeros(1, 3, dtype=torch.long)).shape == (1, 3, 512, 21, 21)
    gc = verbs.load_recipe("recipes/dmlab_global.yaml", ["model.channels=8", "model.out_hidden=8",
                                                         "model.pixelcnn_layers=1"])
    g = GlobalVQVAE(gc.model, gc.quantizer, 512, (21, 21)).eval()
    lat = g.encode(clip[:, 0])
    assert lat.shape == (1, 3) and g.quantizer.num_codes == 512  # 3 x 9 bits = 27 bits per frame



def test_prior_task_encodes_its_corpus_on_the_device_it_is_given(maze16: Path, tiny_vqvae: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``--device cpu`` is honoured with CUDA available (mocked: moving the VQ-VAE to CUDA would fail here)."""
    from tests.video.conftest import TINY_PRIOR
    from vqspeech import registry
    from vqspeech.device import pick_device
    from vqspeech.verbs import load_recipe

    cfg = load_recipe("recipes/maze_video.yaml", [f"data.root={maze16}", f"data.vqvae={tiny_vqvae}", *TINY_PRIOR])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    task = registry.get(cfg.task).task(cfg, tmp_path, pick_device("cpu"))
    assert task.device == torch.device("cpu")
    assert task.codes.shape[1:] == (4, 4)
