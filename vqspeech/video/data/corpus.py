"""``vqspeech corpus maze OUT``: a seeded maze corpus in the episode layout (see :mod:`.episodes`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech import progress
from vqspeech.errors import InputError
from vqspeech.video.data.episodes import EpisodeMeta, read_meta, write_episode, write_meta
from vqspeech.video.data.maze import ACTIONS, MazeWorld, episode_world, record_episode


def episode_seed(seed: int, split: str, index: int) -> int:
    """The walk seed of one episode (a function of the corpus seed, split and index only)."""
    return int(np.random.SeedSequence([seed, 0 if split == "train" else 1, index]).generate_state(1)[0])


def maze_seed(seed: int, index: int, mazes: int) -> int:
    """The maze of episode ``index`` (episode ``i`` walks maze ``i % mazes``, in both splits)."""
    return int(np.random.SeedSequence([seed, 99, index % mazes]).generate_state(1)[0])


def maze_world(root: str | Path, episode: str | Path, frame: int) -> MazeWorld:
    """The world of a corpus episode (``root/<split>/<shard>/ep<NNNNN>.npz`` written by :func:`build_maze_corpus`)
    as it was at ``frame``, replayed from the seeds in ``root/_meta.json``: the true continuation of any actions
    from there is ``world.step(a); world.render(size)``."""
    root, episode = Path(root), Path(episode)
    meta = read_meta(root)
    if meta.source != "maze" or "seed" not in meta.extra:
        raise InputError(f"{root}: not a maze corpus (its _meta.json names no maze seed)")
    try:
        split = episode.resolve().relative_to(root.resolve()).parts[0]
        index = int(episode.stem.removeprefix("ep"))
    except ValueError:
        raise InputError(f"{episode}: not an episode file of the maze corpus {root}") from None
    x = meta.extra
    return episode_world(episode_seed(x["seed"], split, index), frame, maze_seed=maze_seed(x["seed"], index,
                         x["mazes"]), cells=x["cells"], explore=x["explore"])


def build_maze_corpus(out: str | Path, *, train: int = 200, test: int = 20, length: int = 100, size: int = 84,
                      seed: int = 0, mazes: int = 4, cells: int = 6, explore: float = 0.25,
                      shard_size: int = 100) -> dict[str, Any]:
    """Write ``train`` and ``test`` episodes of ``length`` frames of ``size x size`` to ``out``.

    The episodes walk ``mazes`` seeded mazes of ``cells x cells`` rooms (episode ``i`` is in maze ``i % mazes``;
    held-out episodes are new walks in the same mazes, like a fixed DM-Lab level).  Existing episode files are
    kept (re-running completes an interrupted build).  Returns counts and frames/s.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if size < 8 or size % 2:
        raise InputError(f"--size must be an even number >= 8, not {size}")
    if length < 2 or train < 1 or test < 0 or mazes < 1 or cells < 2:
        raise InputError("corpus maze: need --length >= 2, --train >= 1, --test >= 0, --mazes >= 1, --cells >= 2")
    out.mkdir(parents=True, exist_ok=True)
    write_meta(out, EpisodeMeta(list(ACTIONS), size, "maze", {
        "seed": seed, "mazes": mazes, "cells": cells, "length": length, "explore": explore}))
    written = frames = 0
    t0 = time.time()
    total = train + test
    with progress.bar("maze") as update:
        done = 0
        for split, count in (("train", train), ("test", test)):
            for i in range(count):
                path = out / split / f"{i // shard_size:03d}" / f"ep{i:05d}.npz"
                if not path.exists():
                    maze = maze_seed(seed, i, mazes)
                    video, actions = record_episode(episode_seed(seed, split, i), length, size, maze_seed=maze,
                                                    cells=cells, explore=explore)
                    write_episode(path, video, actions)
                    written += 1
                    frames += length
                done += 1
                if update:
                    update(done, total)
    dt = time.time() - t0
    fps = frames / dt if dt > 0 and frames else 0.0
    progress.say(f"maze corpus: {train} train + {test} test episodes of {length} frames at {size}x{size} in {out}"
                 + (f" ({fps:.0f} frames/s)" if fps else ""))
    return {"train": train, "test": test, "written": written, "frames_per_s": fps, "root": str(out)}
