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


def run_child(name: str, arg: object) -> dict:
    """Run the benchmark ``name`` of ``scripts/bench_children.py`` in a fresh interpreter (clean peak-memory
    accounting) with the JSON arguments ``arg``; it prints one JSON line."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "scripts" / "bench_children.py"), name, json.dumps(arg)],
                         capture_output=True, text=True, check=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_row(row: dict) -> None:
    print("  " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


