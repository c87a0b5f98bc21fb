"""The layering rule of the README's Architecture section, checked on the source (every import form: ``import
vqspeech.speech``, ``from vqspeech.speech.models import X``, ``from vqspeech import speech``, relative imports)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2] / "vqspeech"
FAMILIES = ("speech", "image", "video")
SHARED = ["quantize.py", "nn", "models", "io", "train", "progress.py", "device.py", "errors.py"]


def imported_modules(source: str, module: str) -> set[str]:
    """Every module (and ``package.name`` for ``from package import name``) that ``source`` imports, absolute;
    ``module`` is the importing module's dotted name (for relative imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names if a.name != "*"}
    return {m for m in found if m == "vqspeech" or m.startswith("vqspeech.")}


def _imports(path: Path) -> set[str]:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    return imported_modules(path.read_text(), ".".join(rel.parts))


def _files(entry: str) -> list[Path]:
    p = ROOT / entry
    return [p] if p.is_file() else sorted(p.rglob("*.py"))


def test_the_rule_sees_every_import_form() -> None:
    src = ("import vqspeech.video\nfrom vqspeech import speech\nfrom vqspeech.image.models import X\n"
           "from .. import video as v\nfrom ..speech import commands\n")
    got = imported_modules(src, "vqspeech.nn.conv")
    assert {"vqspeech.video", "vqspeech.speech", "vqspeech.image.models", "vqspeech.speech.commands"} <= got
    families = {m.split(".")[1] for m in got if m.count(".") >= 1}
    assert {"speech", "image", "video"} <= families


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
                if len(parts) > 1 and parts[1] in ("cli", "verbs"):
                    bad.append((f.relative_to(ROOT), m))
                if f.name == "commands.py" and m.endswith(".commands"):
                    bad.append((f.relative_to(ROOT), m))
    assert not bad, bad
