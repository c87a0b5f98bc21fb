"""The targets table's rows (:mod:`vqspeech.speech.eval.targets`): each target with its goal, what was measured and
whether it is met; a missing measurement is "not measured" and "–", never met or failed."""

from __future__ import annotations

import math

from vqspeech.speech.eval.targets import NOT_MEASURED, Targets, demo_targets, met, pct, value


def test_rows_say_yes_no_or_not_measured() -> None:
    t = Targets()
    t.add("a", "≥ 80 %", 0.8, True)
    t.add("b", "≥ 90 %", 0.4375, False)
    t.add("c", "≥ 0.75", None, None, "not measured")
    t.add("d", "≤ 1.5×", 1.2, True, "1.20×")
    assert t.rows == [("a", "≥ 80 %", "80 %", "yes"), ("b", "≥ 90 %", "44 %", "no"),
                      ("c", "≥ 0.75", "not measured", "–"), ("d", "≤ 1.5×", "1.20×", "yes")]
    assert pct(None) == NOT_MEASURED == "not measured" and pct(0.5) == "50 %"
    assert (met(None), met(True), met(False)) == ("–", "yes", "no")
    assert value(None) is None and value(math.nan) is None and value("0.5") is None and value(1) == 1.0


def _met(rows: list[tuple[str, str, str, str]]) -> list[str]:
    return [r[3] for r in rows]


def test_demo_targets_with_nothing_measured() -> None:
    rows = demo_targets(None, None)
    assert len(rows) == 7 and all(r[2] == NOT_MEASURED and r[3] == "–" for r in rows)
    assert [r[1] for r in rows] == ["≥ 80 %", "≥ 90 %", "≥ 0.75", "≤ 1.5×", "> baseline", "> baseline", "< baseline"]


def test_demo_targets_on_the_boundaries_and_against_the_baseline() -> None:
    last = {"conversion_speaker": {"identified_as_target": 0.8, "closer_to_target": 0.9}, "stoi": 0.75,
            "wer_original": 0.4, "wer_reconstruction": 0.6}
    pe = {"accuracy_heldout": 0.5, "pnmi": 0.5, "abx": {"equal": {"across": 0.3}},
          "baseline": {"accuracy_heldout": 0.5, "pnmi": 0.4, "abx": {"angular": {"across": 0.1},
                                                                     "equal": {"across": 0.35}}}}
    rows = demo_targets(last, pe)
    # the goals are reached at the bound; the codes must beat the baseline, a tie is not met
    assert _met(rows) == ["yes", "yes", "yes", "yes", "no", "yes", "yes"]
    assert rows[2][2] == "0.750" and rows[3][2] == "60 % vs 40 % (1.50×)"
    assert rows[4][2] == "50.0 % vs 50.0 %" and rows[5][2] == "0.500 vs 0.400"
    # the codes have no embedding ABX: compared on code ids with the k-means ids, not with the centroids
    assert rows[6][2] == "30.0 % vs 35.0 % (code ids)"


def test_demo_targets_not_met_and_missing_measurements() -> None:
    last = {"conversion_speaker": {"identified_as_target": 0.79, "closer_to_target": None}, "stoi": 0.74,
            "wer_original": 0.0, "wer_reconstruction": 0.6}
    pe = {"accuracy_heldout": 0.4, "pnmi": 0.5, "abx": {"angular": {"across": 0.2}, "equal": {"across": math.nan}},
          "baseline": {"accuracy_heldout": 0.5, "abx": {"angular": {"across": 0.15}}}}
    rows = demo_targets(last, pe)
    assert _met(rows) == ["no", "–", "no", "–", "no", "–", "no"]
    assert rows[1][2] == rows[3][2] == rows[5][2] == NOT_MEASURED  # null, a perfect original, no baseline PNMI
    assert rows[6][2] == "20.0 % vs 15.0 % (embeddings vs centroids)"
    # a phoneme-eval from before ABX: ABX not measured, the rest judged
    del pe["abx"]
    assert _met(demo_targets(last, pe))[4:] == ["no", "–", "–"]
