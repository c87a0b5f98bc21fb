"""Judge `vqspeech enroll` on a real voice the model never heard: Debian's Italian prompts read by Menardi
(``asterisk-prompt-it-menardi-wav``; unpacked into OUT with ``apt-get download`` + ``dpkg -x``, not installed, so
that `vqspeech corpus prompts` elsewhere keeps finding the same four talents).

1. ``vqspeech corpus prompts`` on the unpacked folder; the prompts are shuffled (seeded) and split into the
   enrolment recordings (the first ``--enroll-seconds`` of them), the judge's reference for the new voice (the next
   ``--reference`` recordings, never seen by enroll) and the rest (unused).
2. ``vqspeech enroll menardi <enrolment recordings> -c MODEL``.
3. ``vqspeech evaluate --target menardi`` on the model's held-out utterances: every one converted to the enrolled
   voice, judged against the four voices and the reference recordings of the new one.

    python scripts/enroll_check.py [-c voices] [--out runs/enroll_check] [--enroll-seconds 90]

Writes ``OUT/evaluate.json`` (and ``.md``) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

PACKAGE = "asterisk-prompt-it-menardi-wav"
NAME = "menardi"


def sh(*cmd: str | Path) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True)


def unpack(out: Path) -> Path:
    """The sounds folder of the unpacked package (downloaded once)."""
    root = out / "package"
    sounds = root / "usr/share/asterisk/sounds"
    if not sounds.is_dir():
        (out / "deb").mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", PACKAGE], cwd=out / "deb", check=True)
        deb = next((out / "deb").glob(f"{PACKAGE}_*.deb"))
        sh("dpkg", "-x", deb, root)
    return sounds


def main() -> None:
    from vqspeech.io.runs import find_checkpoint
    from vqspeech.speech.config import SPEECH_VQVAE
    from vqspeech.speech.data.audio import audio_seconds
    from vqspeech.speech.data.corpora import discover

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--checkpoint", default="voices")
    ap.add_argument("--corpus", type=Path, default=Path("voices_corpus"), help="the model's own corpus")
    ap.add_argument("--out", type=Path, default=Path("runs/enroll_check"))
    ap.add_argument("--enroll-seconds", type=float, default=90.0)
    ap.add_argument("--reference", type=int, default=3,
                    help="recordings of the new voice the judge enrols (evaluate uses at most 3 per voice)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--max-items", type=int, default=16)
    a = ap.parse_args()
    vqs = [sys.executable, "-m", "vqspeech.cli"]
    ckpt = find_checkpoint(a.checkpoint, (SPEECH_VQVAE,))
    split_src = next((p for p in (ckpt.resolve().parents[1] / "split.json", ckpt.resolve().parent / "split.json")
                      if p.is_file()), None)
    if split_src is None:
        sys.exit(f"error: no split.json beside {ckpt}: the model's held-out utterances are unknown")
    new_corpus = a.out / "corpus"
    if not new_corpus.is_dir():
        sh(*vqs, "corpus", "prompts", new_corpus, "--sounds", unpack(a.out))
    utts = [u for u in discover(new_corpus) if u.speaker == NAME]
    random.Random(0).shuffle(utts)
    enrol, seconds = [], 0.0
    while utts and seconds < a.enroll_seconds:
        u = utts.pop()
        enrol.append(u)
        seconds += audio_seconds(u.path)
    reference = utts[: a.reference]
    if not enrol or not reference:
        sys.exit(f"error: {new_corpus} has too few recordings of {NAME} to enrol and to judge")
    # the judge's corpus: the model's corpus plus the reference recordings, and a split.json beside the enrolled
    # checkpoint that keeps the model's held-out utterances and adds the reference to the judge's training side
    judge_corpus = a.out / "judge_corpus"
    judge_corpus.mkdir(parents=True, exist_ok=True)
    for spk in sorted(p for p in a.corpus.iterdir() if p.is_dir()):
        link = judge_corpus / spk.name
        if not link.exists():
            link.symlink_to(spk.resolve(), target_is_directory=True)
    (judge_corpus / NAME).mkdir(exist_ok=True)
    for u in reference:
        link = judge_corpus / NAME / Path(u.path).name
        if not link.exists():
            link.symlink_to(Path(u.path).resolve())
    run = a.out / "run"
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    split = json.loads(split_src.read_text())
    split["train"] = list(split.get("train", [])) + [u.id for u in reference]
    (run / "split.json").write_text(json.dumps(split, indent=1))
    enrolled = run / "checkpoints" / f"{NAME}.safetensors"
    print(f"enrol {NAME}: {len(enrol)} recordings, {seconds:.0f} s; judge reference: {len(reference)} recordings",
          flush=True)
    sh(*vqs, "enroll", NAME, *[u.path for u in enrol], "-c", ckpt, "-o", enrolled, "--steps", str(a.steps))
    sh(*vqs, "evaluate", judge_corpus, "-c", enrolled, "--target", NAME, "--max-items", str(a.max_items),
       "--json", a.out / "evaluate.json", "--md", a.out / "evaluate.md")
    report = json.loads((a.out / "evaluate.json").read_text())
    report["enrolled"] = {"name": NAME, "recordings": len(enrol), "seconds": seconds, "steps": a.steps,
                          "reference_recordings": len(reference), "package": PACKAGE}
    (a.out / "evaluate.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
