"""Helpers shared by the test folders (importable as ``helpers``: pytest's pythonpath includes tests/)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

TINY_SET = [
    "model.encoder_channels=16", "model.downsample_layers=4", "model.cond_channels=8", "model.speaker_dim=4",
    "model.residual_channels=8", "model.gate_channels=16", "model.skip_channels=8", "model.layers=4",
    "model.cycle=4", "quantizer.num_codes=32", "quantizer.dim=4", "quantizer.ema=true",
    "quantizer.restart_threshold=0.5", "quantizer.init=random", "data.crop_samples=1024", "train.batch_size=4",
    "train.lr=0.003", "train.log_every=10", "train.checkpoint_every=0", "train.valid_every=0",
    "train.max_minutes=0", "data.sample_rate=16000", "train.compile=false", "train.lr_schedule=constant",
    "train.warmup_steps=0", "train.grad_clip=0",
    # the paper's raw-waveform encoder without levers (demo.yaml's log-mel encoder, normalisation and jitter
    # have their own tests, tests/speech/test_levers.py and test_demo_recipe_trains_as_shipped)
    "model.encoder_input=waveform", "model.norm_seconds=0", "model.jitter=0",
]

PRIOR_SET = ["model.residual_channels=16", "model.gate_channels=32", "model.skip_channels=16", "model.layers=4",
             "model.cycle=4", "model.speaker_dim=4", "train.batch_size=8", "train.log_every=10",
             "train.checkpoint_every=0", "train.valid_every=0", "train.max_minutes=0", "data.crop_codes=32"]


def write_tone(path: Path, seconds: float = 0.5, sr: int = 16000, channels: int = 1, freq: float = 220.0) -> Path:
    """A short sine tone with a little noise (deterministic)."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    data = np.stack([x] * channels, 1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), sr)
    return path


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Run ``vqspeech --quiet ARGS`` in-process; returns ``(exit code, stdout, stderr)``."""
    from vqspeech import progress
    from vqspeech.cli import main

    monkeypatch.setattr(sys, "argv", ["vqspeech", "--quiet", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        progress.set_quiet(True)
    out, err = capsys.readouterr()
    return code, out, err


def free_port() -> int:
    """A TCP port free on localhost (for gloo process groups)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save_toy_prior(path: Path, vqvae: Path, *, log_probs: np.ndarray | None = None, seed: int = 0) -> Path:
    """A small speech prior checkpoint for ``vqvae`` (random weights; or, with ``log_probs [K]``, one whose every
    next-code distribution is exactly ``softmax(log_probs)``).  Its ``vqvae_path`` is how files name ``vqvae``."""
    from dataclasses import asdict

    import torch

    from vqspeech.io.atomic import sha256_file
    from vqspeech.io.checkpoint import read_meta, save_checkpoint
    from vqspeech.io.shipped import model_ref
    from vqspeech.speech.config import SPEECH_PRIOR, PriorModel, SpeechMeta, SpeechPriorConfig
    from vqspeech.speech.models import CodePrior

    vm = SpeechMeta.of(read_meta(vqvae))
    cfg = SpeechPriorConfig(model=PriorModel(residual_channels=16, gate_channels=32, skip_channels=16, layers=4,
                                             cycle=4, speaker_dim=4))
    torch.manual_seed(seed)
    prior = CodePrior(cfg.model, vm.num_codes, len(vm.speakers))
    with torch.no_grad():
        for p in prior.parameters():  # sharper than the default init: a prior with real preferences
            p.mul_(3.0)
        if log_probs is not None:
            prior.net.head2.weight.zero_()
            prior.net.head2.bias.copy_(torch.as_tensor(log_probs, dtype=torch.float32))
    meta = SpeechMeta(vm.speakers, vm.sample_rate, vm.hop_length, vm.num_codes, model_ref(vqvae), sha256_file(vqvae))
    save_checkpoint(path, prior, {"kind": SPEECH_PRIOR, "config": asdict(cfg), "step": 0, **meta.to_dict()})
    return path


CHROMEDRIVER = "/usr/bin/chromedriver"


def loopback_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to 127.0.0.1/localhost (chromedriver, a local app) never go through an ``http_proxy`` of the
    environment."""
    import os

    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(key, ",".join(x for x in (os.environ.get(key), "127.0.0.1,localhost") if x))


@contextmanager
def chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium driven by Selenium (Debian's ``chromium`` + ``chromium-driver``), with the browser's
    console log readable through ``driver.get_log("browser")`` and a fake microphone (a beep) granted to pages.
    Host names other than the loopback do not resolve, so a page that tried to fetch from the network would show
    it as a console error."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    loopback_no_proxy(monkeypatch)
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1400,1000",
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",  # a microphone that beeps
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


PAGE_MEDIA = """
const done = arguments[arguments.length - 1];
const t0 = Date.now();
function check() {
  const audios = [...document.querySelectorAll('audio')];
  const imgs = [...document.querySelectorAll('img')];
  const pending = audios.filter(a => !(a.readyState >= 1 || a.error)).length
                + imgs.filter(i => !i.complete).length;
  if (pending && Date.now() - t0 < 30000) { setTimeout(check, 100); return; }
  done({audio: audios.map(a => ({src: a.currentSrc || a.src, duration: a.duration,
                                 error: a.error ? a.error.code : null})),
        img: imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth})),
        resources: performance.getEntriesByType('resource').map(r => r.name)});
}
check();
"""


def page_media(driver: Any) -> dict[str, Any]:
    """Wait (up to 30 s) until every ``<audio>`` has its metadata (or failed) and every ``<img>`` finished; return
    their durations, natural widths and the URLs the page fetched."""
    driver.set_script_timeout(40)
    return driver.execute_async_script(PAGE_MEDIA)


def severe_console(driver: Any) -> list[str]:
    """The browser console's SEVERE messages since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def assert_page_plays(driver: Any, url: str, min_audio: int = 0, min_img: int = 1) -> dict[str, Any]:
    """Open ``url``; assert every audio element loads (duration > 0), every image decodes (naturalWidth > 0), no
    console errors and no fetch beyond ``file://``/loopback.  Returns what :func:`page_media` saw."""
    driver.get(url)
    media = page_media(driver)
    assert len(media["audio"]) >= min_audio, media["audio"]
    assert len(media["img"]) >= min_img, media["img"]
    bad_audio = [a for a in media["audio"] if a["error"] is not None or not a["duration"] or a["duration"] <= 0]
    assert not bad_audio, bad_audio
    bad_img = [i for i in media["img"] if not i["width"]]
    assert not bad_img, bad_img
    foreign = [u for u in media["resources"] if not u.startswith(("file://", "http://127.0.0.1", "data:"))]
    assert not foreign, foreign
    assert not severe_console(driver)
    return media


def spawn_ranks(fn, args: tuple, nprocs: int = 2, timeout: float = 120) -> None:
    """Run ``fn(rank, *args)`` in ``nprocs`` spawned processes (gloo DDP tests); a hang past ``timeout`` seconds
    kills them and fails the test."""
    import time

    import torch.multiprocessing as mp

    ctx = mp.spawn(fn, args=args, nprocs=nprocs, join=False)
    end = time.time() + timeout
    while not ctx.join(timeout=1):
        if time.time() > end:
            for p in ctx.processes:
                p.kill()
            pytest.fail("DDP ranks hung")
