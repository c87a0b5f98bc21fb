"""Helpers shared by the benchmark modules (``scripts/bench.py`` runs them all)."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def timeit(fn: Callable[[], object], repeat: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# Peak memory of a child benchmark: the kernel's high-water mark of this process's own memory (VmHWM).
# getrusage's ru_maxrss is not usable here: Linux carries it over fork + exec, so a child would report the
# parent benchmark's peak whenever that is larger.
PEAK_FN = """
def _status_mib(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) / 1024
"""

QUANT_CHILD = PEAK_FN + """
import json, sys, time, torch
from vqspeech.quantize import VectorQuantizer
n, d, k, chunk, repeat = json.loads(sys.argv[1])
torch.manual_seed(0)
vq = VectorQuantizer(k, d, ema=True, chunk_size=chunk).train()
z = torch.randn(1, d, n, requires_grad=True)
def step():
    out = vq(z)
    (out.quantized.sum() + out.loss).backward()
    z.grad = None
base = _status_mib('VmRSS')
step()
peak = _status_mib('VmHWM') - base
best = float("inf")
for _ in range(repeat):
    t0 = time.perf_counter(); step(); best = min(best, time.perf_counter() - t0)
print(json.dumps({"fwd_bwd_ms": round(best * 1000, 1), "peak_mib": round(peak, 1)}))
"""


def run_child(code: str, arg: object) -> dict:
    """Run ``code`` in a fresh interpreter (clean peak-memory accounting); it prints one JSON line."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(arg)], capture_output=True, text=True, check=True, cwd=root
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_row(row: dict) -> None:
    print("  " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


