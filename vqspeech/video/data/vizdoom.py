"""``vqspeech corpus vizdoom OUT``: first-person ViZDoom episodes (Freedoom levels shipped in the ``vizdoom``
wheel; the ``video`` extra), headless and deterministic (``set_seed`` + the same actions), in the episode layout of
:mod:`.episodes` with the maze's action set.

The scripted agent holds each action for a few steps (mostly forward, often turning, sometimes strafing or
backing up) and turns away when walking forward stops changing the view (a wall).  Frames are the centre square of
the 160x120 screen, resized to ``size x size``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech import progress
from vqspeech.errors import InputError
from vqspeech.video.data.episodes import EpisodeMeta, write_episode, write_meta
from vqspeech.video.data.maze import ACTIONS

SCENARIOS = ("my_way_home", "freedoom1", "health_gathering", "deathmatch")
FRAME_SKIP = 4


def _game(scenario: str, seed: int) -> Any:
    import vizdoom as vzd

    if scenario not in SCENARIOS:
        raise InputError(f"--scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}")
    game = vzd.DoomGame()
    game.load_config(os.path.join(vzd.scenarios_path, f"{scenario}.cfg"))
    # ViZDoom writes its settings file into the working directory unless told otherwise.
    game.set_doom_config_path(os.path.join(tempfile.gettempdir(), "vqspeech_vizdoom.ini"))
    game.set_window_visible(False)
    game.set_sound_enabled(False)
    game.set_screen_resolution(vzd.ScreenResolution.RES_160X120)
    game.set_screen_format(vzd.ScreenFormat.RGB24)
    game.set_render_hud(False)
    game.set_render_crosshair(False)
    game.set_render_messages(False)
    game.set_available_buttons([vzd.Button.MOVE_FORWARD, vzd.Button.MOVE_BACKWARD, vzd.Button.TURN_LEFT,
                                vzd.Button.TURN_RIGHT, vzd.Button.MOVE_LEFT, vzd.Button.MOVE_RIGHT])
    game.set_episode_timeout(0)
    game.set_mode(vzd.Mode.PLAYER)
    game.set_seed(int(seed) % (2**31))
    game.init()
    return game


# ACTIONS order: noop, forward, back, left, right, strafe_left, strafe_right -> button vectors.
_BUTTONS = [[0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]]
_PREFS = np.array([0.04, 0.5, 0.06, 0.14, 0.14, 0.06, 0.06])


def _frame(game: Any, size: int) -> np.ndarray:
    from PIL import Image

    buf = np.asarray(game.get_state().screen_buffer)  # [120, 160, 3]
    h, w = buf.shape[:2]
    x0 = (w - h) // 2
    return np.asarray(Image.fromarray(np.ascontiguousarray(buf[:, x0 : x0 + h])).resize(
        (size, size), Image.Resampling.BILINEAR), np.uint8)


def record_vizdoom_episode(seed: int, length: int, size: int = 84, scenario: str = "my_way_home"
                           ) -> tuple[np.ndarray, np.ndarray]:
    """One episode ``(video uint8 [length, size, size, 3], actions int64 [length])``; ``actions[t]`` follows
    frame ``t``.  A level that ends early is restarted (same seed stream), so every episode has ``length`` frames."""
    game = _game(scenario, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    try:
        game.new_episode()
        video = np.empty((length, size, size, 3), np.uint8)
        actions = np.empty(length, np.int64)
        action, hold = 1, 0
        for t in range(length):
            if game.is_episode_finished():
                game.new_episode()
            video[t] = _frame(game, size)
            stuck = t > 0 and actions[t - 1] == 1 and np.array_equal(video[t], video[t - 1])
            if stuck:
                action, hold = int(rng.choice([3, 4])), int(rng.integers(3, 8))
            elif hold <= 0:
                action, hold = int(rng.choice(len(ACTIONS), p=_PREFS)), int(rng.integers(1, 8))
            actions[t] = action
            hold -= 1
            game.make_action(_BUTTONS[action], FRAME_SKIP)
        return video, actions
    finally:
        game.close()


def build_vizdoom_corpus(out: str | Path, *, train: int = 100, test: int = 10, length: int = 100, size: int = 84,
                         seed: int = 0, scenario: str = "my_way_home") -> dict[str, Any]:
    """Record ``train`` + ``test`` episodes to ``out`` (existing files are kept).  Returns counts and frames/s."""
    from vqspeech.video.data.corpus import episode_seed

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if size < 8 or size % 2:
        raise InputError(f"--size must be an even number >= 8, not {size}")
    out.mkdir(parents=True, exist_ok=True)
    write_meta(out, EpisodeMeta(list(ACTIONS), size, "vizdoom", {"scenario": scenario, "seed": seed,
                                                                  "frame_skip": FRAME_SKIP, "length": length}))
    frames, t0 = 0, time.time()
    for split, count in (("train", train), ("test", test)):
        for i in range(count):
            path = out / split / f"{i // 100:03d}" / f"ep{i:05d}.npz"
            if not path.exists():
                video, actions = record_vizdoom_episode(episode_seed(seed, split, i), length, size, scenario)
                write_episode(path, video, actions)
                frames += length
    dt = time.time() - t0
    fps = frames / dt if frames and dt > 0 else 0.0
    progress.say(f"vizdoom corpus ({scenario}): {train} train + {test} test episodes of {length} frames at "
                 f"{size}x{size} in {out}" + (f" ({fps:.0f} frames/s)" if fps else ""))
    return {"train": train, "test": test, "frames_per_s": fps, "root": str(out)}


__all__ = ["record_vizdoom_episode", "build_vizdoom_corpus", "SCENARIOS"]
