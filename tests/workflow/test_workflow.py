"""The Snakemake workflow itself: dry runs, lint, and a tiny end-to-end run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_snakemake


def _copy_workflow(repo: Path, dest: Path) -> Path:
    """A self-contained copy of the workflow (no results) in ``dest``."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy2(repo / name, dest / name)
    for folder in ("workflow", "profiles", "envs", "presets", "resources/isc", "tests/workflow"):
        if (repo / folder).exists():
            shutil.copytree(repo / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return dest


def test_dry_run_of_default_config(repo_root: Path, tmp_path: Path):
    work = _copy_workflow(repo_root, tmp_path)
    proc = run_snakemake(["-n", "--cores", "2"], work)
    assert proc.returncode == 0, proc.stderr
    assert "synthesize" in proc.stdout + proc.stderr


def test_lint_is_clean(repo_root: Path, tmp_path: Path):
    work = _copy_workflow(repo_root, tmp_path)
    proc = run_snakemake(["--lint"], work)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tiny_end_to_end_run(repo_root: Path, tmp_path: Path):
    work = _copy_workflow(repo_root, tmp_path)
    proc = run_snakemake(["--cores", "2", "--configfile", "tests/workflow/config.yaml"], work, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (work / "results/ci/synthetic/events.xml").is_file()
    # A second run has nothing to do.
    again = run_snakemake(["-n", "--cores", "2", "--configfile", "tests/workflow/config.yaml"], work)
    assert "Nothing to be done" in again.stdout + again.stderr
