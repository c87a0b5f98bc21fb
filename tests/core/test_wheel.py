"""The wheel built from the repository carries the shipped real-voices model (checkpoints, model card, split), so
that `pip install vqspeech` converts with no training and no network."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_shipped_model(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "vqspeech", src / "vqspeech", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("vqspeech-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = ROOT / "vqspeech" / "shipped"
    files = sorted(p.relative_to(ROOT).as_posix() for p in shipped.rglob("*") if p.is_file())
    assert {"vqspeech/shipped/voices/vqvae.safetensors", "vqspeech/shipped/voices/prior.safetensors",
            "vqspeech/shipped/voices/MODEL_CARD.md", "vqspeech/shipped/voices/split.json"} <= set(files)
    assert set(files) <= names, sorted(set(files) - names)
    assert sum(p.stat().st_size for p in shipped.rglob("*.safetensors")) <= 20e6  # the budget of shipped models
