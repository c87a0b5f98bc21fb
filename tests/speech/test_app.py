"""``vqspeech app``: the local page started as a user starts it (a subprocess on a free loopback port, a tiny trained
model), driven in headless Chromium and through Gradio's HTTP client: a conversion comes back as a wav, the codec
round trip works, and bad input shows the very line the command line prints."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import chromium, free_port, loopback_no_proxy, run_cli, severe_console, write_tone

from vqspeech.io.checkpoint import read_meta

ROOT = Path(__file__).parents[2]


def _wait_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"app exited {proc.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"app not up after {timeout} s: {log.read_text()}")


@pytest.fixture()
def app_url(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The app serving ``tiny_model`` on a free loopback port: ``(url, its log)`` (stopped afterwards)."""
    loopback_no_proxy(monkeypatch)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_")}  # the app turns analytics off itself
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    log = tmp_path / "app.log"
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "vqspeech.cli", "app", "--port", str(port), "-c",
                                 str(tiny_model), "--device", "cpu"], cwd=tmp_path, env=env, stdout=f,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_up(url, proc, log)
        yield url, str(log)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(driver, css: str, timeout: float = 60, shown: bool = True):
    from selenium.webdriver.common.by import By

    t0 = time.time()
    while True:
        found = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed() or not shown]
        if found:
            return found[0]
        assert time.time() - t0 < timeout, f"nothing shows {css}"
        time.sleep(0.2)


def _status(driver, box: str, name: str, previous: str = "", timeout: float = 240) -> str:
    """The status box's line once a run ends (``converted ...`` or ``error: ...``, different from ``previous``)."""
    from selenium.webdriver.common.by import By

    t0 = time.time()
    while True:
        text = driver.find_element(By.CSS_SELECTOR, f"#{box} textarea").get_attribute("value") or ""
        if text != previous and (text.startswith("error") or (text.startswith("converted") and name in text)):
            return text
        assert time.time() - t0 < timeout, text
        time.sleep(0.3)


