"""The image family's own commands on the command line (``corpus images``); the root CLI calls
:func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vqspeech import progress


def register(app: typer.Typer, corpus: typer.Typer) -> None:
    """Add the image commands to ``app`` and its ``corpus`` group."""

    @corpus.command("images")
    def corpus_images(
        out: Path,
        seed: Annotated[int, typer.Option(help="random seed (same seed, same corpus)")] = 0,
        train_per_class: Annotated[int, typer.Option(help="32x32 training patches per class")] = 500,
        test_per_class: Annotated[int, typer.Option(help="32x32 test patches per class")] = 100,
    ) -> None:
        """Build the embedded image corpus: natural patches in the CIFAR-10 (and ImageNet) layouts."""
        from vqspeech.image.commands import corpus_images as run

        summary = run(out, seed=seed, train_per_class=train_per_class, test_per_class=test_per_class)
        c = summary["cifar10"]
        progress.say(f"image corpus -> {out}: {len(summary['classes'])} classes, {c['train']} training and "
                     f"{c['test']} test 32x32 patches (CIFAR-10 layout)"
                     + (f", {summary['imagenet']['train']} + {summary['imagenet']['val']} ImageNet-layout crops"
                        if summary.get("imagenet") else ""))
