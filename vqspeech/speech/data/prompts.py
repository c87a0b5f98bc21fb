"""A real-voice corpus from installed recordings: Debian's asterisk prompt packages
(``asterisk-core-sounds-<lang>-wav``), telephone prompts read by professional voice talents, 8 kHz 16-bit
mono, CC-BY-SA 3.0 (en, es, fr) and CC-BY 3.0 (it, ru).  They install under
``/usr/share/asterisk/sounds/<lang>_<COUNTRY>_<f|m>_<Name>/`` (with subfolders ``digits/``, ``letters/``...);
their transcripts, where installed, under ``/usr/share/doc/asterisk-core-sounds-<lang>/core-sounds-<lang>.txt.gz``
(``name: text`` lines).

The corpus is the generic layout ``OUT/<talent>/<lang>-<prompt>.wav`` (one speaker per voice talent, a talent's
languages merged, named by the talent in lower case), with ``.txt`` transcripts beside the English files (the
recogniser of ``evaluate`` is English)."""

from __future__ import annotations

import gzip
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from vqspeech.errors import InputError
from vqspeech.speech.data.audio import audio_seconds

SOUNDS = Path("/usr/share/asterisk/sounds")
DOCS = Path("/usr/share/doc")
LANGUAGES = ("en", "es", "fr", "it", "ru")
TALENT = re.compile(r"^(?P<lang>[a-z]{2})_(?P<country>[A-Z]{2})_(?P<sex>[fm])_(?P<name>[A-Za-z0-9]+)$")
SKIP_FOLDERS = {"silence"}  # recorded silence, not speech
INSTALL = "apt-get install " + " ".join(f"asterisk-core-sounds-{lang}-wav" for lang in LANGUAGES)
ATTRIBUTION = ("Asterisk core sound prompts (Debian asterisk-core-sounds-*-wav; credits from the packages' "
               "copyright files): en and es recorded by Allison Smith (theivrvoice.com), CC-BY-SA 3.0; fr recorded by "
               "June Wallack (junewallack.com), CC-BY-SA 3.0; it recorded by Carlo Flora (carloflora.com), "
               "CC-BY 3.0; ru provided by Maxim Topal (ivrvoice.ru), CC-BY 3.0.")


@dataclass
class Talent:
    """What was found of one voice talent."""

    speaker: str
    sex: str
    languages: list[str] = field(default_factory=list)
    files: int = 0
    seconds: float = 0.0
    skipped_short: int = 0
    skipped_nonspeech: int = 0


def read_transcripts(lang: str, folder: Path) -> dict[str, str]:
    """``prompt name -> text`` for a language (``core-sounds-<lang>.txt[.gz]`` in the talent folder or in Debian's
    doc folder); empty when none is installed."""
    for base in (folder, DOCS / f"asterisk-core-sounds-{lang}"):
        for name in (f"core-sounds-{lang}.txt", f"core-sounds-{lang}.txt.gz"):
            p = base / name
            if p.is_file():
                raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
                out = {}
                for line in raw.decode("utf-8", "replace").splitlines():
                    if line.startswith(";") or ":" not in line:
                        continue
                    key, text = line.split(":", 1)
                    out[key.strip()] = text.strip()
                return out
    return {}


def build_prompts_corpus(out: str | Path, sounds: str | Path = SOUNDS, *, min_seconds: float = 1.0
                         ) -> dict[str, Talent]:
    """Copy every speech prompt of at least ``min_seconds`` into ``out`` (generic layout; see the module).
    Prompts whose transcript is a bracketed description (``[beep tone]``) are not speech and are skipped.
    Returns what was found per speaker; refuses (``InputError``) when there is nothing."""
    sounds, out = Path(sounds), Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory; give a folder for the corpus")
    if not sounds.is_dir():
        raise InputError(f"--sounds {sounds}: no such directory; install the recordings: {INSTALL}")
    folders = sorted(p for p in sounds.iterdir() if p.is_dir() and TALENT.match(p.name))
    talents: dict[str, Talent] = {}
    plan: list[tuple[Path, Path, str]] = []
    for folder in folders:
        m = TALENT.match(folder.name)
        assert m is not None
        lang, speaker = m["lang"], m["name"].lower()
        t = talents.setdefault(speaker, Talent(speaker, m["sex"]))
        t.languages.append(lang)
        texts = read_transcripts(lang, folder)
        for wav in sorted(folder.rglob("*.wav")):
            rel = wav.relative_to(folder).with_suffix("")
            if rel.parts[0] in SKIP_FOLDERS:
                continue
            text = texts.get(rel.as_posix(), "")
            if text.startswith("["):
                t.skipped_nonspeech += 1
                continue
            seconds = audio_seconds(wav)
            if seconds < min_seconds:
                t.skipped_short += 1
                continue
            t.files += 1
            t.seconds += seconds
            plan.append((wav, out / speaker / f"{lang}-{'-'.join(rel.parts)}.wav", text if lang == "en" else ""))
    if not plan:
        raise InputError(f"no prompt recordings of {min_seconds:g} s or more under {sounds} (folders like "
                         f"en_US_f_Allison/); install them: {INSTALL}")
    for src, dst, text in plan:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        if text:
            dst.with_suffix(".txt").write_text(text + "\n")
    (out / "ATTRIBUTION.txt").write_text(ATTRIBUTION + "\n")
    return talents
