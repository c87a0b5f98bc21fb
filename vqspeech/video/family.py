"""The video family's declaration for the registry: what episode data looks like and the options of its shared
verbs.  Light: no model code is imported here."""

from __future__ import annotations

from pathlib import Path

from vqspeech.registry import Family, Option


def _episode_or_clip_codes(path: Path) -> bool:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return "actions" in z.files or "video" in z.files or ("codes" in z.files and z["codes"].ndim == 3)
    except (OSError, ValueError):
        return False


def detect(path: Path) -> bool:
    """An episode ``.npz`` (``video``, ``actions``), a token ``.npz`` of ``[T, h, w]`` codes, or a folder of
    episodes (``ROOT/<split>/<shard>/*.npz`` or one level less)."""
    if path.is_file():
        return path.suffix.lower() == ".npz" and _episode_or_clip_codes(path)
    return any(path.glob("*/*/*.npz")) or any(path.glob("*/*.npz"))


FAMILY = Family(
    name="video",
    detect=detect,
    options={
        "encode": {
            "batch_size": Option(int, "frames per encoder batch (default 64)"),
            "split": Option(str, "only this split (train/test) of an episode corpus"),
        },
        "decode": {
            "fps": Option(float, "GIF frames per second (default 8)"),
        },
        "sample": {
            "context": Option(Path, "episode .npz that starts the rollout"),
            "actions": Option(str, "one action per generated frame, e.g. forward*10"),
            "actions_from": Option(bool, "take the actions from the context episode"),
            "context_frames": Option(int, "frames of context (default 6)"),
            "steps": Option(int, "frames to generate (default: one per action)"),
            "start": Option(int, "the context episode's frame the context starts at (default 0)"),
            "fps": Option(float, "GIF frames per second (default 4)"),
            "temperature": Option(float, "sampling temperature (0, the default: argmax)"),
        },
        "evaluate": {
            "vqvae": Option(Path, "the prior's frame VQ-VAE (default: the one recorded in the prior)"),
            "out_dir": Option(Path, "strips of the first windows"),
            "max_items": Option(int, "held-out windows to score (default 16)", arg="max_windows"),
            "split": Option(str, "the episodes' split (default test)"),
            "context": Option(int, "context frames (default 6)"),
            "steps": Option(int, "predicted frames (default 10)"),
            "temperature": Option(float, "sampling temperature of the rollouts (0, the default: argmax)"),
        },
    },
)
