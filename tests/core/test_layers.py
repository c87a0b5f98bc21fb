"""The layering rule of the README's Architecture section, checked on the source."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2] / "vqspeech"
FAMILIES = ("speech", "image", "video")
SHARED = ["quantize.py", "nn", "models", "io", "train", "progress.py", "device.py", "errors.py"]


def _imports(path: Path) -> set[str]:
    return set(re.findall(r"^\s*(?:from|import) (vqspeech(?:\.\w+)*)", path.read_text(), re.M))


def _files(entry: str) -> list[Path]:
    p = ROOT / entry
    return [p] if p.is_file() else sorted(p.rglob("*.py"))


def test_shared_layers_import_no_family() -> None:
    bad = [(f.relative_to(ROOT), m) for e in SHARED for f in _files(e) for m in _imports(f)
           if m.split(".")[1:2] and m.split(".")[1] in FAMILIES + ("cli", "verbs", "reports")]
    assert not bad, bad


def test_families_import_no_other_family_and_commands_no_commands() -> None:
    bad = []
    for fam in FAMILIES:
        for f in _files(fam):
            for m in _imports(f):
                parts = m.split(".")
                if len(parts) > 1 and parts[1] in FAMILIES and parts[1] != fam:
                    bad.append((f.relative_to(ROOT), m))
                if f.name == "commands.py" and m.endswith(".commands"):
                    bad.append((f.relative_to(ROOT), m))
    assert not bad, bad
