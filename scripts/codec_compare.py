"""The speech codec against Codec2 on the same real utterances: ``.vqs`` files (whole files, header included) of
a speech VQ-VAE and its prior, and Codec2 (Debian's ``codec2``: ``c2enc``/``c2dec``) at each mode; bits/s, STOI
and narrow-band PESQ against the originals at 8 kHz.  Held-out utterances come from the model's run
(``split.json`` validation ids) or from a list of wav files.

    python scripts/codec_compare.py -c voices --prior voices [--corpus voices_corpus] [--max-items 16]
        [--json codec.json] [--md codec.md]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

MODES = ["700C", "1200", "1300", "1600", "2400", "3200"]


def held_out_files(checkpoint: Path, corpus: Path, max_items: int, seed: int) -> list[Path]:
    """Validation utterances of the checkpoint's run (its ``split.json``), else every file of ``corpus``."""
    from vqspeech.speech.data.corpora import discover
    from vqspeech.speech.eval.listening import held_out

    test, _, source = held_out(discover(corpus), checkpoint)
    print(f"held-out utterances from {source}")
    random.Random(seed).shuffle(test)
    return sorted(Path(u.path) for u in test[:max_items])


def codec2_round_trip(audio: np.ndarray, mode: str, work: Path) -> tuple[np.ndarray, int]:
    """``(decoded 8 kHz audio, bytes of the headerless bit file)`` of Codec2 ``mode``."""
    raw, bits, out = work / "in.raw", work / f"{mode}.bit", work / f"{mode}.raw"
    raw.write_bytes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    subprocess.run(["c2enc", mode, str(raw), str(bits)], check=True, capture_output=True)
    subprocess.run(["c2dec", mode, str(bits), str(out)], check=True, capture_output=True)
    return np.frombuffer(out.read_bytes(), "<i2").astype(np.float32) / 32768.0, bits.stat().st_size


def compare(files: list[Path], checkpoint: str, prior: str | None) -> dict[str, Any]:
    """Per-codec means of bits/s (whole files), STOI and narrow-band PESQ over ``files``."""
    from vqspeech import progress
    from vqspeech.speech import codec
    from vqspeech.speech.data.audio import load_audio
    from vqspeech.speech.eval.judges import pesq_nb, stoi

    progress.set_quiet(True)
    rows: dict[str, dict[str, list[float]]] = {}

    def add(name: str, ref: np.ndarray, dec: np.ndarray, nbytes: int) -> None:
        r = rows.setdefault(name, {"bits_per_s": [], "stoi": [], "pesq_nb": []})
        r["bits_per_s"].append(nbytes * 8 / (len(ref) / 8000))
        r["stoi"].append(stoi(ref, dec[: len(ref)], 8000))
        r["pesq_nb"].append(pesq_nb(ref, dec[: len(ref)], 8000))

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for f in files:
            ref = load_audio(f, 8000)
            sf_in = work / "in.wav"
            shutil.copy(f, sf_in)
            info = codec.encode_file(sf_in, work / "x.vqs", checkpoint=checkpoint, prior=prior)
            codec.decode_file(work / "x.vqs", work / "x.wav", prior=prior)
            add(".vqs", ref, load_audio(work / "x.wav", 8000), info["bytes"])
            for mode in MODES:
                dec, nbytes = codec2_round_trip(ref, mode, work)
                add(f"Codec2 {mode}", ref, dec, nbytes)
    return {name: {k: float(np.mean(v)) for k, v in r.items()} for name, r in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--checkpoint", default="voices", help="speech VQ-VAE (path or shipped model name)")
    ap.add_argument("--prior", default="voices", help="its prior (path or shipped model name; 'none': unigram)")
    ap.add_argument("--corpus", type=Path, default=Path("voices_corpus"))
    ap.add_argument("--max-items", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--md", type=Path)
    a = ap.parse_args()
    if not shutil.which("c2enc"):
        raise SystemExit("error: c2enc not found; install Codec2: apt-get install codec2")
    from vqspeech.io.runs import find_checkpoint
    from vqspeech.speech.config import SPEECH_PRIOR, SPEECH_VQVAE

    ckpt = find_checkpoint(a.checkpoint, (SPEECH_VQVAE,))
    prior = None if a.prior == "none" else str(find_checkpoint(a.prior, (SPEECH_PRIOR,)))
    files = held_out_files(ckpt, a.corpus, a.max_items, a.seed)
    result = {"utterances": [f.name for f in files], "codecs": compare(files, str(ckpt), prior)}
    lines = ["| codec | bits/s (whole files) | STOI | PESQ (narrow-band) |", "|---|---|---|---|"]
    for name, r in result["codecs"].items():
        lines.append(f"| {name} | {r['bits_per_s']:.0f} | {r['stoi']:.3f} | {r['pesq_nb']:.2f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    if a.md:
        a.md.write_text(table)


if __name__ == "__main__":
    main()