def _cli_error(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> str:
    with monkeypatch.context() as m:
        m.chdir(cwd)
        code, _, err = run_cli(args, monkeypatch, capsys)
    assert code == 2, err
    return err.strip()


def test_app_converts_in_the_browser_and_over_http(app_url: tuple[str, str], tiny_model: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    from gradio_client import Client, handle_file
    from selenium.webdriver.common.by import By

    url, log = app_url
    assert "http://127.0.0.1:" in Path(log).read_text()  # bound to the loopback by default
    meta = read_meta(tiny_model)
    speakers, sr, hop = meta["speakers"], meta["sample_rate"], meta["hop_length"]
    inp = write_tone(tmp_path / "in" / "hello.wav", 0.25, 22050, channels=2)  # any rate / channels in
    # 1. through the page: drop a file, pick a voice, press Convert, download the wav; then record one with the
    # browser's microphone (Chromium's fake device) and convert that
    target = speakers[2]
    with chromium(tmp_path, monkeypatch) as driver:
        driver.get(url)
        _wait_for(driver, "#convert-input input[type=file]", shown=False).send_keys(str(inp))
        driver.find_element(By.CSS_SELECTOR, "#speaker input").click()
        _wait_for(driver, f'#speaker li[aria-label="{target}"]').click()
        driver.find_element(By.ID, "convert-button").click()
        status = _status(driver, "convert-status", "hello.wav")
        assert status.startswith(f"converted hello.wav to {target}: 0.25 s"), status
        links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#convert-download a")]
        driver.find_element(By.CSS_SELECTOR, '#convert-input button[aria-label="Clear"]').click()
        _wait_for(driver, '#convert-input button[aria-label="Record audio"]').click()
        _wait_for(driver, "#convert-input button.record-button").click()
        time.sleep(1.0)
        _wait_for(driver, "#convert-input button.stop-button").click()
        time.sleep(1.0)
        driver.find_element(By.ID, "convert-button").click()
        recorded = _status(driver, "convert-status", "", previous=status)
        hosts = {u.split("/")[2] for u in driver.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name)") if u.startswith("http")}
        assert not severe_console(driver)
    assert recorded.startswith("converted ") and f" to {target}: " in recorded, recorded
    assert hosts == {url.split("/")[2]}  # the page's scripts, styles and fonts all come from the app itself
    wav_url = next(u for u in links if u and u.endswith(f"hello-to-{target}.wav"))
    with urllib.request.urlopen(wav_url) as r:
        y, rate = sf.read(io.BytesIO(r.read()))
    assert rate == sr and abs(len(y) - 0.25 * sr) <= hop and np.abs(y).max() > 0
    # 2. the codec round trip through the HTTP API
    client = Client(url, verbose=False)
    vqs, line = client.predict(handle_file(str(inp)), api_name="/encode")
    size = Path(vqs).stat().st_size
    assert Path(vqs).name == "hello.vqs" and f"hello.vqs: {size} bytes, " in line and " bits/s, 0.25 s " in line
    wav, line = client.predict(handle_file(vqs), api_name="/decode")
    assert line.startswith("decoded hello.vqs: 0.25 s") and abs(sf.info(wav).frames - 0.25 * sr) <= hop
    # 3. bad input: the line the command line prints for the same file, in the page's status box
    bad = tmp_path / "bad"
    (bad / "notes.txt").parent.mkdir()
    (bad / "notes.txt").write_text("not audio")
    sf.write(str(bad / "blip.wav"), np.zeros(hop - 1, np.float32), sr)
    for name in ("notes.txt", "blip.wav"):
        out, _, line = client.predict(handle_file(str(bad / name)), speakers[0], api_name="/convert")
        cli = _cli_error(["convert", name, "--speaker", speakers[0], "-o", "out.wav", "-c", str(tiny_model)], bad,
                         monkeypatch, capsys)
        assert out is None and line == cli and line.startswith(f"error: {name}: "), (line, cli)
        _, line = client.predict(handle_file(str(bad / name)), api_name="/encode")
        cli = _cli_error(["encode", name, "-o", "out.vqs", "-c", str(tiny_model)], bad, monkeypatch, capsys)
        assert line == cli, (line, cli)
    long = write_tone(bad / "speech.wav", 61.0, 8000)
    _, _, line = client.predict(handle_file(str(long)), speakers[0], api_name="/convert")
    assert line.startswith("error: speech.wav: 61.0 s is longer than this page converts (60 s); convert it with "
                           "`vqspeech convert speech.wav"), line
    _, line = client.predict(handle_file(str(bad / "notes.txt")), api_name="/decode")
    assert line.startswith("error: notes.txt: not a .vqs codec file"), line
    # 4. enroll: a new voice from uploaded recordings comes back as a checkpoint that knows it
    voice = [write_tone(tmp_path / "anna" / f"a{i}.wav", 3.0, sr, freq=180.0 + 20 * i) for i in range(2)]
    ckpt, line = client.predict([handle_file(str(v)) for v in voice], "anna", 20, api_name="/enroll")
    assert Path(ckpt).name == "anna.safetensors" and line.startswith("enrolled anna from 2 file(s), 6.0 s"), line
    assert read_meta(ckpt)["speakers"] == [*speakers, "anna"]
    _, line = client.predict([handle_file(str(v)) for v in voice], speakers[0], 20, api_name="/enroll")
    assert line.startswith(f"error: '{speakers[0]}' is already a voice"), line


def test_app_finds_the_newest_model_under_runs_or_says_how_to_get_one(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import vqspeech.io.shipped as shipped
    from vqspeech.speech.app import resolve_models

    monkeypatch.delenv("VQSPEECH_CHECKPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    models = resolve_models()  # nothing trained here: the model shipped in the package, with its codec's prior
    assert models.vqvae.parent.name == "voices" and models.prior is not None and "june" in models.speakers
    assert "using the model shipped with vqspeech: voices" in capsys.readouterr().err  # and it says so
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path / "no-shipped-models")
    code, _, err = run_cli(["app", "--port", str(free_port())], monkeypatch, capsys)
    assert code == 2 and err.startswith("error: no speech-vqvae checkpoint given (-c) or found under ./runs/; "
                                        "train one with `vqspeech train recipes/demo.yaml`"), err
    for age, name in ((1000, "new"), (2000, "old")):
        d = tmp_path / "runs" / name / "checkpoints"
        d.mkdir(parents=True)
        shutil.copy(tiny_model, d / "last.safetensors")
        os.utime(d / "last.safetensors", (time.time() - age, time.time() - age))
    models = resolve_models()
    assert models.vqvae == Path("runs/new/checkpoints/last.safetensors") and models.prior is None
    assert models.speakers == read_meta(tiny_model)["speakers"]
