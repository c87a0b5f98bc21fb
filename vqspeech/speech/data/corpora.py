"""Corpora behind one utterance record: VCTK 0.80 / 0.92 (detected), LibriSpeech, the generic
``ROOT/<speaker>/<utt>.<ext>`` layout, and JSONL/CSV/TSV manifests; seeded train/validation splits."""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from vqspeech.errors import InputError
from vqspeech.speech.data.audio import AUDIO_SUFFIXES

LAYOUTS = ("auto", "vctk", "librispeech", "generic", "manifest")
MANIFEST_SUFFIXES = (".jsonl", ".csv", ".tsv")


def utterance_id(speaker: str, stem: str) -> str:
    """The one utterance id rule of every command: ``<speaker>_<stem>``, or ``stem`` when it already starts with
    the speaker (VCTK ``p225_001``, LibriSpeech ``19-198-0001``)."""
    return stem if stem.startswith(speaker) else f"{speaker}_{stem}"


@dataclass
class Utterance:
    """One recording: a unique ``id``, its audio ``path``, ``speaker`` id, and optional text and TextGrid."""

    id: str
    path: str
    speaker: str
    text: str | None = None
    alignment: str | None = None


def discover(root: str | Path, layout: str = "auto", mic: str = "mic1") -> list[Utterance]:
    """List the utterances of a corpus, sorted by id.  ``layout`` is one of :data:`LAYOUTS`."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise InputError(f"data.layout: unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if not root.exists():
        raise InputError(f"{root}: no such corpus folder or manifest")
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "manifest":
        utts = read_manifest(root)
    elif layout == "vctk":
        utts = read_vctk(root, mic)
    elif layout == "librispeech":
        utts = read_librispeech(root)
    else:
        utts = read_generic(root)
    if not utts:
        raise InputError(f"{root}: no audio files found (layout {layout})")
    return sorted(utts, key=lambda u: u.id)


def detect_layout(root: Path) -> str:
    """Guess the layout of ``root``: manifest file, VCTK (0.80 or 0.92), LibriSpeech, else generic."""
    if root.is_file():
        if root.suffix.lower() in MANIFEST_SUFFIXES:
            return "manifest"
        raise InputError(f"{root}: a corpus is a folder or a .jsonl/.csv/.tsv manifest")
    if (root / "wav48").is_dir() or (root / "wav48_silence_trimmed").is_dir():
        return "vctk"
    if any(re.fullmatch(r"\d+-\d+\.trans\.txt", p.name)
           for pattern in ("*.trans.txt", "*/*.trans.txt", "*/*/*.trans.txt", "*/*/*/*.trans.txt")
           for p in root.glob(pattern)):  # the corpus root, a subset, a speaker or a chapter folder
        return "librispeech"
    return "generic"


def read_vctk(root: Path, mic: str = "mic1") -> list[Utterance]:
    """VCTK 0.80 (``wav48/pNNN/pNNN_MMM.wav``) or 0.92 (``wav48_silence_trimmed/pNNN/pNNN_MMM_mic{1,2}.flac``).

    Text comes from ``txt/pNNN/pNNN_MMM.txt`` when present (p315 has none).  In 0.92 a speaker without the
    requested mic (p280 has no mic2) falls back to the other mic; files missing from a speaker (p362) are
    simply not listed.
    """
    if mic not in ("mic1", "mic2"):
        raise InputError(f"data.mic: must be 'mic1' or 'mic2', not {mic!r}")
    utts = []
    if (root / "wav48_silence_trimmed").is_dir():
        other = "mic2" if mic == "mic1" else "mic1"
        for spk_dir in sorted(p for p in (root / "wav48_silence_trimmed").iterdir() if p.is_dir()):
            by_utt: dict[str, dict[str, Path]] = {}
            for f in spk_dir.glob("*.flac"):
                m = re.fullmatch(r"(p\w+?_\d+)_(mic[12])", f.stem)
                if m:
                    by_utt.setdefault(m.group(1), {})[m.group(2)] = f
            for uid, mics in sorted(by_utt.items()):
                path = mics.get(mic) or mics.get(other)
                utts.append(Utterance(utterance_id(spk_dir.name, uid), str(path), spk_dir.name,
                                      _text(root / "txt" / spk_dir.name / f"{uid}.txt")))
    else:
        for f in sorted((root / "wav48").glob("*/*.wav")):
            spk = f.parent.name
            utts.append(Utterance(utterance_id(spk, f.stem), str(f), spk, _text(root / "txt" / spk / f"{f.stem}.txt")))
    return utts


def read_librispeech(root: Path) -> list[Utterance]:
    """LibriSpeech ``[<subset>/]<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac`` with ``.trans.txt``."""
    utts = []
    for trans in sorted(root.rglob("*.trans.txt")):
        texts = {}
        for line in trans.read_text(encoding="utf-8").splitlines():
            if line.strip():
                uid, _, text = line.partition(" ")
                texts[uid] = text.strip()
        for f in sorted(trans.parent.glob("*.flac")):
            speaker = f.stem.split("-")[0]
            grid = f.with_suffix(".TextGrid")
            utts.append(Utterance(utterance_id(speaker, f.stem), str(f), speaker, texts.get(f.stem),
                                  str(grid) if grid.exists() else None))
    return utts


def read_generic(root: Path) -> list[Utterance]:
    """``ROOT/<speaker>/<utterance>.{wav,flac,ogg}`` with optional ``.TextGrid`` and ``.txt`` beside."""
    utts = []
    for spk_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(spk_dir.rglob("*")):
            if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file():
                grid = f.with_suffix(".TextGrid")
                rel = f.relative_to(spk_dir).with_suffix("").as_posix().replace("/", "_")
                utts.append(Utterance(utterance_id(spk_dir.name, rel), str(f), spk_dir.name,
                                      _text(f.with_suffix(".txt")), str(grid) if grid.exists() else None))
    for f in sorted(root.iterdir()):  # loose files: the folder is the speaker, as for a single file argument
        if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES:
            utts.append(loose_file(f))
    return utts


def loose_file(f: Path) -> Utterance:
    """A single audio file given on its own: its folder names the speaker, except for the names of the known
    corpora (LibriSpeech ``S-C-U``: speaker ``S``; VCTK 0.92 ``pNNN_MMM_micK``: id ``pNNN_MMM``), so a file gets
    the id the corpus reader gives it."""
    grid = f.with_suffix(".TextGrid")
    stem = f.stem
    if m := re.fullmatch(r"(\d+)-\d+-\d+", stem):
        speaker = m.group(1)
    elif m := re.fullmatch(r"((p\w+?)_\d+)_mic[12]", stem):
        stem, speaker = m.group(1), m.group(2)
    else:
        speaker = f.resolve().parent.name or "unknown"
    return Utterance(utterance_id(speaker, stem), str(f), speaker, _text(f.with_suffix(".txt")),
                     str(grid) if grid.exists() else None)


def read_manifest(path: Path) -> list[Utterance]:
    """JSONL/CSV/TSV rows with ``path`` and optional ``speaker``, ``id``, ``text``, ``alignment``.

    Relative paths are relative to the manifest's folder.  A row without ``path`` is an error naming the line.
    """
    rows: list[dict] = []
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    elif suffix in (".csv", ".tsv"):
        rows = list(csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
    else:
        raise InputError(f"{path}: a manifest must end in .jsonl, .csv or .tsv")
    utts, seen = [], set()
    for n, row in enumerate(rows, 1):
        if not row.get("path"):
            raise InputError(f"{path}: row {n} has no 'path'")
        p = Path(row["path"])
        p = p if p.is_absolute() else path.parent / p
        speaker = str(row.get("speaker") or "unknown")
        uid = str(row.get("id") or utterance_id(speaker, p.stem))
        if uid in seen:
            raise InputError(f"{path}: id {uid!r} appears twice")
        seen.add(uid)
        utts.append(Utterance(uid, str(p), speaker, row.get("text"), row.get("alignment")))
    return utts


def _text(p: Path) -> str | None:
    return p.read_text(encoding="utf-8").strip() if p.exists() else None


def split_utterances(
    utts: list[Utterance], valid_fraction: float = 0.05, seed: int = 0, unseen_speakers: list[str] | None = None
) -> dict[str, list[str]]:
    """Seeded split.  Seen speakers: ``valid_fraction`` of each speaker's utterances (at least one when the
    speaker has two or more) go to ``valid``; ``unseen_speakers`` go wholly to ``test_unseen``.
    Returns ``{"train": ids, "valid": ids, "test_unseen": ids}``."""
    rng = random.Random(seed)
    unseen = set(unseen_speakers or [])
    by_spk: dict[str, list[str]] = {}
    for u in utts:
        by_spk.setdefault(u.speaker, []).append(u.id)
    split: dict[str, list[str]] = {"train": [], "valid": [], "test_unseen": []}
    for spk in sorted(by_spk):
        ids = sorted(by_spk[spk])
        if spk in unseen:
            split["test_unseen"] += ids
            continue
        rng.shuffle(ids)
        n_valid = round(len(ids) * valid_fraction) if valid_fraction > 0 else 0
        if valid_fraction > 0 and len(ids) >= 2:
            n_valid = max(1, n_valid)
        split["valid"] += sorted(ids[:n_valid])
        split["train"] += sorted(ids[n_valid:])
    return split


def write_split(path: str | Path, split: dict[str, list[str]]) -> None:
    """Save a split as JSON (atomically: every rank may write the same file) so that a run can be reproduced."""
    from vqspeech.io.atomic import write_json

    write_json(Path(path), split)


def expand_inputs(inputs: list[str | Path]) -> list[Utterance]:
    """Command inputs -> utterances: files (their folder is the speaker), folders (any layout :func:`discover`
    knows) and manifests, with the same ids :func:`discover` gives.  Duplicate ids are an error."""
    utts: list[Utterance] = []
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise InputError(f"{p}: no such file or directory")
        if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES:
            utts += read_manifest(p)
        elif p.is_file():
            utts.append(loose_file(p))
        else:
            try:
                utts += discover(p)
            except InputError:
                raise InputError(f"{p}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in this directory") from None
    ids: dict[str, str] = {}
    for u in utts:
        if u.id in ids and ids[u.id] != u.path:
            raise InputError(f"two inputs share the id {u.id!r} ({ids[u.id]} and {u.path}); use a manifest with ids")
        ids[u.id] = u.path
    return sorted({u.id: u for u in utts}.values(), key=lambda u: u.id)


def index_textgrids(root: str | Path) -> tuple[dict[str, Path], set[str]]:
    """TextGrids under ``root`` by utterance id.  A grid at ``root/<speaker>/.../<stem>.TextGrid`` gets the id of
    every folder on its way that could be its speaker (``<speaker>_<stem>``, or ``stem`` when it starts with the
    speaker), so generic, VCTK and LibriSpeech folders all match; a grid directly in ``root`` gets ``stem`` and
    ``<root name>_<stem>``.  Returns ``(id -> grid, ids claimed by two different grids)``."""
    root = Path(root)
    found: dict[str, Path] = {}
    clashes: set[str] = set()
    for g in sorted(root.rglob("*.TextGrid")):
        parts = g.relative_to(root).parts[:-1]
        if parts:  # any folder on the way as the speaker, and the generic rule for nested folders
            ids = {utterance_id(d, g.stem) for d in parts} | {utterance_id(parts[0], "_".join((*parts[1:], g.stem)))}
        else:
            ids = {g.stem, utterance_id(root.resolve().name, g.stem)}
        for uid in ids:
            if uid in found and found[uid] != g:
                clashes.add(uid)
            found.setdefault(uid, g)
    return found, clashes
