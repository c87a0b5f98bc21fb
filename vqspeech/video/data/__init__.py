"""Video data: the episode layout (and DMLab-40k), the maze renderer and corpus, the ViZDoom recorder."""

from __future__ import annotations

from vqspeech.video.data.episodes import (
    Episode,
    EpisodeMeta,
    EpisodeSet,
    FrameStore,
    list_episodes,
    load_store,
    parse_actions,
    read_episode,
    read_meta,
    write_episode,
    write_meta,
)

__all__ = ["Episode", "EpisodeMeta", "EpisodeSet", "FrameStore", "list_episodes", "load_store", "parse_actions",
           "read_episode", "read_meta", "write_episode", "write_meta"]
