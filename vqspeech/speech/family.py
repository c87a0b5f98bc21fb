"""The speech family's declaration for the registry: what speech data looks like and the options of its shared
verbs (``encode``, ``decode``, ``sample``, ``evaluate``).  Light: no model code is imported here."""

from __future__ import annotations

from pathlib import Path

from vqspeech.registry import Family, Option

_AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au")
_MANIFESTS = (".jsonl", ".csv", ".tsv")
_VQS_MAGIC = b"\x89VQS"


def _one_dimensional_codes(path: Path) -> bool:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return "codes" in z.files and z["codes"].ndim == 1
    except (OSError, ValueError):
        return False


def _holds_audio(root: Path, limit: int = 5000) -> bool:
    """Whether a breadth-first walk of ``root`` meets an audio file within its first ``limit`` entries (bounded,
    so an ImageNet tree is not listed whole before the image family is asked)."""
    queue, seen = [root], 0
    while queue and seen < limit:
        try:
            entries = sorted(queue.pop(0).iterdir())
        except OSError:
            continue
        for e in entries:
            seen += 1
            if e.suffix.lower() in _AUDIO and e.is_file():
                return True
            if e.is_dir():
                queue.append(e)
    return False


def detect(path: Path) -> bool:
    """Audio files, manifests, folders with audio (VCTK, LibriSpeech, ``ROOT/<speaker>/``), units files, ``.vqs``
    codec files and token ``.npz`` files of one code sequence."""
    suffix = path.suffix.lower()
    if path.is_dir():
        return _holds_audio(path)
    if suffix in _AUDIO + _MANIFESTS + (".vqs", ".txt"):
        return True
    if suffix == ".npz":
        return _one_dimensional_codes(path)
    with open(path, "rb") as f:
        return f.read(len(_VQS_MAGIC)) == _VQS_MAGIC


_PRIOR = Option(Path, "the latent prior of a .vqs codec file: drives its entropy coder (encode; default a unigram "
                      "table), or finds it if not at the recorded path (decode)")

FAMILY = Family(
    name="speech",
    detect=detect,
    options={
        "encode": {
            "batch_size": Option(int, "chunks per encoder batch (default 16)"),
            "trim": Option(bool, "trim leading/trailing silence (offset kept)"),
            "prior": _PRIOR,
        },
        "decode": {
            "speaker": Option(str, "speaker id (default: the one recorded with the tokens)"),
            "temperature": Option(float, "sampling temperature (0: argmax; default 1)"),
            "seed": Option(int, "random seed (same seed, same output; default 0)"),
            "batch_size": Option(int, "utterances generated together (default 16)"),
            "prior": _PRIOR,
        },
        "sample": {
            "speaker": Option(str, "speaker id (default: the model's first)"),
            "seconds": Option(float, "length of each sample (default 2)"),
            "temperature": Option(float, "sampling temperature (0: argmax; default 1)"),
        },
        "evaluate": {
            "max_items": Option(int, "held-out utterances to score (default 8)"),
            "unseen": Option(Path, "a corpus of speakers the model never heard, each utterance converted to every "
                                   "voice of the model"),
            "target": Option(str, "convert every held-out utterance to this voice (e.g. an enrolled one; default: "
                                  "a random other voice each)"),
        },
    },
)
