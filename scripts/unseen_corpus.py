"""A small corpus of real English speech by speakers no shipped model heard, for ``evaluate --unseen``, from
Debian packages (nothing else is downloaded; as root, missing packages are installed):

- ``pocketsphinx-testdata``: five sentences of a LibriVox reading (*Sense and Sensibility*) and five card names
  ("ten of clubs"), each with its transcript;
- ``alsa-utils``: the channel-test prompts ("front left", ...), transcripts written here;
- ``linphone-common``: its test call recording (no transcript: judged by the speaker judge only).

    python scripts/unseen_corpus.py [OUT]        (default unseen_corpus; generic layout OUT/<speaker>/<id>.wav)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

SPHINX = Path("/usr/share/pocketsphinx/test/data")
ALSA = Path("/usr/share/sounds/alsa")
LINPHONE = Path("/usr/share/sounds/linphone/hello8000.wav")
PACKAGES = {SPHINX: "pocketsphinx-testdata", ALSA: "alsa-utils", LINPHONE: "linphone-common"}


def sphinx_transcripts(path: Path) -> dict[str, str]:
    """``<s> words </s> (id)`` lines -> ``{id: words}``."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"\s*(?:<s>)?(?P<text>.*?)(?:</s>)?\s*\((?P<id>[^)]+)\)\s*", line)
        if m:
            out[m["id"]] = " ".join(m["text"].split())
    return out


def put(src: Path, out: Path, speaker: str, stem: str, text: str | None) -> None:
    dst = out / speaker / f"{speaker}_{stem}.wav"
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    if text:
        dst.with_suffix(".txt").write_text(text + "\n")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "unseen_corpus")
    missing = [pkg for path, pkg in PACKAGES.items() if not path.exists()]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, stdout=subprocess.DEVNULL)
    if not any(path.exists() for path in PACKAGES):
        sys.exit(f"error: none of {', '.join(map(str, PACKAGES))} found; install them with: apt-get install "
                 + " ".join(PACKAGES.values()))
    for sub, speaker in (("librivox", "librivox"), ("cards", "cards")):
        folder = SPHINX / sub
        if (folder / "transcription").is_file() or (folder / f"{sub}.transcription").is_file():
            texts = sphinx_transcripts(next(folder.glob("*transcription")))
            for uid, text in sorted(texts.items()):
                if (folder / f"{uid}.wav").is_file():
                    put(folder / f"{uid}.wav", out, speaker, uid.rsplit("-", 1)[-1], text)
    for wav in sorted(ALSA.glob("*.wav")):
        if wav.stem != "Noise":  # pink noise, not speech
            put(wav, out, "alsa", wav.stem.lower(), wav.stem.replace("_", " ").lower())
    if LINPHONE.is_file():
        put(LINPHONE, out, "linphone", "hello", None)
    n = sum(1 for _ in out.rglob("*.wav"))
    print(f"{n} utterances of unseen speakers in {out}")


if __name__ == "__main__":
    main()
