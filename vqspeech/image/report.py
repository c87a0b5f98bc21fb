"""The image family's page of ``vqspeech report RUN_DIR``, from what ``scripts/demo_image.sh`` leaves: in
``RUN/report/`` (or ``RUN/``) ``evaluate.json`` + ``evaluate.md`` (bits/dim), ``reconstructions.png`` (the grid of
``evaluate --out-dir``: originals, then their reconstructions), ``samples.png`` + ``samples.npz`` (``vqspeech sample``:
``images``, ``labels``); the ``metrics.jsonl`` of the VQ-VAE run, its VAE (the checkpoint ``evaluate.json`` names)
and its prior (``<RUN>_prior/``), and the checkpoints' class names.  The training-curve figure is shared with
``scripts/report_images.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vqspeech.io.html import Page, find_recorded, line_plot, para, read_tsv_pairs, table

CURVES = [  # (run index, metric key, label, axis)
    (0, "bits_per_dim_recon", "VQ-VAE: reconstruction -ln p(x|z) (bits/dim)", 0),
    (1, "neg_elbo_bits_per_dim", "VAE: negative ELBO (bits/dim)", 0),
    (1, "recon_bits_per_dim", "VAE: reconstruction part (bits/dim)", 0),
    (2, "bits_per_code", "PixelCNN prior: NLL of the codes (bits/code)", 1),
]


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def image_curves(runs: list[Path | None], out: Path) -> Path | None:
    """The likelihood terms of the VQ-VAE and VAE per step (left) and the prior's NLL (right) from the
    ``metrics.jsonl`` of ``runs = [vqvae run, vae run, prior run]`` (any may be ``None``)."""
    series = []
    for i, key, label, ax in CURVES:
        run = runs[i] if i < len(runs) else None
        rows = [r for r in _rows(run / "metrics.jsonl") if key in r and "images" not in r] if run else []
        series.append((label, [r["step"] for r in rows], [r[key] for r in rows], ax))
    return line_plot(series, out, ("bits / dim (training batches)", "bits / code"))


def grid_tiles(grid: np.ndarray, n: int, ncol: int = 8, pad: int = 2) -> np.ndarray | None:
    """The ``n`` tiles ``uint8 [n, h, w, 3]`` of a grid written by :func:`vqspeech.image.eval.save_grid` (``ncol``
    per row, ``pad`` white pixels), or ``None`` if the grid's size does not fit that layout."""
    ncol = max(1, min(ncol, n))
    nrow = -(-n // ncol)
    hh, ww = grid.shape[:2]
    if (ww - pad) % ncol or (hh - pad) % nrow:
        return None
    w, h = (ww - pad) // ncol - pad, (hh - pad) // nrow - pad
    if w < 1 or h < 1:
        return None
    tiles = [grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w]
             for r, c in (divmod(i, ncol) for i in range(n))]
    return np.stack(tiles)


def _save(img: np.ndarray, out: Path, scale: int = 2) -> Path:
    from PIL import Image

    im = Image.fromarray(img)
    im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST).save(out)
    return out


