"""The SLURM profile end to end on a local single-node SLURM whose node has a GPU GRES (marker ``cluster``).

Start one with ``tests/cluster/start_local_slurm.sh`` (Debian, as root: apt-get install
slurm-wlm munge); it configures ``GresTypes=gpu`` and one GPU on the node. Skipped,
saying why, where no SLURM controller answers. Run with ``pytest -m cluster``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workflow.test_workflow import _copy_workflow


def _slurm_running() -> bool:
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    proc = subprocess.run(["sinfo", "-h"], capture_output=True, text=True)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _node_gpus() -> int:
    out = subprocess.run(["scontrol", "show", "node"], capture_output=True, text=True).stdout
    match = re.search(r"Gres=gpu:(\d+)", out)
    return int(match.group(1)) if match else 0


pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(not _slurm_running(), reason="no SLURM controller answers (tests/cluster/start_local_slurm.sh)"),
]


def _partition() -> str:
    out = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True).stdout
    return out.split()[0].rstrip("*")


def _test_profile(work: Path) -> Path:
    """``profiles/slurm`` sized for a 2-core test node: the same keys (the GPU request included), smaller numbers.

    (Giving ``--set-resources`` on the command line would replace the profile's whole
    ``set-resources`` of a rule, its ``gpu`` too, and so test nothing.)
    """
    profile = yaml.safe_load((work / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"].update(slurm_partition=_partition(), mem_mb=1500, runtime=30, cpus_per_task=1)
    for resources in profile["set-resources"].values():
        resources["mem_mb"] = min(int(resources.get("mem_mb", 1500)), 2500)
        resources["runtime"] = 30
        if "cpus_per_gpu" in resources:
            resources["cpus_per_gpu"] = 1
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    profile["jobs"] = 2
    # this test SLURM keeps no accounting (no slurmdbd): ask squeue, and soon
    profile.update(
        {"slurm-no-account": True, "slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 5}
    )
    folder = work / "profiles/slurm-test"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def _profile_run(work: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--profile",
            str(_test_profile(work)),
            "--configfile",
            "tests/workflow/config.yaml",
            *targets,
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=2400,
    )


@pytest.mark.skipif(_slurm_running() and _node_gpus() < 1, reason="the SLURM node advertises no GPU GRES")
def test_tiny_workflow_through_the_profile_trains_on_the_granted_gpu(repo_root: Path, tmp_path: Path):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    profile = yaml.safe_load((repo_root / "profiles/slurm/config.yaml").read_text())
    for rule in ("train_model", "embed_store"):  # the keys the plugin accepts, not --gres in slurm_extra
        assert profile["set-resources"][rule]["gpu"] == 1 and "slurm_extra" not in profile["set-resources"][rule]
    work = _copy_workflow(repo_root, tmp_path)
    proc = _profile_run(work)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    for name in ("model/model.keras", "embeddings/embeddings.parquet", "report/index.html"):
        assert (work / "results" / name).is_file(), name
    # the training job ran as a SLURM job that was granted the GPU...
    card = json.loads((work / "results/model/model_card.json").read_text())
    grant = card["slurm"]
    assert grant.get("SLURM_JOB_ID") and grant.get("SLURM_GPUS_ON_NODE") == "1", grant
    # ... and SLURM's own record of that job says so
    job = subprocess.run(["scontrol", "show", "job", grant["SLURM_JOB_ID"]], capture_output=True, text=True).stdout
    assert "gres/gpu=1" in job or "gres:gpu:1" in job or "gpu:1" in job, job
