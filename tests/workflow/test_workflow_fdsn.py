"""The whole workflow with its waveforms fetched over FDSN from a local server (slow).

The tiny study runs twice: once reading the synthetic SDS archive directly (the default
path), once fetching the same archive through a local FDSN web service on 127.0.0.1 that
injects transient faults. Both must give identical windows and QC ledgers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from seisembed.testing.fdsn_server import Faults, FDSNTestServer
from tests.conftest import run_snakemake
from tests.workflow.test_workflow import _copy_workflow


def _run(work: Path, *configfiles: str) -> None:
    args = ["--cores", "2", "--configfile", "tests/workflow/config.yaml", *configfiles]
    proc = run_snakemake(args, work, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
def test_fdsn_source_through_the_workflow_equals_sds(repo_root: Path, tmp_path: Path):
    (tmp_path / "sds").mkdir()
    (tmp_path / "fdsn").mkdir()
    sds_work = _copy_workflow(repo_root, tmp_path / "sds")
    _run(sds_work)
    archive = sds_work / "results/ci/synthetic"

    fdsn_work = _copy_workflow(repo_root, tmp_path / "fdsn")
    faults = Faults(transient_rate=0.2, kinds=("503", "429", "reset"))
    with FDSNTestServer(archive / "sds", archive / "stations.xml", faults=faults, seed=3) as server:
        extra = fdsn_work / "fdsn.yaml"
        extra.write_text(
            yaml.safe_dump(
                {
                    "waveforms": {
                        "source": "fdsn",
                        "fdsn": {
                            "base_url": server.url,
                            "backoff_s": 0.05,
                            "backoff_max_s": 0.2,
                            "max_retries": 20,
                            "cache_dir": "resources/waveforms/stationxml",
                        },
                    }
                }
            )
        )
        _run(fdsn_work, "fdsn.yaml")
        stats = server.stats()
    assert sum(stats["requests"].values()) > 0, "the FDSN run did not talk to the server"
    assert stats["max_concurrent"] <= 5

    compared = 0
    for qc_path in sorted((sds_work / "results/waveforms").glob("*/qc.parquet")):
        partition = qc_path.parent.name
        other = fdsn_work / "results/waveforms" / partition
        qc_sds = pd.read_parquet(qc_path)
        qc_fdsn = pd.read_parquet(other / "qc.parquet")
        assert qc_sds["qc_status"].tolist() == qc_fdsn["qc_status"].tolist(), partition
        np.testing.assert_array_equal(np.load(qc_path.parent / "windows.npy"), np.load(other / "windows.npy"))
        compared += int((qc_sds["qc_status"] == "ok").sum())
    assert compared > 50
    assert (fdsn_work / "results/dataset/card.md").is_file()
