"""The helper programs of ``scripts/`` are modules ruff and these tests see (no ``python -c`` strings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_no_script_runs_a_program_from_a_string() -> None:
    offenders = [f"{p.name}:{i}" for p in sorted((ROOT / "scripts").iterdir()) if p.suffix in (".py", ".sh")
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if ('"-c"' in line and ("sys.executable" in line or "python" in line)) or "python -c" in line
                 or "python3 -c" in line or ' -c "import' in line or " -c 'import" in line]
    assert not offenders, offenders


def test_the_quantizer_benchmark_child_reports_time_and_memory() -> None:
    out = _run("scripts/bench_children.py", "quant", json.dumps([512, 8, 16, None, 1]))
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(row) == {"fwd_bwd_ms", "peak_mib"} and row["fwd_bwd_ms"] > 0


def test_valid_ids_and_python_check(tmp_path: Path) -> None:
    (tmp_path / "split.json").write_text(json.dumps({"train": ["t"], "valid": ["a", "b", "c"]}))
    out = _run("scripts/valid_ids.py", str(tmp_path), "-n", "2")
    assert out.returncode == 0 and out.stdout.split() == ["a", "b"], out.stderr
    assert _run("scripts/check_python.py").returncode == 0
