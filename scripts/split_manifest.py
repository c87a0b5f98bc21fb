"""Write a manifest (JSONL: path, speaker, id, text) of one side of a speech run's split, e.g. its training
utterances, so that a prior is trained on the codes of what the VQ-VAE trained on and never on its held-out
utterances (which the codec and the judges are measured on).

    python scripts/split_manifest.py training/voices voices_corpus --part train -o train.jsonl
    vqspeech encode train.jsonl -o training/voices/tokens -c training/voices/checkpoints/last.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from vqspeech.speech.data.corpora import discover

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="run folder with split.json")
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--part", default="train", help="train, valid or test_unseen")
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    split = json.loads((a.run / "split.json").read_text())
    if a.part not in split:
        raise SystemExit(f"error: {a.run / 'split.json'} has no {a.part!r} list ({', '.join(split)})")
    wanted = set(split[a.part])
    rows = [{"path": str(Path(u.path).resolve()), "speaker": u.speaker, "id": u.id, "text": u.text}
            for u in discover(a.corpus) if u.id in wanted]
    if len(rows) != len(wanted):
        raise SystemExit(f"error: {len(wanted) - len(rows)} of the {a.part} ids are not in {a.corpus}")
    a.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} {a.part} utterances -> {a.out}")


if __name__ == "__main__":
    main()
