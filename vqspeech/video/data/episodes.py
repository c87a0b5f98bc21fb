"""Episodes on disk: ``ROOT/{train,test}/<shard>/<episode>.npz`` with ``video`` uint8 ``[T, H, W, 3]`` and
``actions`` int ``[T]`` (+ optional ``rewards`` ``[T]``), and ``ROOT/_meta.json`` naming the action set.

This is a superset of the published DMLab-40k layout (one ``.npz`` per episode of ``[T, 64, 64, 3]`` frames under
``{train,test}/<shard>/``, no ``_meta.json``), which loads unchanged: without ``_meta.json`` the actions are named
by their index (``"0"``, ``"1"``, ...) and the frame size is read from the episodes.  Episode files may also sit
directly in the split folder.

``actions[t]`` is the action taken after frame ``t`` (it leads to frame ``t + 1``).  Every problem with a file is
an :class:`InputError` naming the file and the value.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.errors import InputError
from vqspeech.io.atomic import atomic_write, write_json

META = "_meta.json"
SPLITS = ("train", "test")


@dataclass
class EpisodeMeta:
    """``ROOT/_meta.json``: ``actions`` (names; index = action id), ``frame_size`` and where the data came from.
    ``actions`` is empty for a layout without ``_meta.json`` (DMLab-40k as published)."""

    actions: list[str] = field(default_factory=list)
    frame_size: int | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": "vqspeech-episodes", "version": 1, "actions": list(self.actions),
                "frame_size": self.frame_size, "source": self.source,
                "action_semantics": "actions[t] is taken after frame t and leads to frame t+1", **self.extra}


@dataclass
class Episode:
    """``video`` uint8 ``[T, H, W, 3]``, ``actions`` int64 ``[T]``, ``rewards`` float32 ``[T]`` or None."""

    id: str
    path: Path
    video: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.video)


def read_meta(root: str | Path) -> EpisodeMeta:
    """The corpus metadata (an empty :class:`EpisodeMeta` when there is no ``_meta.json``)."""
    p = Path(root) / META
    if not p.is_file():
        return EpisodeMeta()
    try:
        raw = json.loads(p.read_text())
    except ValueError:
        raise InputError(f"{p}: not valid JSON") from None
    actions = raw.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise InputError(f"{p}: 'actions' must be a list of action names")
    size = raw.get("frame_size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise InputError(f"{p}: 'frame_size' must be a positive integer, not {size!r}")
    extra = {k: v for k, v in raw.items() if k not in ("actions", "frame_size", "source", "format", "version",
                                                         "action_semantics")}
    return EpisodeMeta(actions, size, str(raw.get("source", "")), extra)


def write_meta(root: str | Path, meta: EpisodeMeta) -> None:
    write_json(Path(root) / META, meta.to_dict())


def write_episode(path: str | Path, video: np.ndarray, actions: np.ndarray, rewards: np.ndarray | None = None
                  ) -> Path:
    """Write one episode ``.npz`` atomically (uncompressed, so frames load fast)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"video": np.asarray(video, np.uint8), "actions": np.asarray(actions, np.int64)}
    if rewards is not None:
        arrays["rewards"] = np.asarray(rewards, np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(path, write)
    return path


def read_episode(path: str | Path, *, num_actions: int | None = None, frame_size: int | None = None,
                 episode_id: str | None = None) -> Episode:
    """Load and check one episode file.  ``num_actions``: actions must lie in ``[0, num_actions)``;
    ``frame_size``: frames must be ``frame_size x frame_size``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such episode file")
    try:
        with np.load(p, allow_pickle=False) as z:
            files = set(z.files)
            if "video" not in files or "actions" not in files:
                raise InputError(f"{p}: an episode needs 'video' and 'actions' arrays, found {sorted(files)}")
            video, actions = z["video"], z["actions"]
            rewards = z["rewards"] if "rewards" in files else None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{p}: not a readable episode .npz ({exc})") from None
    if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        raise InputError(f"{p}: 'video' must be uint8 [T, H, W, 3], got {video.dtype} {list(video.shape)}")
    if video.shape[1] != video.shape[2]:
        raise InputError(f"{p}: frames must be square, got {video.shape[1]}x{video.shape[2]}")
    if frame_size is not None and video.shape[1] != frame_size:
        raise InputError(f"{p}: frames are {video.shape[1]}x{video.shape[2]} but {frame_size}x{frame_size} are "
                         "expected")
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise InputError(f"{p}: 'actions' must be integers [T], got {actions.dtype} {list(actions.shape)}")
    if len(actions) != len(video):
        raise InputError(f"{p}: 'video' has {len(video)} frames but 'actions' has {len(actions)} entries; "
                         "they must match")
    if len(video) == 0:
        raise InputError(f"{p}: empty episode (0 frames)")
    actions = actions.astype(np.int64)
    if actions.min() < 0 or (num_actions is not None and actions.max() >= num_actions):
        bad = int(actions.min()) if actions.min() < 0 else int(actions.max())
        raise InputError(f"{p}: action {bad} out of range; the corpus has {num_actions} actions "
                         f"(0..{(num_actions or 1) - 1})")
    if rewards is not None and rewards.shape != (len(video),):
        raise InputError(f"{p}: 'rewards' must be [{len(video)}], got {list(rewards.shape)}")
    return Episode(episode_id or p.stem, p, video, actions, None if rewards is None else rewards.astype(np.float32))


def list_episodes(root: str | Path, split: str) -> list[Path]:
    """Episode files of a split: ``ROOT/<split>/**/*.npz`` (sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such episode folder")
    d = root / split
    if not d.is_dir():
        raise InputError(f"{root}: has no '{split}' folder (expected ROOT/{{train,test}}/<shard>/<episode>.npz)")
    return sorted(d.rglob("*.npz"))


class EpisodeSet:
    """The episodes of one split of a corpus.  ``actions``: the action names (DMLab-40k without ``_meta.json``:
    ``"0"``, ``"1"``, ...); ``load(i)`` reads and checks episode ``i``."""

    def __init__(self, root: str | Path, split: str = "train") -> None:
        self.root, self.split = Path(root), split
        self.meta = read_meta(self.root)
        self.paths = list_episodes(self.root, split)
        self._actions = list(self.meta.actions)

    def __len__(self) -> int:
        return len(self.paths)

    def episode_id(self, i: int) -> str:
        return self.paths[i].relative_to(self.root / self.split).with_suffix("").as_posix()

    @property
    def num_actions(self) -> int | None:
        return len(self._actions) or None

    def load(self, i: int) -> Episode:
        return read_episode(self.paths[i], num_actions=self.num_actions, frame_size=self.meta.frame_size,
                            episode_id=self.episode_id(i))

    def actions_names(self, max_action: int | None = None) -> list[str]:
        """The action names; a corpus without names gets ``"0".."max_action"``."""
        if self._actions:
            return list(self._actions)
        return [str(i) for i in range((max_action or 0) + 1)]


@dataclass
class FrameStore:
    """A split's episodes as one array: ``frames`` uint8 ``[N, H, W, 3]`` (memory-mapped from a cache file when
    built with one), ``actions`` int64 ``[N]``, ``starts`` int64 ``[E + 1]`` (episode ``e`` is frames
    ``starts[e]:starts[e+1]``), ``ids`` ``[E]`` and ``action_names``."""

    frames: np.ndarray
    actions: np.ndarray
    starts: np.ndarray
    ids: list[str]
    action_names: list[str]

    @property
    def num_episodes(self) -> int:
        return len(self.ids)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def window(self, episode: int, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``[length, H, W, 3]`` and actions ``[length]`` of one episode from ``start``."""
        s = int(self.starts[episode]) + start
        return np.asarray(self.frames[s : s + length]), self.actions[s : s + length]


def load_store(root: str | Path, split: str, *, cache_dir: str | Path | None = None,
               max_episodes: int = 0) -> FrameStore:
    """All episodes of ``split`` as a :class:`FrameStore`.  With ``cache_dir`` the frames go to one ``.npy`` file
    there (keyed by the split's file list) and are memory-mapped, so large corpora never sit whole in RAM."""
    import hashlib

    es = EpisodeSet(root, split)
    if max_episodes > 0:
        es.paths = es.paths[:max_episodes]
    if not es.paths:
        raise InputError(f"{Path(root) / split}: no episode .npz files")
    key = hashlib.sha256("\n".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in es.paths).encode())
    frames_path = index_path = None
    if cache_dir is not None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        frames_path = cache / f"frames-{split}-{key.hexdigest()[:16]}.npy"
        index_path = frames_path.with_suffix(".index.npz")
        if frames_path.exists() and index_path.exists():
            with np.load(index_path, allow_pickle=False) as z:
                starts, actions, ids = z["starts"], z["actions"], [str(s) for s in z["ids"]]
            frames = np.load(frames_path, mmap_mode="r")
            return FrameStore(frames, actions, starts, ids, es.actions_names(int(actions.max())))
    lengths, shape = [], None
    for i in range(len(es)):
        ep = es.load(i)
        if shape is None:
            shape = ep.video.shape[1:]
        elif ep.video.shape[1:] != shape:
            raise InputError(f"{ep.path}: frames are {ep.video.shape[1]}x{ep.video.shape[2]} but the corpus's "
                             f"first episode has {shape[0]}x{shape[1]}")
        lengths.append(len(ep))
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(starts[-1])
    if frames_path is not None:
        tmp = frames_path.with_name(frames_path.name + ".tmp")
        frames = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, *shape))
    else:
        frames = np.empty((n, *shape), np.uint8)
    actions = np.empty(n, np.int64)
    ids = []
    for i in range(len(es)):
        ep = es.load(i)
        frames[starts[i] : starts[i + 1]] = ep.video
        actions[starts[i] : starts[i + 1]] = ep.actions
        ids.append(ep.id)
    if frames_path is not None:
        frames.flush()
        del frames
        tmp.replace(frames_path)
        atomic_write(index_path, lambda t: _save_index(t, starts, actions, ids))
        frames = np.load(frames_path, mmap_mode="r")
    return FrameStore(frames, actions, starts, ids, es.actions_names(int(actions.max())))


def _save_index(tmp: Path, starts: np.ndarray, actions: np.ndarray, ids: list[str]) -> None:
    with open(tmp, "wb") as f:
        np.savez(f, starts=starts, actions=actions, ids=np.array(ids))


def parse_actions(spec: str, names: list[str]) -> np.ndarray:
    """``"forward,forward,right"`` (names or indices; ``name*3`` repeats) -> int64 ``[n]``.  An unknown name is an
    :class:`InputError` listing the known ones."""
    out: list[int] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        name, _, rep = item.partition("*")
        try:
            count = int(rep) if rep else 1
        except ValueError:
            raise InputError(f"--actions {item!r}: the repeat after '*' must be a number") from None
        if name in names:
            idx = names.index(name)
        elif name.isdigit() and int(name) < len(names):
            idx = int(name)
        else:
            raise InputError(f"--actions: unknown action {name!r}; known actions: {', '.join(names)}")
        out += [idx] * count
    if not out:
        raise InputError("--actions: no actions given")
    return np.asarray(out, np.int64)


__all__ = ["Episode", "EpisodeMeta", "EpisodeSet", "FrameStore", "read_episode", "write_episode", "read_meta",
           "write_meta", "list_episodes", "load_store", "parse_actions", "META", "SPLITS"]
