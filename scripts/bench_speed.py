"""Speed benchmarks of the speech models against this machine's measured limits (run through
``scripts/bench.py --only peaks,generate,encode``).

- peaks: fp32 matmul GFLOP/s (the compute bound) and matrix-vector GB/s of a 48 MB matrix (the bound of a batch-1
  step that reads every weight once);
- generate: the compiled per-sample step vs the PyTorch cached path vs naive recompute, at batch 1 and 16, with
  the real-time factor, achieved GFLOP/s and (batch 1) weight-streaming GB/s;
- encode: audio -> codes throughput in the encoder's FLOPs as a fraction of the matmul peak, and peak RSS of
  encoding a one-hour file (the demo and the paper-size encoder; files over ``STREAM_SECONDS`` are encoded as
  they are read).
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import torch
from bench_util import print_row, run_child

_PEAKS: dict[str, float] = {}


def peaks(quick: bool = False) -> list[dict]:
    """Measured fp32 matmul peak and matrix-vector bandwidth (all threads), cached for the other sections."""
    if not _PEAKS:
        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        torch.mm(a, b)
        best = min(_time(lambda: torch.mm(a, b)) for _ in range(5))
        _PEAKS["matmul_gflops"] = 2 * 2048**3 / best / 1e9
        w, v = torch.randn(3072, 4096), torch.randn(4096)  # 48 MB: as large as the paper decoder's weights
        torch.mv(w, v)
        best = min(_time(lambda: torch.mv(w, v)) for _ in range(20))
        _PEAKS["matvec_gbs"] = w.numel() * 4 / best / 1e9
    row = {"matmul_fp32_gflops": round(_PEAKS["matmul_gflops"], 1), "matvec_48MB_gbs": round(_PEAKS["matvec_gbs"], 1),
           "threads": torch.get_num_threads()}
    print_row(row)
    return [row]


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _decoders(quick: bool) -> list[tuple[str, dict]]:
    from dataclasses import asdict

    from vqspeech.verbs import load_recipe

    out = [("demo.yaml decoder", asdict(load_recipe("recipes/demo.yaml").model)),
           ("10-layer 64/128/64", {"residual_channels": 64, "gate_channels": 128, "skip_channels": 64,
                                        "layers": 10, "cycle": 10})]
    if not quick:
        out.append(("vctk.yaml decoder (paper size)", asdict(load_recipe("recipes/vctk.yaml").model)))
    return out


def bench_generate(quick: bool) -> list[dict]:
    """Cached generation with latent + speaker conditioning (hop 64), fp32 CPU: compiled step vs PyTorch path."""
    from vqspeech.nn import wavenet_fast
    from vqspeech.nn.wavenet import WaveNet, WaveNetConfig

    peaks()
    rows = []
    torch.set_grad_enabled(False)
    for name, m in _decoders(quick):
        torch.manual_seed(0)
        net = WaveNet(WaveNetConfig(256, m["residual_channels"], m["gate_channels"], m["skip_channels"], m["layers"],
                                    m["cycle"], cond_channels=64, global_channels=16, hop=64)).eval()
        flop = 2 * net.step_weights  # multiply-adds per generated sample (conditioning is per frame)
        big = m["layers"] > 10
        for batch in (1, 16, 64, 256) if big else (1, 16):
            cond, g = torch.randn(batch, 64, 16000 // 64 + 2), torch.randn(batch, 16)
            rates = {}
            for path in ("compiled", "torch"):
                if path == "compiled" and (not wavenet_fast.available() or batch > 16):
                    continue
                steps = (1600 if big else 16000 if path == "compiled" else 4000) // (4 if batch > 1 else 1)
                net.generate(64, cond, g, fast=path == "compiled")
                t = _time(partial(net.generate, steps, cond, g, fast=path == "compiled"))
                rates[path] = steps * batch / t
            for path, rate in rates.items():
                row = {"decoder": name, "batch": batch, "path": path, "samples_per_s": round(rate),
                       "x_real_time": round(rate / 16000, 2), "gflops": round(flop * rate / 1e9, 2),
                       "of_matmul_peak": f"{flop * rate / 1e9 / _PEAKS['matmul_gflops']:.0%}"}
                if batch == 1:
                    gbs = net.step_weights * 4 * rate / 1e9
                    row["weights_gbs"] = round(gbs, 1)
                    row["of_matvec_bw"] = f"{gbs / _PEAKS['matvec_gbs']:.0%}"
                    if path == "compiled" and "torch" in rates:
                        row["vs_torch_path"] = round(rate / rates["torch"], 1)
                rows.append(row)
                print_row(row)
        if not big:  # steady-state naive recompute of the whole receptive field per sample
            hist = torch.randint(0, 256, (1, net.receptive_field))
            cond1 = torch.randn(1, 64, net.receptive_field // 64 + 22)
            net.generate_naive(1, cond1, g[:1], history=hist)
            rate = 20 / _time(partial(net.generate_naive, 20, cond1, g[:1], history=hist))
            rows.append({"decoder": name, "batch": 1, "path": "naive recompute", "samples_per_s": round(rate, 1)})
            print_row(rows[-1])
    torch.set_grad_enabled(True)
    return rows


def _long_wav(seconds: int) -> Path:
    """``seconds`` (a multiple of 60) of 16 kHz 16-bit speech-like audio (a modulated tone + noise), written once
    under /tmp."""
    import numpy as np
    import soundfile as sf

    path = Path(f"/tmp/vqspeech-bench/long-{seconds}s.wav")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        with sf.SoundFile(str(path), "w", 16000, 1, "PCM_16") as f:
            for minute in range(seconds // 60):
                t = np.arange(960000) / 16000 + minute * 60
                x = 0.3 * np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
                f.write((x + 0.01 * rng.standard_normal(len(t))).astype(np.float32))
    return path


def bench_encode(quick: bool) -> list[dict]:
    """``encode`` (chunked, batched) of one long file: throughput in the encoder's FLOPs against the matmul peak,
    and the process's peak RSS (a fresh interpreter per row)."""
    peaks()
    rows = []
    runs = [("recipes/demo.yaml", 600 if quick else 3600)] + ([] if quick else [("recipes/vctk.yaml", 3600)])
    for recipe, seconds in runs:
        res = run_child("encode", [recipe, str(_long_wav(seconds)), seconds])
        res["of_matmul_peak"] = f"{res['gflops'] / _PEAKS['matmul_gflops']:.0%}"
        rows.append({"encoder": recipe, **res})
        print_row(rows[-1])
    return rows


