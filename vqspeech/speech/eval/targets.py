"""Targets and whether each is met: the ``(target, goal, measured, met)`` rows that open the demo report
(:func:`demo_targets`, shown by ``vqspeech report`` and ``scripts/report.py``) and the model card's table
(``scripts/model_card.py``).

``met`` is ``"yes"``, ``"no"``, or ``"–"`` when the measurement is missing (its ``measured`` cell then says
``"not measured"``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

Row = tuple[str, str, str, str]
"""``(target, goal, measured, met)``."""

HEADER = ["target", "goal", "measured", "met"]
NOT_MEASURED = "not measured"


def pct(v: float | None) -> str:
    """A fraction as a whole percentage (``0.4375`` -> ``"44 %"``); ``"not measured"`` for ``None``."""
    return NOT_MEASURED if v is None else f"{100 * v:.0f} %"


def met(ok: bool | None) -> str:
    """``"yes"`` / ``"no"``, or ``"–"`` when it could not be judged (``None``)."""
    return "–" if ok is None else "yes" if ok else "no"


def value(v: Any) -> float | None:
    """A measurement of a JSON report as a float; ``None`` when it is missing, ``null`` or NaN (not measured)."""
    if v is None or isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return None if math.isnan(v) else float(v)


class Targets:
    """The rows of a targets table, added one target at a time."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, name: str, goal: str, value: float | None, ok: bool | None, shown: str | None = None) -> None:
        """Add the target ``name`` with its ``goal``; ``shown``: the measured cell (default: ``value`` as a
        percentage, see :func:`pct`); ``ok``: whether it is met, ``None`` when not measured."""
        self.rows.append((name, goal, shown if shown is not None else pct(value), met(ok)))


def _abx_across(m: dict[str, Any], base: dict[str, Any]) -> tuple[float | None, float | None, str]:
    """Across-speaker ABX error of the codes and of the baseline, compared like with like: code embeddings against
    the k-means centroids (``angular``) where both were measured, else code ids against k-means ids (``equal``)."""
    for dist, what in (("angular", "embeddings vs centroids"), ("equal", "code ids")):
        a = value(((m.get("abx") or {}).get(dist) or {}).get("across"))
        b = value(((base.get("abx") or {}).get(dist) or {}).get("across"))
        if a is not None and b is not None:
            return a, b, what
    return None, None, ""


def _against(t: Targets, name: str, goal: str, a: float | None, b: float | None,
             better: Callable[[float, float], bool], show: Callable[[float], str], note: str = "") -> None:
    """A target of the codes against the baseline: met when ``better(a, b)``; shown as ``a vs b`` (+ ``note``)."""
    if a is None or b is None:
        t.add(name, goal, None, None, NOT_MEASURED)
    else:
        t.add(name, goal, None, better(a, b), f"{show(a)} vs {show(b)}{note}")


def demo_targets(last: dict[str, Any] | None, phonemes: dict[str, Any] | None) -> list[Row]:
    """The speech demo's targets (issue #23) from the last ``vqspeech evaluate`` JSON ``last`` (held-out
    utterances) and the ``phoneme-eval --baseline`` JSON ``phonemes``; either may be ``None`` or lack a measurement,
    which is then shown as not measured."""
    e, m = last or {}, phonemes or {}
    t = Targets()
    cs = e.get("conversion_speaker") or {}
    ident, closer = value(cs.get("identified_as_target")), value(cs.get("closer_to_target"))
    t.add("held-out conversions identified as the target", "≥ 80 %", ident, None if ident is None else ident >= 0.8)
    t.add("held-out conversions closer to the target than the source", "≥ 90 %", closer,
          None if closer is None else closer >= 0.9)
    stoi = value(e.get("stoi"))
    t.add("reconstruction STOI", "≥ 0.75", stoi, None if stoi is None else stoi >= 0.75,
          NOT_MEASURED if stoi is None else f"{stoi:.3f}")
    wo, wr = value(e.get("wer_original")), value(e.get("wer_reconstruction"))
    r = None if wo is None or wr is None or wo <= 0 else wr / wo
    t.add("reconstruction word error vs the originals'", "≤ 1.5×", r, None if r is None else r <= 1.5,
          NOT_MEASURED if r is None else f"{100 * wr:.0f} % vs {100 * wo:.0f} % ({r:.2f}×)")
    base = m.get("baseline") or {}
    name = "codes vs MFCC k-means (same K, same rate): "
    _against(t, name + "held-out phone accuracy", "> baseline", value(m.get("accuracy_heldout")),
             value(base.get("accuracy_heldout")), operator.gt, lambda v: f"{100 * v:.1f} %")
    _against(t, name + "PNMI", "> baseline", value(m.get("pnmi")), value(base.get("pnmi")), operator.gt,
             lambda v: f"{v:.3f}")
    abx, babx, what = _abx_across(m, base)
    _against(t, name + "ABX error across speakers", "< baseline", abx, babx, operator.lt,
             lambda v: f"{100 * v:.1f} %", f" ({what})")
    return t.rows


__all__ = ["HEADER", "NOT_MEASURED", "Row", "Targets", "demo_targets", "met", "pct", "value"]
