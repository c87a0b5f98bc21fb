"""Praat TextGrids: reading the phone tier (folded to ARPAbet-39 + sil), writing tiers, and labelling code
frames with the phone at their centre time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vqspeech.errors import InputError
from vqspeech.speech.data.phones import fold_phone, is_phone


@dataclass(frozen=True)
class Interval:
    """One labelled span in seconds."""

    start: float
    end: float
    label: str


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_textgrid(path: str | Path, duration: float, tiers: dict[str, list[Interval]]) -> None:
    """Write interval tiers as a long-format TextGrid (deterministic bytes for the same input)."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {duration!r}",
             "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for n, (name, items) in enumerate(tiers.items(), 1):
        lines += [f"    item [{n}]:", '        class = "IntervalTier"', f"        name = {_q(name)}",
                  "        xmin = 0", f"        xmax = {duration!r}", f"        intervals: size = {len(items)}"]
        for i, iv in enumerate(items, 1):
            lines += [f"        intervals [{i}]:", f"            xmin = {iv.start!r}", f"            xmax = {iv.end!r}",
                      f"            text = {_q(iv.label)}"]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_tiers(path: str | Path) -> tuple[float, dict[str, list[Interval]]]:
    """Read every interval tier of a TextGrid (long or short format).  Returns ``(duration, tiers)``."""
    import textgrid

    p = Path(path)
    try:
        tg = textgrid.TextGrid.fromFile(str(p))
    except Exception as exc:
        raise InputError(f"{p}: not a readable TextGrid ({exc})") from None
    tiers: dict[str, list[Interval]] = {}
    for tier in tg.tiers:
        if isinstance(tier, textgrid.IntervalTier):
            tiers[tier.name] = [Interval(float(iv.minTime), float(iv.maxTime), iv.mark or "") for iv in tier]
    return float(tg.maxTime), tiers


def read_phones(path: str | Path) -> list[Interval]:
    """The phone tier of a TextGrid, folded: tier ``phones`` (MFA convention), else the tier whose labels
    are most often phones.  Raises :class:`InputError` when no tier looks like phones."""
    _, tiers = read_tiers(path)
    chosen = None
    if "phones" in tiers:
        chosen = tiers["phones"]
    else:
        best = 0.0
        for items in tiers.values():
            labels = [iv.label for iv in items if iv.label.strip()]
            score = sum(map(is_phone, labels)) / max(len(labels), 1)
            if score > best and score >= 0.9:
                best, chosen = score, items
    if chosen is None:
        raise InputError(f"{path}: no phone tier (expected a tier named 'phones')")
    out = []
    for iv in chosen:
        try:
            out.append(Interval(iv.start, iv.end, fold_phone(iv.label)))
        except KeyError:
            raise InputError(f"{path}: label {iv.label!r} at {iv.start:.3f}s is not a phone") from None
    return out


def frame_labels(
    phones: list[Interval], num_frames: int, hop_length: int, sample_rate: int, trim_offset: int = 0
) -> list[str | None]:
    """Phone at the centre of each code frame.

    Frame ``f`` covers samples ``[f*hop, (f+1)*hop)`` of the (possibly trimmed) audio; its centre in the
    original recording is ``((f + 0.5) * hop + trim_offset) / sample_rate`` seconds.  Frames outside every
    interval get ``None``.
    """
    starts = [iv.start for iv in phones]
    out: list[str | None] = []
    import bisect

    for f in range(num_frames):
        t = ((f + 0.5) * hop_length + trim_offset) / sample_rate
        i = bisect.bisect_right(starts, t) - 1
        out.append(phones[i].label if i >= 0 and t < phones[i].end + 1e-9 else None)
    return out
