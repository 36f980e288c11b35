"""The build_dataset rule: a copy of the workflow runs it end to end (its target only)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from seisembed.dataset.testing import synthetic_metadata, write_partitions
from tests.conftest import run_snakemake


def _snakemake(cwd: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    """``snakemake <args> build_dataset`` with the copied config and the test's extra config."""
    return run_snakemake([*args, "build_dataset", "--configfile", "config.yaml", "extra.yaml"], cwd, timeout)


@pytest.mark.slow
def test_build_dataset_rule_runs(repo_root: Path, tmp_path: Path):
    for name in ("Snakefile", "config.yaml"):
        shutil.copy2(repo_root / name, tmp_path / name)
    for folder in ("workflow", "envs", "profiles", "resources/isc"):
        shutil.copytree(repo_root / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    assert 'include: "workflow/rules/dataset.smk"' in (tmp_path / "Snakefile").read_text()
    # the whole config is checked at parse time, the model too: its spectral front end must fit
    # these 10 s windows at 10 Hz (the default's 4 s frames in a 512-sample FFT would not)
    config = (
        "waveforms: {sampling_rate_hz: 10.0, window_before_s: 3.0, window_after_s: 7.0}\n"
        "dataset: {held_out_stations: {count: 5}, months: {search_tries: 50}, min_records_per_event: {train: 5}}\n"
        "model: {spectral: {frame_s: 2.0, hop_s: 0.5, fft_length: 32, bands: 6, min_hz: 0.5, max_hz: 5.0}}\n"
    )
    (tmp_path / "extra.yaml").write_text(config)
    meta = synthetic_metadata(
        80, n_stations=40, records_per_event=(6, 20), seed=3, box_events=4, rate_hz=10.0, before_s=3.0
    )
    write_partitions(tmp_path / "results/waveforms", meta, seed=3, n_samples=100)
    proc = _snakemake(tmp_path, "--cores", "2", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    card = json.loads((tmp_path / "results/dataset/card.json").read_text())
    assert card["counts"]["total"]["records"] > 0
    assert (tmp_path / "results/dataset/figures/dataset_map.png").is_file()
    assert (tmp_path / "logs/dataset/build_dataset.log").is_file()
    again = _snakemake(tmp_path, "-n", "--cores", "2", timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr
