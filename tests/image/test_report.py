"""``vqspeech report`` of an image run: the page built from a small fixture run (the files scripts/demo_image.sh
writes, made small here) opens in headless Chromium with every image decoded and no console error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_page_plays, chromium, run_cli

from vqspeech.image.commands import markdown
from vqspeech.image.eval import save_grid
from vqspeech.io.checkpoint import save_checkpoint

CLASSES = ["brick", "coffee", "rocket"]


def make_image_run(root: Path, images: int = 6) -> Path:
    """``root/runs/images_demo`` (+ ``_vae`` and ``_prior``) as the image demo leaves them, with tiny files."""
    rng = np.random.default_rng(0)
    runs = root / "runs"
    run, vae, prior = runs / "images_demo", runs / "images_demo_vae", runs / "images_demo_prior"
    for r, task, rows in ((run, "image-vqvae", [{"step": s, "bits_per_dim_recon": 7 - s / 100} for s in (10, 20, 30)]),
                          (vae, "image-vae", [{"step": s, "neg_elbo_bits_per_dim": 7.2 - s / 100,
                                               "recon_bits_per_dim": 7.0 - s / 100} for s in (10, 20, 30)]),
                          (prior, "image-prior", [{"step": s, "bits_per_code": 3.5 - s / 50} for s in (10, 20)])):
        (r / "checkpoints").mkdir(parents=True)
        (r / "config.yaml").write_text(f"task: {task}\n")
        (r / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
        save_checkpoint(r / "checkpoints" / "last.safetensors", torch.nn.Linear(1, 1),
                        {"kind": task, "classes": CLASSES, "image_size": 8})
    rep = run / "report"
    rep.mkdir()
    report = {"input": "demo_images", "images": images,
              "vqvae": {"checkpoint": str(run / "checkpoints/last.safetensors"), "images": images, "dims": 192,
                        "num_codes": 16, "recon_bits_per_dim": 6.2, "uniform_prior_bits_per_dim": 0.15,
                        "bits_per_dim_uniform": 6.35, "prior_bits_per_dim": 0.05, "prior_bits_per_code": 2.7,
                        "bits_per_dim_prior": 6.25, "codes_used": 12, "code_perplexity": 9.5, "psnr": 21.9},
              "vae": {"checkpoint": "runs/images_demo_vae/checkpoints/last.safetensors", "images": images, "dims": 192,
                      "recon_bits_per_dim": 6.3, "kl_bits_per_dim": 0.1, "neg_elbo_bits_per_dim": 6.4, "psnr": 20.4}}
    (rep / "evaluate.json").write_text(json.dumps(report))
    (rep / "evaluate.md").write_text(markdown(report))
    originals = rng.integers(0, 256, (images, 8, 8, 3), dtype=np.uint8)
    save_grid(np.concatenate([originals, 255 - originals]), rep / "reconstructions.png")
    samples = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    save_grid(samples, rep / "samples.png")
    np.savez(rep / "samples.npz", codes=np.zeros((6, 2, 2), np.uint16), labels=np.arange(6) % 3, images=samples)
    return run


def test_image_report_page_shows_every_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    run = make_image_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["report", "runs/images_demo"], monkeypatch, capsys)
    assert code == 0, err
    page = run / "report.html"
    text = page.read_text()
    for part in ("Bits per dimension", "6.350", "Originals and reconstructions", "Samples from the prior", "rocket",
                 "Training curves"):
        assert part in text, part
    assert "http" not in text.replace("http-equiv", "")  # nothing fetched: relative links only
    assert len(list((run / "report_files" / "pairs").glob("*.png"))) == 6  # each original beside its reconstruction
    with chromium(tmp_path, monkeypatch) as driver:
        media = assert_page_plays(driver, page.resolve().as_uri(), min_img=6 + 3 + 1)
    assert all(u.startswith("file://") for u in media["resources"])


def test_recorded_paths_resolve_from_where_the_demo_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vqspeech.io.html import find_recorded

    run = make_image_run(tmp_path / "repo")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    recorded = "runs/images_demo_vae/checkpoints/last.safetensors"  # evaluate.json's path, relative to the repo
    assert find_recorded(recorded, run) == run.resolve().parents[1] / recorded
    assert find_recorded("runs/nowhere.safetensors", run) is None and find_recorded(None, run) is None


def test_report_refuses_what_is_not_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["report", str(tmp_path / "empty")], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: ") and "not a run directory" in err and len(err.splitlines()) == 1
    run = make_image_run(tmp_path / "x")
    code, _, err = run_cli(["report", str(run), "-o", str(tmp_path / "page.txt")], monkeypatch, capsys)
    assert code == 2 and "NAME.html" in err
