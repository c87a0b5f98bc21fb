"""ZeroSpeech-style ABX discriminability of frame representations, from phone alignments.

Items are triphones cut at phone boundaries: the frames of three consecutive phone segments of one utterance
(the centre phone not silence).  A triple (A, B, X) has A and B in the same context with different centre phones,
and X another token of A's triphone; it is an error when ``d(A, X) > d(B, X)`` (a tie counts one half).  Distances
are dynamic time warping over frames, averaged along the path, with a frame distance suited to the features:
``angular`` (the angle between two vectors, divided by pi: code embeddings, MFCC frames) or ``equal`` (0 for the
same code id, 1 otherwise).  *Within speaker*: A, B and X from one speaker; *across speakers*: A and B from one
speaker, X from another.  Errors are averaged within each cell (centre pair, context, speakers), then over
contexts and speakers for each ordered centre pair, then over the pairs.  Triples are sampled with a seed."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np

Distance = Literal["angular", "equal"]
SIL = "sil"


@dataclass
class Item:
    """One triphone token: its frames ``[N, d]`` (or code ids ``[N]``), centre phone, context and speaker."""

    frames: np.ndarray
    centre: str
    context: tuple[str, str]
    speaker: str


def triphone_items(features: list[np.ndarray], labels: list[list[str]], speakers: list[str],
                   max_frames: int = 200) -> list[Item]:
    """Triphone items of utterances: ``features[i]: [F_i, d]`` (or ``[F_i]`` code ids) with the phone of each
    frame ``labels[i]`` and the utterance's speaker.  Items longer than ``max_frames`` frames are left out."""
    items = []
    for feats, labs, spk in zip(features, labels, speakers, strict=True):
        bounds = [0] + [t for t in range(1, len(labs)) if labs[t] != labs[t - 1]] + [len(labs)]
        segs = [(bounds[j], bounds[j + 1], labs[bounds[j]]) for j in range(len(bounds) - 1)]
        for j in range(1, len(segs) - 1):
            (a, _, left), (_, _, centre), (_, b, right) = segs[j - 1], segs[j], segs[j + 1]
            if centre != SIL and b - a <= max_frames:
                items.append(Item(feats[a:b], centre, (left, right), spk))
    return items


@numba.njit(cache=True)
def _dtw(cost: np.ndarray) -> float:
    """Mean frame cost along the cheapest monotone path from (0, 0) to (n-1, m-1) (steps right, down, diagonal);
    the mean divides by the number of steps of that path."""
    n, m = cost.shape
    acc = np.empty((n, m))
    steps = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            c = cost[i, j]
            if i == 0 and j == 0:
                acc[i, j], steps[i, j] = c, 1.0
                continue
            best, bs = np.inf, 0.0
            if i > 0 and acc[i - 1, j] < best:
                best, bs = acc[i - 1, j], steps[i - 1, j]
            if j > 0 and acc[i, j - 1] < best:
                best, bs = acc[i, j - 1], steps[i, j - 1]
            if i > 0 and j > 0 and acc[i - 1, j - 1] <= best:
                best, bs = acc[i - 1, j - 1], steps[i - 1, j - 1]
            acc[i, j], steps[i, j] = best + c, bs + 1.0
    return acc[n - 1, m - 1] / steps[n - 1, m - 1]


def frame_costs(a: np.ndarray, b: np.ndarray, distance: Distance) -> np.ndarray:
    """Frame-by-frame cost matrix ``[len(a), len(b)]``."""
    if distance == "equal":
        return (a[:, None] != b[None, :]).astype(np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.arccos(np.clip(a @ b.T, -1.0, 1.0)) / np.pi


def dtw_distance(a: np.ndarray, b: np.ndarray, distance: Distance) -> float:
    """DTW distance of two items' frames (``[N, d]`` vectors or ``[N]`` code ids)."""
    return float(_dtw(np.ascontiguousarray(frame_costs(a, b, distance), dtype=np.float64)))


def abx_error(items: list[Item], distance: Distance, *, across: bool, seed: int = 0, max_per_cell: int = 5,
              max_cells: int = 4000) -> dict[str, float | int]:
    """ABX error (0..1) of ``items``: ``{error, pairs, cells, triples}``.  ``across``: X from another speaker
    than A and B.  At most ``max_per_cell`` triples per cell and ``max_cells`` cells, chosen with ``seed``."""
    rng = random.Random(seed)
    groups: dict[tuple, list[int]] = defaultdict(list)  # (context, centre, speaker) -> item indices
    for i, it in enumerate(items):
        groups[(it.context, it.centre, it.speaker)].append(i)
    by_context: dict[tuple, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for ctx, centre, spk in groups:
        by_context[ctx][centre].add(spk)
    cells = []
    for ctx, centres in by_context.items():
        for ca in centres:
            for cb in centres:
                if ca == cb:
                    continue
                for s_ab in sorted(centres[ca] & centres[cb]):
                    xs = sorted(centres[ca] - {s_ab}) if across else [s_ab]
                    for s_x in xs:
                        cells.append((ctx, ca, cb, s_ab, s_x))
    rng.shuffle(cells)
    cells = cells[:max_cells]
    per_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    triples = 0
    cache: dict[tuple[int, int], float] = {}

    def d(i: int, j: int) -> float:
        key = (min(i, j), max(i, j))
        if key not in cache:
            cache[key] = dtw_distance(items[i].frames, items[j].frames, distance)
        return cache[key]

    for ctx, ca, cb, s_ab, s_x in cells:
        a_list, b_list, x_list = groups[(ctx, ca, s_ab)], groups[(ctx, cb, s_ab)], groups[(ctx, ca, s_x)]
        combos = [(a, b, x) for a in a_list for b in b_list for x in x_list if x != a]
        if not combos:
            continue
        picked = combos if len(combos) <= max_per_cell else rng.sample(combos, max_per_cell)
        errs = []
        for a, b, x in picked:
            dax, dbx = d(a, x), d(b, x)
            errs.append(1.0 if dax > dbx else 0.5 if dax == dbx else 0.0)
        per_pair[(ca, cb)].append(float(np.mean(errs)))
        triples += len(picked)
    if not per_pair:
        return {"error": float("nan"), "pairs": 0, "cells": 0, "triples": 0}
    return {"error": float(np.mean([np.mean(v) for v in per_pair.values()])), "pairs": len(per_pair),
            "cells": sum(len(v) for v in per_pair.values()), "triples": triples}


def abx_report(items: list[Item], distance: Distance, seed: int = 0) -> dict[str, float | int]:
    """Within- and across-speaker ABX error of ``items`` with one frame distance (fractions, 0..1)."""
    within = abx_error(items, distance, across=False, seed=seed)
    across = abx_error(items, distance, across=True, seed=seed)
    return {"distance": distance, "within": within["error"], "across": across["error"],
            "within_triples": within["triples"], "across_triples": across["triples"], "items": len(items)}


__all__ = ["Item", "abx_error", "abx_report", "dtw_distance", "frame_costs", "triphone_items"]
