"""The video family's own commands on the command line (``corpus maze``, ``corpus vizdoom``); the root CLI
calls :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Seed = Annotated[int, typer.Option(help="random seed (same seed, same corpus)")]


def register(app: typer.Typer, corpus: typer.Typer) -> None:
    """Add the video commands to ``app`` and its ``corpus`` group."""

    @corpus.command("maze")
    def corpus_maze(
        out: Path,
        train_episodes: Annotated[int, typer.Option("--train", help="training episodes")] = 200,
        test_episodes: Annotated[int, typer.Option("--test", help="test episodes")] = 20,
        length: Annotated[int, typer.Option(help="frames per episode")] = 100,
        size: Annotated[int, typer.Option(help="frame size (84 or 64)")] = 84,
        seed: Seed = 0,
        mazes: Annotated[int, typer.Option(help="number of seeded mazes (episode i walks maze i mod M)")] = 4,
        cells: Annotated[int, typer.Option(help="rooms per side of each maze")] = 6,
        explore: Annotated[float, typer.Option(help="probability of a random action at each step")] = 0.25,
    ) -> None:
        """Render first-person maze episodes (pure numpy, seeded, bit-exact) in the episode layout."""
        from vqspeech.video import commands

        commands.corpus_maze(out, train=train_episodes, test=test_episodes, length=length, size=size, seed=seed,
                             mazes=mazes, cells=cells, explore=explore)

    @corpus.command("vizdoom")
    def corpus_vizdoom(
        out: Path,
        train_episodes: Annotated[int, typer.Option("--train", help="training episodes")] = 100,
        test_episodes: Annotated[int, typer.Option("--test", help="test episodes")] = 10,
        length: Annotated[int, typer.Option(help="frames per episode")] = 100,
        size: Annotated[int, typer.Option(help="frame size")] = 84,
        seed: Seed = 0,
        scenario: Annotated[str, typer.Option(help="ViZDoom scenario")] = "my_way_home",
    ) -> None:
        """Record first-person ViZDoom/Freedoom episodes (extra `video`) in the episode layout."""
        from vqspeech.video import commands

        commands.corpus_vizdoom(out, train=train_episodes, test=test_episodes, length=length, size=size,
                                seed=seed, scenario=scenario)
