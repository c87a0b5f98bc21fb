"""Models that ship inside the package: ``vqspeech/shipped/<name>/`` holds one checkpoint per kind (e.g. a speech
VQ-VAE and the prior its codec uses) and ``MODEL_CARD.md``.  They are found by name (``-c voices``), used when no
checkpoint is given and none is under ``./runs/``, and referred to in files (``.vqs`` headers, a prior's
``vqvae_path``) as ``shipped:<name>/<file>``, so such files open on any machine with vqspeech installed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vqspeech.errors import CheckpointError
from vqspeech.io.checkpoint import read_meta

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "shipped"
PREFIX = "shipped:"


@dataclass
class ShippedModel:
    """One shipped model: its name, folder, checkpoint of each kind and model card."""

    name: str
    folder: Path
    files: dict[str, Path]  # kind -> checkpoint
    card: Path

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())


def shipped_models(root: Path | None = None) -> list[ShippedModel]:
    """Every model under ``root`` (default the package's ``shipped/``), sorted by name."""
    root = SHIPPED_DIR if root is None else root
    out = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        files = {}
        for ck in sorted(folder.glob("*.safetensors")):
            try:
                files[str(read_meta(ck).get("kind"))] = ck
            except CheckpointError:
                continue
        if files:
            out.append(ShippedModel(folder.name, folder, files, folder / "MODEL_CARD.md"))
    return out


def shipped_checkpoint(name: str, kinds: tuple[str, ...]) -> Path | None:
    """The checkpoint of one of ``kinds`` in the shipped model ``name`` (or ``shipped:<name>/<file>``); None when
    no shipped model has that name.  A model without such a kind is an error naming what it has."""
    ref = name[len(PREFIX):] if name.startswith(PREFIX) else name
    model_name, _, file = ref.partition("/")
    for m in shipped_models():
        if m.name != model_name:
            continue
        if file:
            return m.folder / file
        for kind in kinds:
            if kind in m.files:
                return m.files[kind]
        raise CheckpointError(f"the shipped model {m.name!r} has no {' or '.join(kinds)} checkpoint "
                              f"(it has: {', '.join(m.files)})")
    return None


def model_ref(path: str | Path) -> str:
    """How a file names a model: ``shipped:<name>/<file>`` for a shipped one, else its absolute path."""
    p = Path(path).resolve()
    try:
        rel = p.relative_to(SHIPPED_DIR)
    except ValueError:
        return str(p)
    return PREFIX + rel.as_posix()


def file_ref(path: str | Path) -> str:
    """How a file records a model it was made with: ``shipped:<name>/<file>`` for a shipped one, else the path as
    given (a run's relative path stays relative)."""
    ref = model_ref(path)
    return ref if ref.startswith(PREFIX) else str(path)


def resolve_ref(ref: str) -> Path:
    """The file a :func:`model_ref` string names on this machine."""
    if ref.startswith(PREFIX):
        return SHIPPED_DIR / ref[len(PREFIX):]
    return Path(ref)
