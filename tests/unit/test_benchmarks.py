"""The benchmark scripts stay runnable: each imports and answers --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_script_answers_help(script: Path):
    proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage" in proc.stdout.lower()


def test_synthesize_benchmark_runs_a_few_records():
    script = next(p for p in BENCHMARKS if p.stem == "synthesize")
    proc = subprocess.run([sys.executable, str(script), "20", "--child"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"records": 20' in proc.stdout


def test_gpu_script_parses_and_refuses_to_measure_without_a_gpu(repo_root: Path):
    proc = subprocess.run(["bash", "-n", str(repo_root / "benchmarks" / "gpu.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible here: the refusal is for machines without one")
    script = next(p for p in BENCHMARKS if p.stem == "train")
    proc = subprocess.run(
        [sys.executable, str(script), "--require-gpu"], capture_output=True, text=True, timeout=300, cwd=repo_root
    )
    assert proc.returncode == 1 and "sees no GPU" in proc.stdout
