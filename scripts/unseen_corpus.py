"""A small corpus of real English speech by speakers no shipped model heard, for ``evaluate --unseen``: the
channel-test prompts of alsa-utils (``/usr/share/sounds/alsa/*.wav``: "front left", ..., one speaker, with
transcripts written here) and, when linphone-common is installed, its test call recording
(``/usr/share/sounds/linphone/hello8000.wav``, no transcript: judged by the speaker judge only).  Nothing is
downloaded: as root, the Debian packages are installed when missing.

    python scripts/unseen_corpus.py [OUT]        (default unseen_corpus; generic layout OUT/<speaker>/<id>.wav)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ALSA = Path("/usr/share/sounds/alsa")
LINPHONE = Path("/usr/share/sounds/linphone/hello8000.wav")
PACKAGES = {ALSA: "alsa-utils", LINPHONE: "linphone-common"}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "unseen_corpus")
    missing = [pkg for path, pkg in PACKAGES.items() if not path.exists()]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=True, stdout=subprocess.DEVNULL)
    if not ALSA.is_dir():
        sys.exit(f"error: {ALSA} not found; install it with: apt-get install alsa-utils")
    n = 0
    for wav in sorted(ALSA.glob("*.wav")):
        if wav.stem == "Noise":  # pink noise, not speech
            continue
        dst = out / "alsa" / f"alsa_{wav.stem.lower()}.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wav, dst)
        dst.with_suffix(".txt").write_text(wav.stem.replace("_", " ").lower() + "\n")
        n += 1
    if LINPHONE.is_file():
        dst = out / "linphone" / "linphone_hello.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(LINPHONE, dst)
        n += 1
    print(f"{n} utterances of unseen speakers in {out}")


if __name__ == "__main__":
    main()
