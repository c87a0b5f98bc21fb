"""The benchmarks that run in a fresh interpreter, for clean peak-memory accounting (``bench_util.run_child``
starts ``python scripts/bench_children.py NAME JSON_ARGS``; each prints one JSON line).

- ``quant N D K CHUNK REPEAT``: one EMA quantizer forward + backward over ``N`` vectors: time and peak memory.
- ``cache ROOT CACHE STEPS``: open a corpus through the memory-mapped cache, draw ``STEPS`` training batches.
- ``encode RECIPE WAV SECONDS``: encode one long file as ``vqspeech encode`` does: throughput, FLOPs, peak RSS.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's vqspeech


def status_mib(key: str) -> float:
    """A ``/proc/self/status`` memory field in MiB: ``VmHWM`` is the kernel's high-water mark of this process's
    own memory (getrusage's ru_maxrss is carried over fork + exec, so it would report the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def quant(n: int, d: int, k: int, chunk: int | None, repeat: int) -> dict[str, Any]:
    import torch

    from vqspeech.quantize import VectorQuantizer

    torch.manual_seed(0)
    vq = VectorQuantizer(k, d, ema=True, chunk_size=chunk).train()
    z = torch.randn(1, d, n, requires_grad=True)

    def step() -> None:
        out = vq(z)
        (out.quantized.sum() + out.loss).backward()
        z.grad = None

    base = status_mib("VmRSS")
    step()
    peak = status_mib("VmHWM") - base
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return {"fwd_bwd_ms": round(best * 1000, 1), "peak_mib": round(peak, 1)}


def cache(root: str, cache_dir: str, steps: int) -> dict[str, Any]:
    from vqspeech.speech.data.corpora import discover
    from vqspeech.speech.data.dataset import AudioCorpus

    utts = discover(root)
    t0 = time.perf_counter()
    corpus = AudioCorpus(utts, 16000, sorted({u.speaker for u in utts}), cache_dir=cache_dir)
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in range(steps):
        corpus.crops(16, 16384, seed=s)
    per_batch = (time.perf_counter() - t0) / steps
    return {"hours": round(corpus.seconds / 3600, 2), "open_s": round(opened, 1),
            "batch_ms": round(per_batch * 1000, 2), "peak_rss_mib": round(status_mib("VmHWM"))}


def encode(recipe: str, wav: str, seconds: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from vqspeech.speech.commands import STREAM_SECONDS
    from vqspeech.speech.data.audio import audio_seconds, load_audio, stream_audio
    from vqspeech.speech.inference import encode_audio, encode_stream
    from vqspeech.speech.models import SpeechVQVAE
    from vqspeech.verbs import load_recipe

    cfg = load_recipe(recipe)
    torch.manual_seed(0)
    model = SpeechVQVAE(cfg.model, cfg.quantizer, 4, cfg.data.sample_rate).eval()
    flops = [0]

    def count(mod: torch.nn.Module, inp: Any, out: torch.Tensor) -> None:
        flops[0] += 2 * mod.weight.numel() * out.shape[0] * out.shape[-1]

    hooks = [m.register_forward_hook(count) for m in model.encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    sr = cfg.data.sample_rate
    probe = np.random.default_rng(0).standard_normal(sr * 4).astype(np.float32) * 0.1
    with torch.no_grad():
        model.encoder(torch.from_numpy(probe)[None])
    per_sample = flops[0] / len(probe)
    if hasattr(model.encoder, "front_end_flops_per_frame"):  # the log-mel front end: FFTs and the mel matmul
        per_sample += model.encoder.front_end_flops_per_frame / model.hop
    for h in hooks:
        h.remove()
    t0 = time.perf_counter()
    if audio_seconds(wav) > STREAM_SECONDS:  # as `vqspeech encode` reads a file
        codes, n = encode_stream(model, stream_audio(wav, sr))
    else:
        audio = load_audio(wav, sr)
        codes, n = encode_audio(model, [audio])[0], len(audio)
    dt = time.perf_counter() - t0
    assert len(codes) == -(-n // model.hop)
    return {"audio_s": seconds, "samples_per_s": round(n / dt), "x_real_time": round(n / sr / dt, 1),
            "encoder_mflop_per_sample": round(per_sample / 1e6, 3), "gflops": round(per_sample * n / dt / 1e9, 1),
            "peak_rss_mib": round(status_mib("VmHWM"))}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {"quant": quant, "cache": cache, "encode": encode}


def main() -> None:
    name, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(CHILDREN[name](*args)))


if __name__ == "__main__":
    main()
