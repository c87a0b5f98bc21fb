"""Write the 0.3 checkpoint fixtures of the image and video families (``tests/core/data/v0_3/``): tiny image and
frame VQ-VAEs and a two-stage global model as 0.3 saves them, with the codes and decodings of a fixed input, so
a later version that changes the models' layout can prove it still loads them (key remapping on load).

Run once, with the 0.3 code:  python scripts/write_v0_3_fixtures.py tests/core/data/v0_3
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqspeech import registry
from vqspeech.io.checkpoint import save_checkpoint
from vqspeech.train.recipe import to_dict
from vqspeech.verbs import load_recipe

TINY_2D = ["model.hidden=8", "model.res_hidden=4", "model.res_blocks=1", "quantizer.num_codes=8", "quantizer.dim=4",
           "quantizer.init=random"]
FIXTURES: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "image_vqvae": ("images_demo.yaml", [*TINY_2D, "data.image_size=16", "model.latents_per_position=2"],
                    {"classes": ["a", "b"], "image_size": 16, "num_codes": 8}),
    "frame_vqvae": ("maze.yaml", [*TINY_2D, "data.frame_size=16"],
                    {"actions": ["noop", "forward"], "frame_size": 16, "num_codes": 8, "latent_shape": [4, 4]}),
    "global_vqvae": ("maze_global.yaml", ["model.channels=8", "model.encoder_layers=1", "model.cond_layers=1",
                                          "model.pixelcnn_layers=1", "model.kernel=3", "model.out_hidden=8",
                                          "quantizer.num_codes=8", "quantizer.dim=4", "quantizer.init=random",
                                          "data.frame_size=16"],
                     {"actions": ["noop", "forward"], "frame_size": 16, "num_codes": 8, "latents": 3,
                      "frame_num_codes": 8, "frame_latent_shape": [4, 4]}),
}


def inputs(name: str) -> torch.Tensor:
    """The fixed input each fixture's codes are recorded for: images/frames ``uint8 [2, 3, 16, 16]`` (smooth,
    so codes vary), or frame code maps ``[2, 4, 4]`` for the global model."""
    g = torch.Generator().manual_seed(3)
    if name == "global_vqvae":
        return torch.randint(0, 8, (2, 4, 4), generator=g)
    base = torch.rand(2, 3, 4, 4, generator=g)
    return (torch.nn.functional.interpolate(base, size=16, mode="bilinear") * 255).round().to(torch.uint8)


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (recipe, overrides, meta) in FIXTURES.items():
        cfg = load_recipe(Path("recipes") / recipe, overrides)
        torch.manual_seed(0)
        model = registry.get(cfg.task).build(cfg, meta)
        x = inputs(name)
        with torch.no_grad():  # one training-mode pass seeds the codebook from encoder outputs (data init)
            model.train()(x)
        model.eval()
        with torch.no_grad():
            codes = model.encode(x)
            decoded = model.decode(codes) if name != "global_vqvae" else model.decode(codes, temperature=0.0)
        save_checkpoint(out / f"{name}.safetensors", model, {"kind": cfg.task, "config": to_dict(cfg), "step": 1,
                                                             **meta})
        np.savez(out / f"{name}.npz", inputs=x.numpy(), codes=codes.numpy(), decoded=decoded.numpy())
        print(f"{name}: {cfg.task}, codes {list(codes.shape)}, {len(set(codes.flatten().tolist()))} distinct")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    write(ap.parse_args().out)


if __name__ == "__main__":
    main()
