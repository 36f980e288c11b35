"""The partition driver: contract of the outputs, resume, bad inputs, summary and CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seisembed import cli
from seisembed import cli as seisembed_cli
from seisembed.columns import ARRIVAL_COLUMNS, QC_STATUSES, trace_name
from seisembed.config import default_config
from seisembed.errors import InputError
from seisembed.testing.archive import arrival_row, arrivals_frame, make_study
from seisembed.waveforms import driver as partition_mod
from seisembed.waveforms.driver import run_partition
from seisembed.waveforms.sds import SDSSource
from seisembed.waveforms.summary import summarize

PARTITION = "2014-03"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """24 arrivals in 2014-03 plus 4 in 2014-04 (another partition)."""
    root = tmp_path_factory.mktemp("study")
    study = make_study(root, n_events=6, n_stations=4, seed=2)
    april = make_study(
        root / "april", n_events=1, n_stations=4, seed=3, month_start=__import__("obspy").UTCDateTime(2014, 4, 10)
    )
    # one archive, one arrivals table holding both months
    for path in (april.sds).rglob("*.D.*"):
        target = study.sds / path.relative_to(april.sds)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    both = pd.concat([pd.read_parquet(study.arrivals), pd.read_parquet(april.arrivals)], ignore_index=True)
    both.to_parquet(study.arrivals, index=False)
    return study


def config(chunk_size: int = 5) -> dict:
    cfg = default_config()
    cfg["waveforms"]["chunk_size"] = chunk_size
    return cfg


@pytest.fixture(scope="module")
def clean_run(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    run_partition(study.arrivals, PARTITION, out, config(), SDSSource(study.sds, study.stationxml))
    return out


class CountingSource(SDSSource):
    """An SDS source that counts the window requests it serves."""

    requested: list

    def fetch(self, requests):
        self.requested = getattr(self, "requested", []) + [r.key for r in requests]
        yield from super().fetch(requests)


def test_outputs_follow_the_contract(study, clean_run):
    windows = np.load(clean_run / "windows.npy")
    table = pd.read_parquet(clean_run / "windows.parquet")
    qc = pd.read_parquet(clean_run / "qc.parquet")
    assert windows.dtype == np.float32 and windows.shape == (24, 3, 7200)
    assert list(table.columns[: len(ARRIVAL_COLUMNS)]) == list(ARRIVAL_COLUMNS)
    for col in (
        "trace_name",
        "trace_p_arrival_sample",
        "trace_sampling_rate_hz",
        "trace_start_time",
        "trace_channels",
        "trace_snr_db",
    ):
        assert col in table.columns
    assert (table["trace_p_arrival_sample"] == 1200).all() and (table["trace_sampling_rate_hz"] == 40.0).all()
    assert str(table["trace_start_time"].dtype) == "datetime64[ns, UTC]"
    assert (table["trace_start_time"] + pd.Timedelta(seconds=30) == table["trace_p_arrival_time"]).all()
    assert set(table["trace_channels"]) == {"BHZ,BHN,BHE", "BHZ,BH1,BH2"}
    names = [
        trace_name(r.source_id, r.station_network_code, r.station_code, r.station_location_code)
        for r in table.itertuples()
    ]
    assert names == table["trace_name"].tolist() and table["trace_name"].is_unique
    # the ledger: one row per requested arrival of this partition only
    assert len(qc) == 24 and set(qc["qc_status"]) <= set(QC_STATUSES)
    for col in (
        "source_id",
        "station_network_code",
        "station_code",
        "station_location_code",
        "trace_name",
        "qc_status",
        "qc_reason",
        "qc_attempts",
    ):
        assert col in qc.columns
    assert (pd.to_datetime(qc["trace_p_arrival_time"]).dt.strftime("%Y-%m") == PARTITION).all()
    ok = qc[qc["qc_status"] == "ok"]
    assert ok["trace_name"].tolist() == table["trace_name"].tolist()
    assert ok["qc_window_index"].tolist() == list(range(len(table)))
    # nothing temporary left behind
    assert sorted(p.name for p in clean_run.iterdir()) == ["qc.parquet", "windows.npy", "windows.parquet"]


def test_other_partition_and_empty_partition(study, tmp_path):
    ledger = run_partition(
        study.arrivals, "2014-04", tmp_path / "april", config(), SDSSource(study.sds, study.stationxml)
    )
    assert len(ledger) == 4 and (ledger["qc_status"] == "ok").all()
    empty = run_partition(
        study.arrivals, "2014-07", tmp_path / "july", config(), SDSSource(study.sds, study.stationxml)
    )
    assert len(empty) == 0
    assert np.load(tmp_path / "july" / "windows.npy").shape == (0, 3, 7200)
    assert len(pd.read_parquet(tmp_path / "july" / "windows.parquet")) == 0
    assert list(pd.read_parquet(tmp_path / "july" / "qc.parquet").columns) == list(partition_mod.QC_COLUMNS)


def test_resume_after_interruption_equals_clean_run(study, clean_run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    commits = []
    original = partition_mod.commit_chunk

    def commit_then_die(frame, path):
        original(frame, path)
        commits.append(path)
        if len(commits) == 2:
            raise KeyboardInterrupt("killed mid-partition")

    monkeypatch.setattr(partition_mod, "commit_chunk", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_partition(study.arrivals, PARTITION, out, config(), SDSSource(study.sds, study.stationxml))
    assert not (out / "qc.parquet").exists() and not (out / "windows.npy").exists()
    assert len(list((out / ".progress").glob("chunk-*.parquet"))) == 2
    monkeypatch.setattr(partition_mod, "commit_chunk", original)

    source = CountingSource(study.sds, study.stationxml)
    run_partition(study.arrivals, PARTITION, out, config(), source)
    assert min(source.requested) == 10 and len(source.requested) == 14  # chunks 0 and 1 were not refetched
    assert np.array_equal(np.load(out / "windows.npy"), np.load(clean_run / "windows.npy"))
    for name in ("windows.parquet", "qc.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(clean_run / name))
    assert not (out / ".progress").exists()


def test_changed_config_starts_over(study, tmp_path, monkeypatch):
    out = tmp_path / "out"
    original = partition_mod.commit_chunk

    def die(frame, path):
        original(frame, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(partition_mod, "commit_chunk", die)
    with pytest.raises(KeyboardInterrupt):
        run_partition(study.arrivals, PARTITION, out, config(), SDSSource(study.sds, study.stationxml))
    monkeypatch.setattr(partition_mod, "commit_chunk", original)
    cfg = config()
    cfg["waveforms"]["detrend"] = "demean"
    source = CountingSource(study.sds, study.stationxml)
    run_partition(study.arrivals, PARTITION, out, cfg, source)
    assert len(source.requested) == 24


def test_bad_arrivals_input_names_the_file(study, tmp_path):
    src = SDSSource(study.sds, study.stationxml)
    with pytest.raises(InputError, match="does not exist"):
        run_partition(tmp_path / "nope.parquet", PARTITION, tmp_path / "o", config(), src)
    frame = pd.read_parquet(study.arrivals)
    frame.drop(columns=["trace_p_arrival_time"]).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(InputError, match=r"a\.parquet: .*lacks column\(s\) trace_p_arrival_time"):
        run_partition(tmp_path / "a.parquet", PARTITION, tmp_path / "o", config(), src)
    pd.concat([frame, frame.iloc[[0]]]).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match="duplicated"):
        run_partition(tmp_path / "d.parquet", PARTITION, tmp_path / "o", config(), src)
    with pytest.raises(InputError, match="StationXML"):
        SDSSource(study.sds, tmp_path / "missing.xml")


def test_damaged_archive_file_is_an_error_row_not_a_crash(study, tmp_path):
    sds = tmp_path / "sds"
    for path in study.sds.rglob("*.D.*"):
        target = sds / path.relative_to(study.sds)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        if "S01" in path.name and "BHZ" in path.name:
            data = b"\x00garbage" * 100  # not miniSEED at all
        elif "S03" in path.name and "BH1" in path.name:
            data = data[: len(data) * 2 // 3 + 100]  # truncated inside a record
        target.write_bytes(data)
    ledger = run_partition(study.arrivals, PARTITION, tmp_path / "out", config(), SDSSource(sds, study.stationxml))
    s01 = ledger[ledger["station_code"] == "S01"]
    assert (s01["qc_status"] == "error").all() and s01["qc_reason"].str.contains("unreadable miniSEED").all()
    s03 = ledger[ledger["station_code"] == "S03"]
    assert s03["qc_status"].iloc[0] == "ok" and s03["qc_status"].iloc[-1] in ("short", "missing_component")
    assert (ledger.loc[ledger["station_code"].isin(["S00", "S02"]), "qc_status"] == "ok").all()
    assert set(ledger["qc_status"]) <= set(QC_STATUSES)


def test_qc_statuses_in_a_partition(tmp_path):
    """Artefacts written into a real archive end as their statuses (never ok)."""
    from obspy import Stream, UTCDateTime

    from seisembed.testing.archive import StationSpec, make_inventory, make_records, write_sds

    p = UTCDateTime(2014, 3, 5, 12)
    specs = {name: StationSpec(station=name) for name in ("OK", "GAP", "CLIP", "DEAD", "MISS", "RATE", "SHORT")}
    rows = []
    for name, spec in specs.items():
        st, _ = make_records(spec, p, seed=len(name))
        if name == "GAP":
            tr = st[1]
            st.remove(tr)
            st += Stream([tr.slice(None, p + 1), tr.slice(p + 6, None)])
        elif name == "CLIP":
            level = int(0.3 * np.abs(st[0].data).max())
            st[0].data = np.clip(st[0].data, -level, level)
        elif name == "DEAD":
            st[2].data[:] = 0
        elif name == "MISS":
            st.remove(st[2])
        elif name == "RATE":
            for tr in st:
                tr.stats.sampling_rate = 20.0
        elif name == "SHORT":
            st.trim(None, p + 60)
        write_sds(st, tmp_path / "sds")
        rows.append(arrival_row("ev1", p - 30, p, spec))
    make_inventory(list(specs.values())).write(str(tmp_path / "stations.xml"), format="STATIONXML")
    arrivals_frame(rows).to_parquet(tmp_path / "arrivals.parquet")
    ledger = run_partition(
        tmp_path / "arrivals.parquet",
        PARTITION,
        tmp_path / "out",
        config(),
        SDSSource(tmp_path / "sds", tmp_path / "stations.xml"),
    )
    got = dict(zip(ledger["station_code"], ledger["qc_status"]))
    assert got == {
        "OK": "ok",
        "GAP": "gap",
        "CLIP": "clipped",
        "DEAD": "missing_component",
        "MISS": "missing_component",
        "RATE": "bad_sampling_rate",
        "SHORT": "short",
    }
    assert np.load(tmp_path / "out" / "windows.npy").shape == (1, 3, 7200)


def test_cli_partitions_and_summary(study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config()
    cfg["waveforms"]["sds"] = {"root": str(study.sds), "inventory": str(study.stationxml)}
    blob = json.dumps({"waveforms": cfg["waveforms"], "seed": 1, "study": "t"})
    for part in ("2014-03", "2014-04"):
        assert (
            seisembed_cli.main(
                [
                    "waveforms",
                    "--config-json",
                    blob,
                    "--arrivals",
                    str(study.arrivals),
                    "--partition",
                    part,
                    "--output-dir",
                    f"w/{part}",
                ]
            )
            == 0
        )
    assert (
        seisembed_cli.main(
            [
                "waveforms",
                "--config-json",
                blob,
                "--summary",
                "w/summary.json",
                "--qc",
                "w/2014-03/qc.parquet",
                "w/2014-04/qc.parquet",
            ]
        )
        == 0
    )
    summary = json.loads(Path("w/summary.json").read_text())
    assert summary["requested"] == 28 and summary["counts"]["ok"] == 28
    assert set(summary["counts"]) == set(QC_STATUSES)
    assert summary["partitions"]["2014-04"]["requested"] == 4
    assert summary["provenance"]["config_hash"]
    assert (
        seisembed_cli.main(
            ["waveforms", "--config-json", blob, "--arrivals", str(study.arrivals), "--partition", "March"]
        )
        == 2
    )
    assert (
        seisembed_cli.main(
            ["waveforms", "--config-json", blob, "--arrivals", "missing.parquet", "--partition", "2014-03"]
        )
        == 1
    )


def test_summary_names_missing_ledger(tmp_path):
    with pytest.raises(InputError, match="qc.parquet"):
        summarize([tmp_path / "x" / "qc.parquet"], tmp_path / "s.json", config())


@pytest.mark.slow
def test_killed_process_resumes_to_the_clean_result(study, clean_run, tmp_path):
    """A real SIGKILL mid-partition (fdsn source, slow server), then a rerun."""
    from seisembed.testing.fdsn_server import FDSNTestServer

    with FDSNTestServer(study.sds, study.stationxml, latency_s=0.3) as server:
        cfg = config(chunk_size=4)
        cfg["waveforms"]["source"] = "fdsn"
        cfg["waveforms"]["fdsn"].update(
            base_url=server.url, cache_dir=str(tmp_path / "cache"), bulk_size=1, max_concurrent=2
        )
        blob = json.dumps({"waveforms": cfg["waveforms"], "seed": 1})
        cmd = [
            sys.executable,
            "-m",
            "seisembed.cli",
            "waveforms",
            "--config-json",
            blob,
            "--arrivals",
            str(study.arrivals),
            "--partition",
            PARTITION,
            "--output-dir",
            str(tmp_path / "out"),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        progress = tmp_path / "out" / ".progress"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(progress.glob("chunk-*.parquet"))) < 2:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done_before = len(list(progress.glob("chunk-*.parquet")))
        assert 2 <= done_before < 6 and not (tmp_path / "out" / "qc.parquet").exists()
        time.sleep(1.0)  # let the server finish requests the killed client left in flight
        server.reset_stats()
        assert subprocess.run(cmd, capture_output=True).returncode == 0
        lines = server.stats()["lines_served"]
    assert lines <= 24 - 4 * done_before
    assert np.array_equal(np.load(tmp_path / "out" / "windows.npy"), np.load(clean_run / "windows.npy"))
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out" / "windows.parquet"), pd.read_parquet(clean_run / "windows.parquet")
    )


class LossySource(SDSSource):
    """An SDS source that loses (or repeats) the result of request ``key`` once."""

    def __init__(self, *args, key: int, repeat: bool = False):
        super().__init__(*args)
        self.key, self.repeat, self.done = key, repeat, False

    def fetch(self, requests):
        for result in super().fetch(requests):
            if result.request.key == self.key and not self.done:
                self.done = True
                if self.repeat:
                    yield result
                    yield result
                continue
            yield result


@pytest.mark.parametrize("repeat", [False, True])
def test_lost_or_repeated_result_is_never_committed(study, clean_run, tmp_path, repeat):
    from seisembed.waveforms.base import SourceError

    out = tmp_path / "out"
    source = LossySource(study.sds, study.stationxml, key=7, repeat=repeat)
    with pytest.raises(SourceError, match=r"chunk 1 .*(missing rows \[7\]|repeated rows \[7\])"):
        run_partition(study.arrivals, PARTITION, out, config(), source)
    assert not (out / ".progress" / "chunk-00001.parquet").exists()  # chunk 1 holds rows 5-9
    run_partition(study.arrivals, PARTITION, out, config(), source)  # the rerun redoes it, cleanly
    assert np.array_equal(np.load(out / "windows.npy"), np.load(clean_run / "windows.npy"))
    pd.testing.assert_frame_equal(pd.read_parquet(out / "qc.parquet"), pd.read_parquet(clean_run / "qc.parquet"))


# -- moved from test_foundation.py (schema defaults, bad input)
@pytest.mark.parametrize(
    ("partition", "message"), [("2014-13", "not a month name"), ("2013-05", "outside the catalogue period")]
)
def test_partitions_outside_the_period_or_invalid_are_refused(tmp_path, partition, message):
    log = tmp_path / "w.log"
    code = cli.main(
        [
            "waveforms",
            "--arrivals",
            str(tmp_path / "a.parquet"),
            "--partition",
            partition,
            "--output-dir",
            str(tmp_path / "out"),
            "--log",
            str(log),
        ]
    )
    assert code == 2 and message in log.read_text() and not (tmp_path / "out").exists()


def test_snakemake_refuses_a_partition_target_outside_the_period(repo_root):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "results/waveforms/2014-13/qc.parquet"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "MissingRuleException" in proc.stdout + proc.stderr or "No rule to produce" in proc.stdout + proc.stderr
