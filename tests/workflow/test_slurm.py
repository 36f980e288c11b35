"""The SLURM profile end to end on a local single-node SLURM (slow; skipped without SLURM).

Start one with ``tests/cluster/start_local_slurm.sh`` (Debian: apt-get install slurm-wlm munge).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.test_workflow import _copy_workflow


def _slurm_running() -> bool:
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    proc = subprocess.run(["sinfo", "-h"], capture_output=True, text=True)
    return proc.returncode == 0 and bool(proc.stdout.strip())


@pytest.mark.slow
@pytest.mark.skipif(not _slurm_running(), reason="no SLURM controller answers (tests/cluster/start_local_slurm.sh)")
def test_slurm_profile_runs_the_synthesize_stage(repo_root: Path, tmp_path: Path):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    partition = (
        subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True)
        .stdout.split()[0]
        .rstrip("*")
    )
    work = _copy_workflow(repo_root, tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--profile",
            "profiles/slurm",
            "--configfile",
            "tests/workflow/config.yaml",
            "--slurm-no-account",
            "--slurm-status-command",
            "squeue",
            "--default-resources",
            f"slurm_partition={partition}",
            "mem_mb=2000",
            "runtime=30",
            "cpus_per_task=1",
            "--set-resources",
            "synthesize:mem_mb=2000",
            "--jobs",
            "2",
            "synthesize",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "slurm" in out.lower()
    assert (work / "results/ci/synthetic/events.xml").is_file()