def _strip(tiles: np.ndarray, pad: int = 2) -> np.ndarray:
    """Tiles ``[n, h, w, 3]`` side by side with white gaps."""
    n, h, w, _ = tiles.shape
    canvas = np.full((h, n * (w + pad) - pad, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        canvas[:, i * (w + pad) : i * (w + pad) + w] = t
    return canvas


def _find(run: Path, name: str) -> Path | None:
    return next((p for p in (run / "report" / name, run / name) if p.is_file()), None)


def _run_of(checkpoint: str | None, run: Path) -> Path | None:
    """The run dir of a checkpoint ``evaluate.json`` names (``RUN/checkpoints/NAME.safetensors``)."""
    ck = find_recorded(checkpoint, run)
    return ck.parents[1] if ck is not None and len(ck.parts) > 2 and ck.parents[1].is_dir() else None


def _classes(run: Path) -> list[str]:
    from vqspeech.io.checkpoint import read_meta

    for p in (run / "checkpoints" / "last.safetensors", run.parent / f"{run.name}_prior" / "checkpoints" /
              "last.safetensors"):
        if p.is_file():
            names = read_meta(p).get("classes")
            if names:
                return [str(c) for c in names]
    return []


def _reconstructions(page: Page, grid_path: Path, ev: dict[str, Any]) -> None:
    from PIL import Image

    grid = np.asarray(Image.open(grid_path).convert("RGB"))
    k = min(32, int(ev.get("images", 0) or 0))
    tiles = grid_tiles(grid, 2 * k) if k else None
    if tiles is None:
        page.add("Originals and reconstructions",
                 page.figure(grid_path, "held-out originals (top half) and their reconstructions (bottom half)",
                             "fig px"))
        return
    cols = 4
    rows = []
    for start in range(0, k, cols):
        row: list[object] = []
        for i in range(start, min(start + cols, k)):
            pair = page.asset(f"pairs/{i:02d}.png")
            _save(_strip(np.stack([tiles[i], tiles[k + i]])), pair, scale=3)
            row.append(page.img(pair, f"held-out image {i}: original and reconstruction", "px"))
        rows.append(row + [""] * (cols - len(row)))
    page.add("Originals and reconstructions",
             para(f"{k} held-out images: each original (left) beside its VQ-VAE reconstruction (right)."),
             table(["original | reconstruction"] * cols, rows))


def _samples(page: Page, run: Path) -> None:
    npz, png = _find(run, "samples.npz"), _find(run, "samples.png")
    if npz is None and png is None:
        return
    parts: list[str] = []
    if npz is not None:
        with np.load(npz) as z:
            images = z["images"] if "images" in z.files else None
            labels = z["labels"] if "labels" in z.files else np.zeros(0, np.int64)
        if images is not None and len(images):
            names = _classes(run)
            if len(labels) != len(images):
                labels = np.full(len(images), -1)
            rows = []
            for lab in sorted(set(labels.tolist())):
                sel = images[labels == lab]
                out = page.asset(f"samples/class-{lab}.png")
                _save(_strip(sel), out, scale=2)
                name = names[lab] if 0 <= lab < len(names) else ("unconditional" if lab < 0 else str(lab))
                rows.append([name, str(len(sel)), page.img(out, f"samples of class {name}", "px")])
            parts += [para("Codes drawn from the PixelCNN prior (class-conditional: one row per class) and decoded "
                           "by the VQ-VAE:"), table(["class", "samples", "decoded"], rows)]
    if not parts and png is not None:
        parts.append(page.figure(png, "prior samples, decoded", "fig px"))
    page.add("Samples from the prior", *parts)


def build(run: Path, page: Page) -> None:
    """Fill ``page`` with the image run ``run``: bits/dim table, originals beside reconstructions, samples per class,
    training curves, time taken."""
    ej, emd = _find(run, "evaluate.json"), _find(run, "evaluate.md")
    ev = json.loads(ej.read_text()) if ej else {}
    if emd is not None:
        page.add("Bits per dimension (held-out images)", page.markdown(emd.read_text(), emd.parent))
    grid = _find(run, "reconstructions.png")
    if grid is not None:
        _reconstructions(page, grid, ev)
    _samples(page, run)
    vae = _run_of((ev.get("vae") or {}).get("checkpoint"), run)
    prior = run.parent / f"{run.name}_prior"
    fig = image_curves([run, vae, prior if prior.is_dir() else None], page.asset("curves.png"))
    if fig is not None:
        page.add("Training curves", page.figure(fig, "training curves (VQ-VAE, VAE, prior)"))
    timings = read_tsv_pairs(run / "timings.tsv")
    if timings:
        page.add("Time taken", table(["stage", "seconds"], timings))


__all__ = ["build", "grid_tiles", "image_curves"]
