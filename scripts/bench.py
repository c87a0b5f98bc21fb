#!/usr/bin/env python
"""vqspeech benchmark suite: prints a table per section and writes JSON.

Usage: python scripts/bench.py [--only quantizer,train,generate] [--json bench_results.json] [--quick]
"""

from __future__ import annotations

import argparse
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


QUANT_CHILD = """
import json, resource, sys, time, torch
from vqspeech.quantize import VectorQuantizer
n, d, k, chunk, repeat = json.loads(sys.argv[1])
torch.manual_seed(0)
vq = VectorQuantizer(k, d, ema=True, chunk_size=chunk).train()
z = torch.randn(1, d, n, requires_grad=True)
def step():
    out = vq(z)
    (out.quantized.sum() + out.loss).backward()
    z.grad = None
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
best = float("inf")
for _ in range(repeat):
    t0 = time.perf_counter(); step(); best = min(best, time.perf_counter() - t0)
print(json.dumps({"fwd_bwd_ms": round(best * 1000, 1), "peak_mib": round(peak / 1024, 1)}))
"""


def run_child(code: str, arg: object) -> dict:
    """Run ``code`` in a fresh interpreter (clean peak-memory accounting); it prints one JSON line."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(arg)], capture_output=True, text=True, check=True, cwd=root
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_quantizer(quick: bool) -> list[dict]:
    """EMA quantizer forward + backward: time and peak memory above the inputs, chunked vs unchunked."""
    rows = []
    sizes = [(65536, 64, 512), (131072, 256, 8192)]
    for n, d, k in sizes[:1] if quick else sizes:
        for chunk in (None, 8192):
            res = run_child(QUANT_CHILD, [n, d, k, chunk, 1 if n > 100000 else 3])
            rows.append({"N": n, "D": d, "K": k, "chunk": chunk or "none", **res})
            print_row(rows[-1])
    return rows


def print_row(row: dict) -> None:
    print("  " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


SECTIONS: dict[str, Callable[[bool], list[dict]]] = {"quantizer": bench_quantizer}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default="bench_results.json")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    result = {"machine": machine(), "results": {}}
    print(f"machine: {result['machine']}")
    for name in chosen:
        print(f"\n== {name} ==")
        result["results"][name] = SECTIONS[name](args.quick)
    Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
