"""Settings that cannot change a result do not invalidate it (issue 20, "Reruns").

A real Snakemake run of ``train_model`` and ``evaluate_runtime`` with a stand-in
``seisembed`` command (first on PATH; it writes empty outputs and records its
arguments), then dry runs after config edits: throughput settings
(``sampling.prefetch_batches``, ``sampling.cache``) and classifier-training settings the
runtime table never uses (``evaluate.srspec.epochs``, ``evaluate.svm.c_grid``) rerun
nothing, yet the job still receives the throughput values; a setting that does change
the result reruns its rule.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import yaml

from seisembed.config import validate_config
from seisembed.workflow import THROUGHPUT_KEYS, config_json
from tests.conftest import run_snakemake

FAKE = r"""#!/bin/sh
# stand-in for `seisembed`: record the arguments, write the rule's outputs (empty)
echo "$*" >> "$FAKE_SEISEMBED_LOG"
out=""; prev=""
for arg in "$@"; do
  if [ "$prev" = "--out-dir" ]; then out="$arg"; fi
  prev="$arg"
done
case "$1" in
  train) mkdir -p "$out/figures"
         touch "$out/model.keras" "$out/history.csv" "$out/model_card.json" "$out/model_card.md" \
               "$out/figures/training_curve.png" ;;
  evaluate) mkdir -p "$out"; touch "$out/runtime.json" "$out/runtime.md" ;;
esac
"""
TARGET = ["--allowed-rules", "train_model", "evaluate_runtime", "--", "results/metrics/runtime.json"]


def _workflow(repo: Path, dest: Path) -> Path:
    for name in ("Snakefile", "config.yaml"):
        shutil.copy2(repo / name, dest / name)
    for folder in ("workflow", "envs", "resources/isc"):
        shutil.copytree(repo / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "results/dataset/waveforms.zarr").mkdir(parents=True)  # the store: an input here
    return dest


def _edit(work: Path, **changes) -> None:
    """Set ``section.key`` (or ``section.sub.key``) values in the copy's config.yaml."""
    config = yaml.safe_load((work / "config.yaml").read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = config
        for part in parents:
            target = target.setdefault(part, {})
        target[key] = value
    (work / "config.yaml").write_text(yaml.safe_dump(config))


def _snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{work / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["FAKE_SEISEMBED_LOG"] = str(work / "calls.txt")
    proc = run_snakemake(["--cores", "1", *args, *TARGET], work, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _planned(proc: subprocess.CompletedProcess) -> set[str]:
    text = proc.stdout + proc.stderr
    return {rule for rule in ("train_model", "evaluate_runtime") if f"rule {rule}:" in text}


def test_throughput_and_unused_settings_rerun_nothing(repo_root: Path, tmp_path: Path):
    work = _workflow(repo_root, tmp_path)
    (work / "bin").mkdir()
    fake = work / "bin" / "seisembed"
    fake.write_text(FAKE)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)

    _snakemake(work)  # the real run (stand-in jobs): Snakemake records params and code
    calls = (work / "calls.txt").read_text()
    assert "train " in calls and "evaluate runtime" in calls
    assert "--prefetch-batches 2 --cache memory" in calls  # config.yaml's cache, the schema's prefetch

    _edit(
        work,
        sampling__prefetch_batches=7,
        sampling__cache="none",
        evaluate__srspec__epochs=3,
        evaluate__srspec__patience=1,
        evaluate__svm__c_grid=[1.0],
    )
    dry = _snakemake(work, "-n")
    assert _planned(dry) == set(), dry.stdout[-3000:]
    # ... and the job still gets the new throughput values
    forced = _snakemake(work, "-n", "-p", "--forcerun", "train_model")
    assert "--prefetch-batches 7 --cache none" in forced.stdout + forced.stderr

    _edit(work, evaluate__srspec__size=32)  # the runtime table times these spectrograms
    assert _planned(_snakemake(work, "-n")) == {"evaluate_runtime"}
    _edit(work, evaluate__srspec__size=64, sampling__events_per_batch=8)  # the training batches change
    assert _planned(_snakemake(work, "-n")) == {"train_model", "evaluate_runtime"}


def test_config_json_leaves_out_throughput_keys_and_takes_sub_keys():
    base = validate_config({})
    faster = validate_config({"sampling": {"prefetch_batches": 9, "cache": "memory"}})
    assert config_json(base, "model", "train", "sampling") == config_json(faster, "model", "train", "sampling")
    for key in THROUGHPUT_KEYS:
        section, name = key.split(".")
        assert name in base[section]  # every listed key exists
        assert name not in config_json(base, section)
    epochs = validate_config({"evaluate": {"srspec": {"epochs": 2}}})
    runtime = ("evaluate.srspec.size", "evaluate.srspec.band_hz")
    assert config_json(base, *runtime) == config_json(epochs, *runtime)
    assert '"srspec": {"band_hz": [2.0, 10.0], "size": 64}' in config_json(base, *runtime)