CONVERT_MODEL = {"checkpoint": "voices"}  # a path or a shipped model's name (bench.py --convert-model)


def bench_convert(quick: bool) -> list[dict]:
    """``vqspeech convert`` of 10 s of a real recording (the first held-out file of the voices corpus if present,
    else speech-like audio) with the real-voices model, as a user runs it: the whole command in a fresh process
    (start-up and model load included) and the encode + generate part alone."""
    import subprocess
    import tempfile

    import numpy as np
    import soundfile as sf

    from vqspeech.io.runs import find_checkpoint
    from vqspeech.speech.config import SPEECH_VQVAE
    from vqspeech.speech.data.audio import load_audio
    from vqspeech.speech.inference import encode_audio, load_vqvae, synthesize

    ckpt = find_checkpoint(CONVERT_MODEL["checkpoint"], (SPEECH_VQVAE,))
    model, meta = load_vqvae(ckpt)
    seconds = 3 if quick else 10
    wavs = sorted(Path("voices_corpus").glob("allison/en-*.wav"))
    audio = np.concatenate([load_audio(w, meta.sample_rate) for w in wavs[:20]]) if wavs else \
        np.asarray(load_audio(_long_wav(60), meta.sample_rate))
    audio = audio[: seconds * meta.sample_rate]
    rows = []
    t0 = time.perf_counter()
    codes = encode_audio(model, [audio])
    synthesize(model, codes, [len(meta.speakers) - 1])
    dt = time.perf_counter() - t0
    rows.append({"model": f"convert, in process: {ckpt.name}", "audio_s": seconds, "seconds": round(dt, 2),
                 "x_real_time": round(seconds / dt, 2)})
    print_row(rows[-1])
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.wav"
        sf.write(src, audio, meta.sample_rate)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vqspeech.cli", "--quiet", "convert", str(src), "--speaker",
                        meta.speakers[-1], "-o", str(Path(tmp) / "out.wav"), "-c", str(ckpt)], check=True)
        dt = time.perf_counter() - t0
    rows.append({"model": f"vqspeech convert (whole command): {ckpt.name}", "audio_s": seconds,
                 "seconds": round(dt, 2), "x_real_time": round(seconds / dt, 2)})
    print_row(rows[-1])
    return rows
