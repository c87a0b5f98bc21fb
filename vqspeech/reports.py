"""``vqspeech report RUN_DIR``: one static HTML page of a run, by the run's family (``vqspeech.<family>.report``).

The family comes from the run's ``config.yaml`` (``task:``), else from its last checkpoint's ``kind``.  The page is
``RUN_DIR/report.html`` unless ``-o`` names another ``.html`` file; what it makes (spectrograms, curves, copies of
files outside its folder) goes in ``<page stem>_files/`` beside it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from vqspeech.errors import InputError


def family_of_run(run: Path) -> str:
    """``speech``, ``image`` or ``video``: the family of the run dir ``run``."""
    import yaml

    from vqspeech import registry

    cfg = run / "config.yaml"
    if cfg.is_file():
        task = (yaml.safe_load(cfg.read_text()) or {}).get("task")
        if task in registry.kinds():
            return registry.kinds()[task].family
    last = run / "checkpoints" / "last.safetensors"
    if last.is_file():
        from vqspeech.io.checkpoint import read_meta

        kind = registry.kinds().get(read_meta(last).get("kind"))
        if kind is not None:
            return kind.family
    raise InputError(f"{run}: not a run directory (no config.yaml with a task, no checkpoints/last.safetensors); "
                     "give the folder `vqspeech train` wrote, e.g. runs/demo")


TITLES = {"speech": "vqspeech speech report", "image": "vqspeech image report", "video": "vqspeech video report"}


def write_report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML page of the run dir ``run`` to ``out`` (default ``run/report.html``); returns its path."""
    from vqspeech.io.html import Page, esc

    run = Path(run)
    if not run.exists():
        raise InputError(f"{run}: no such run directory")
    if not run.is_dir():
        raise InputError(f"{run}: is a file; give a run directory (e.g. runs/demo)")
    out = Path(out) if out is not None else run / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{out}: the report is one HTML page; give -o NAME.html")
    if not out.parent.is_dir():
        raise InputError(f"{out}: directory {out.parent} does not exist; create it first")
    family = family_of_run(run)
    page = Page(out, f"{TITLES[family]}: {run.name}")
    importlib.import_module(f"vqspeech.{family}.report").build(run, page)
    if not page.sections:
        raise InputError(f"{run}: holds nothing to report yet (no metrics.jsonl, evaluations or outputs)")
    return page.write(f'<p class="note">Run dir <code>{esc(run)}</code>. A static page: it plays and shows the '
                      "run's files from disk, nothing is fetched.</p>")


__all__ = ["family_of_run", "write_report"]
