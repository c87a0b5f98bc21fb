"""ABX of phoneme-eval: known answers (separable items -> 0, labels unrelated to the frames -> ~50 %), DTW by
hand, triphone cutting, the averaging order and the sampling caps.  The command's report for codes and the baseline
is tested in test_phoneme_eval.py."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vqspeech.speech.eval.abx import Item, abx_error, abx_report, dtw_distance, frame_costs, triphone_items

CENTRES = ["AA", "IY", "UW", "S", "M"]
CONTEXTS = [("B", "T"), ("K", "D")]


def _items(feature, speakers=("s1", "s2", "s3"), tokens=3, seed=0) -> list[Item]:
    rng = np.random.default_rng(seed)
    return [Item(feature(c, rng), c, ctx, spk) for spk in speakers for ctx in CONTEXTS for c in CENTRES
            for _ in range(tokens)]


def _one_hot(c: str, rng: np.random.Generator) -> np.ndarray:
    v = np.zeros((int(rng.integers(3, 7)), len(CENTRES)))
    v[:, CENTRES.index(c)] = 1.0
    return v


def test_identical_items_of_a_category_give_zero_error() -> None:
    items = _items(_one_hot)
    for across in (False, True):
        r = abx_error(items, "angular", across=across)
        assert r["error"] == 0.0 and r["pairs"] == len(CENTRES) * (len(CENTRES) - 1) and r["triples"] > 100


def test_frames_unrelated_to_the_labels_give_about_half() -> None:
    items = _items(lambda c, rng: rng.normal(size=(int(rng.integers(3, 7)), 8)), tokens=4)
    shuffled = [Item(it.frames, random.Random(i).choice(CENTRES), it.context, it.speaker) for i, it in
                enumerate(items)]
    for data in (items, shuffled):
        r = abx_report(data, "angular", seed=1)
        assert 0.4 < r["within"] < 0.6 and 0.4 < r["across"] < 0.6


def test_codes_equal_to_phones_are_perfect_and_shuffled_codes_are_chance() -> None:
    ids = _items(lambda c, rng: np.full(int(rng.integers(2, 6)), CENTRES.index(c)))
    assert abx_report(ids, "equal")["within"] == 0.0
    noise = _items(lambda c, rng: rng.integers(0, 5, int(rng.integers(2, 6))), tokens=4)
    assert 0.38 < abx_report(noise, "equal", seed=2)["across"] < 0.62


def test_speaker_dependent_features_fail_across_but_not_within() -> None:
    """Features that code the phone differently per speaker: perfect within a speaker, poor across."""
    perm = {"s1": [0, 1, 2, 3, 4], "s2": [1, 2, 3, 4, 0], "s3": [2, 3, 4, 0, 1]}
    items = []
    for spk, p in perm.items():
        for ctx in CONTEXTS:
            for c in CENTRES:
                for _ in range(3):
                    v = np.zeros((4, 5))
                    v[:, p[CENTRES.index(c)]] = 1
                    items.append(Item(v, c, ctx, spk))
    r = abx_report(items, "angular")
    assert r["within"] == 0.0 and r["across"] > 0.4


def test_dtw_by_hand() -> None:
    a, b = np.array([0, 1, 1, 2]), np.array([0, 1, 2])
    assert dtw_distance(a, b, "equal") == 0.0  # the repeated 1 is absorbed by the warp
    assert dtw_distance(np.array([0, 0]), np.array([1, 1]), "equal") == 1.0
    # the cheapest path over [[0, 1], [1, 0]] is the diagonal: (0 + 0) / 2 steps
    assert dtw_distance(np.array([3, 4]), np.array([3, 4]), "equal") == 0.0
    x = np.array([[1.0, 0.0]])
    y = np.array([[0.0, 1.0]])
    assert frame_costs(x, y, "angular")[0, 0] == pytest.approx(0.5)  # 90 degrees / 180
    assert dtw_distance(x, -x, "angular") == pytest.approx(1.0)


def test_triphones_are_cut_at_phone_boundaries() -> None:
    labels = ["sil", "sil", "B", "AA", "AA", "T", "sil"]
    feats = np.arange(len(labels))
    items = triphone_items([feats], [labels], ["s"])
    assert [(it.context, it.centre) for it in items] == [(("sil", "AA"), "B"), (("B", "T"), "AA"),
                                                         (("AA", "sil"), "T")]
    assert items[1].frames.tolist() == [2, 3, 4, 5]  # B + AA AA + T


def test_errors_average_per_cell_then_per_pair_then_over_pairs() -> None:
    """Context c1 separates AA from IY (error 0, 5 triples per ordered pair after the cap); context c2 has two AA
    tokens and one IY, so only (AA, IY) has a c2 cell: 2 triples, one error and one tie (0.75).  Per cell, then
    per pair, then over pairs: ((0 + 0.75) / 2 + 0) / 2 = 0.1875; a flat mean over the 12 triples would be 0.125."""
    c1, c2 = ("B", "T"), ("K", "D")
    items = [Item(np.array([0]), "AA", c1, "s") for _ in range(3)] + [Item(np.array([5]), "IY", c1, "s")
                                                                       for _ in range(3)]
    items += [Item(np.array([0]), "AA", c2, "s"), Item(np.array([1]), "AA", c2, "s"),
              Item(np.array([1]), "IY", c2, "s")]
    r = abx_error(items, "equal", across=False, max_per_cell=5)
    assert r == {"error": pytest.approx(0.1875), "pairs": 2, "cells": 3, "triples": 12}


def test_sampling_caps_and_seed() -> None:
    items = _items(lambda c, rng: rng.normal(size=(int(rng.integers(3, 7)), 8)), tokens=4)
    full = abx_error(items, "angular", across=True, max_per_cell=10_000, max_cells=10_000)
    capped = abx_error(items, "angular", across=True, max_per_cell=3, max_cells=50)
    assert capped["cells"] == 50 and capped["triples"] == 150 and full["cells"] > 50 and full["triples"] > 150
    again = abx_error(items, "angular", across=True, max_per_cell=3, max_cells=50)
    other = abx_error(items, "angular", across=True, max_per_cell=3, max_cells=50, seed=7)
    assert again == capped and other["error"] != capped["error"]
