"""The fdsn source against a local FDSN server with fault injection (no internet)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import numpy as np
import pandas as pd
import pytest

from seisembed.config import default_config
from seisembed.errors import ConfigError
from seisembed.testing.archive import make_study
from seisembed.testing.fdsn_server import Faults, FDSNTestServer
from seisembed.waveforms.driver import run_partition
from seisembed.waveforms.fdsn import FDSNSource, credentials_from_env
from seisembed.waveforms.limiter import RateLimiter
from seisembed.waveforms.sds import SDSSource

PARTITION = "2014-03"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("fdsn-study"), n_events=5, n_stations=4, seed=5)


@pytest.fixture(scope="module")
def sds_run(study, tmp_path_factory):
    """The reference: the same study read from the SDS archive."""
    out = tmp_path_factory.mktemp("sds-out")
    config = default_config()
    run_partition(study.arrivals, PARTITION, out, config, SDSSource(study.sds, study.stationxml))
    return out


def fdsn_config(url: str, cache, **fdsn) -> dict:
    config = default_config()
    config["waveforms"]["source"] = "fdsn"
    settings = dict(
        base_url=url,
        cache_dir=str(cache),
        timeout_s=2.0,
        backoff_s=0.01,
        backoff_max_s=0.05,
        max_retries=8,
        bulk_size=8,
        max_requests_per_s=100.0,
    )
    config["waveforms"]["fdsn"].update({**settings, **fdsn})
    return config


def run_fdsn(config: dict, study, out):
    source = FDSNSource(config["waveforms"]["fdsn"], seed=1)
    try:
        return run_partition(study.arrivals, PARTITION, out, config, source), source
    finally:
        source.close()


# corrupted payloads are garbage read as miniSEED on purpose: ObsPy warns about them (expected here only)
@pytest.mark.filterwarnings(r"ignore::UserWarning:obspy\.io\.mseed")
def test_faults_on_every_window_retrieved_once(study, sds_run, tmp_path):
    faults = Faults(transient_rate=0.3, corrupt_rate=0.15, max_bulk_lines=4, slow_s=0.8)
    with FDSNTestServer(study.sds, study.stationxml, faults=faults, seed=11) as server:
        config = fdsn_config(server.url, tmp_path / "cache", max_concurrent=3, max_requests_per_s=50.0)
        config["waveforms"]["fdsn"]["timeout_s"] = 0.4
        ledger, source = run_fdsn(config, study, tmp_path / "out")
        stats = server.stats()
    assert (ledger["qc_status"] == "ok").all(), ledger.loc[ledger.qc_status != "ok", "qc_reason"].tolist()
    assert ledger["trace_name"].is_unique
    windows = pd.read_parquet(tmp_path / "out" / "windows.parquet")
    assert windows["trace_name"].is_unique and len(windows) == len(ledger)
    reference = np.load(sds_run / "windows.npy")
    assert np.array_equal(np.load(tmp_path / "out" / "windows.npy"), reference)
    pd.testing.assert_frame_equal(windows, pd.read_parquet(sds_run / "windows.parquet"))
    # faults really happened, and were survived
    replies = stats["replies"]
    assert replies.get("413", 0) > 0
    injected = sum(v for k, v in replies.items() if k not in ("200", "413"))
    assert injected >= 3, replies
    assert ledger["qc_attempts"].max() > 1
    assert stats["max_concurrent"] <= 3


def test_concurrency_and_rate_limits_hold(study, tmp_path):
    with FDSNTestServer(study.sds, study.stationxml, latency_s=0.05) as server:
        config = fdsn_config(server.url, tmp_path / "cache", max_concurrent=2, max_requests_per_s=20.0, bulk_size=2)
        ledger, source = run_fdsn(config, study, tmp_path / "out")
        stats = server.stats()
    assert (ledger["qc_status"] == "ok").all()
    assert 1 < stats["max_concurrent"] <= 2
    assert stats["max_requests_in_1s"] <= 20
    assert source.limiter.max_in_flight <= 2


def test_rate_limiter_spacing_and_slots():
    limiter = RateLimiter(max_concurrent=2, max_per_second=20.0)

    def work():
        with limiter.slot():
            time.sleep(0.03)

    threads = [threading.Thread(target=work) for _ in range(10)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - t0 >= 9 / 20.0 - 0.01
    assert limiter.max_in_flight <= 2 and limiter.started == 10
    with pytest.raises(ValueError, match="max_concurrent"):
        RateLimiter(0, 1.0)


def test_persistently_failing_line_is_isolated_by_splitting(study, tmp_path):
    with FDSNTestServer(study.sds, study.stationxml, faults=Faults(fail_stations=("S02",))) as server:
        config = fdsn_config(server.url, tmp_path / "cache", max_retries=1, bulk_size=8)
        ledger, _ = run_fdsn(config, study, tmp_path / "out")
    bad = ledger["station_code"] == "S02"
    assert (ledger.loc[~bad, "qc_status"] == "ok").all()
    assert (ledger.loc[bad, "qc_status"] == "error").all()
    assert ledger.loc[bad, "qc_reason"].str.contains("FDSNInternalServerException").all()
    assert (ledger.loc[bad, "qc_attempts"] > 2).all()  # retried, then split down to one line


def test_no_data_and_unknown_station(study, tmp_path):
    arrivals = pd.read_parquet(study.arrivals)
    extra = arrivals.iloc[[0, 1]].copy()
    extra["source_id"] = ["late", "ghost"]
    extra["trace_p_arrival_time"] = extra["trace_p_arrival_time"] + pd.Timedelta(days=10)
    extra["source_origin_time"] = extra["source_origin_time"] + pd.Timedelta(days=10)
    extra.loc[extra.index[1], "station_code"] = "NOPE"
    path = tmp_path / "arrivals.parquet"
    pd.concat([arrivals, extra]).to_parquet(path)
    with FDSNTestServer(study.sds, study.stationxml) as server:
        config = fdsn_config(server.url, tmp_path / "cache")
        source = FDSNSource(config["waveforms"]["fdsn"])
        ledger = run_partition(path, PARTITION, tmp_path / "out", config, source)
        source.close()
    by_name = ledger.set_index("source_id")
    assert by_name.loc["late", "qc_status"] == "no_data" and "XX.S00" in by_name.loc["late", "qc_reason"]
    assert by_name.loc["ghost", "qc_status"] == "no_data" and "NOPE" in by_name.loc["ghost", "qc_reason"]
    assert (ledger["qc_status"] == "ok").sum() == len(arrivals)


def test_stationxml_fetched_once_and_cached(study, tmp_path):
    with FDSNTestServer(study.sds, study.stationxml) as server:
        config = fdsn_config(server.url, tmp_path / "cache")
        run_fdsn(config, study, tmp_path / "out1")
        first = server.stats()["requests"]["station"]
        server.reset_stats()
        run_fdsn(config, study, tmp_path / "out2")
        second = server.stats()["requests"].get("station", 0)
    assert first == 4 and second == 0
    assert len(list((tmp_path / "cache").rglob("*.xml"))) == 4


def test_credentials_only_from_env_and_never_logged(study, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SEISEMBED_FDSN_USER", "alice")
    monkeypatch.setenv("SEISEMBED_FDSN_PASSWORD", "s3cret-pw")
    caplog.set_level(logging.DEBUG)
    with FDSNTestServer(study.sds, study.stationxml) as server:
        config = fdsn_config(server.url, tmp_path / "cache")
        source = FDSNSource(config["waveforms"]["fdsn"])
        assert "s3cret" not in source.describe() and "authenticated" in source.describe()
        ledger = run_partition(study.arrivals, PARTITION, tmp_path / "out", config, source)
        source.close()
    assert (ledger["qc_status"] == "ok").all()
    assert "s3cret" not in caplog.text
    for path in (tmp_path / "out").iterdir():
        assert b"s3cret" not in path.read_bytes()
    monkeypatch.delenv("SEISEMBED_FDSN_PASSWORD")
    with pytest.raises(ConfigError, match="SEISEMBED_FDSN_PASSWORD"):
        credentials_from_env(config["waveforms"]["fdsn"])
    monkeypatch.setenv("SEISEMBED_EIDA_TOKEN", "tok")
    monkeypatch.delenv("SEISEMBED_FDSN_USER")
    assert credentials_from_env(config["waveforms"]["fdsn"]) == {"eida_token": "tok"}


def test_empty_http_200_reply_is_no_data(study, tmp_path):
    faults = Faults(transient_rate=1.0, kinds=("empty",))
    with FDSNTestServer(study.sds, study.stationxml, faults=faults) as server:
        config = fdsn_config(server.url, tmp_path / "cache")
        source = FDSNSource(config["waveforms"]["fdsn"])
        source.prefetch_inventories([])
        server.faults = Faults()  # StationXML normally ...
        source.prefetch_inventories([("XX", f"S{i:02d}") for i in range(4)])
        server.faults = faults  # ... data replies empty
        ledger = run_partition(study.arrivals, PARTITION, tmp_path / "out", config, source)
        source.close()
    assert (ledger["qc_status"] == "no_data").all()
    assert ledger["qc_reason"].str.contains("no data").all()


@pytest.mark.parametrize("url", ["EARTHSCOP", "htp:/nowhere", "https://bob:pw123@"])
def test_bad_base_url_is_a_config_error_before_any_request(tmp_path, url):
    with pytest.raises(ConfigError, match="waveforms.fdsn.base_url") as info:
        FDSNSource({"base_url": url, "cache_dir": str(tmp_path)})
    assert "pw123" not in str(info.value)


@contextlib.contextmanager
def _closed_port():
    """The URL of a local port nobody listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


def test_failed_stationxml_is_not_refetched_per_arrival(tmp_path, monkeypatch):
    from seisembed.waveforms.base import SourceError

    with _closed_port() as url:
        source = FDSNSource(
            {"base_url": url, "cache_dir": str(tmp_path), "max_retries": 1, "backoff_s": 0.001, "timeout_s": 1.0},
            sleep=lambda s: None,
        )
        # a station-specific failure, not an outage: the service's version page "answers"
        monkeypatch.setattr(source, "_ensure_reachable", lambda what, last: None)
        calls = []
        original = source._load_inventory
        monkeypatch.setattr(source, "_load_inventory", lambda net, sta: calls.append((net, sta)) or original(net, sta))
        try:
            source.prefetch_inventories([("XX", "STA")] * 3)
            for _ in range(5):  # e.g. five arrivals at the station
                with pytest.raises(SourceError, match="XX.STA"):
                    source.get_inventory("XX", "STA")
        finally:
            source.close()
    assert calls == [("XX", "STA")]


def test_rate_limiter_keeps_every_one_second_window_at_the_rate():
    rate = 20.0
    limiter = RateLimiter(max_concurrent=5, max_per_second=rate)
    starts: list[float] = []
    lock = threading.Lock()

    def work():
        with limiter.slot(), lock:
            starts.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(45)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    # closed windows [t, t + 1 s]: exact 1/rate spacing would put rate + 1 starts in one
    busiest = max(sum(1 for u in starts[i:] if u - t <= 1.0) for i, t in enumerate(starts))
    assert busiest <= rate


def _closed_port_url() -> str:
    """An http://127.0.0.1 URL on which nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_outage_stops_the_run_instead_of_splitting(study, tmp_path):
    from seisembed.waveforms.base import DataCentreUnreachable

    config = fdsn_config(_closed_port_url(), tmp_path / "cache", max_retries=1, bulk_size=16)
    out = tmp_path / "out"
    t0 = time.monotonic()
    with pytest.raises(DataCentreUnreachable, match="stopped answering.*rerun the rule to resume"):
        run_fdsn(config, study, out)
    # no descent to single lines: one request + retry + three probes, in well under a minute
    assert time.monotonic() - t0 < 30
    assert not (out / PARTITION / "qc.parquet").exists(), "an outage must not finish the partition with error rows"


@pytest.fixture(scope="module")
def larger_study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("fdsn-larger"), n_events=12, n_stations=10, seed=5)


@pytest.mark.filterwarnings(r"ignore::UserWarning:obspy\.io\.mseed")
def test_cut_or_damaged_replies_are_asked_again_not_lost(larger_study, tmp_path):
    """A clean HTTP 200 missing records (cut at a record boundary, or a record the reader drops) is
    detected by comparing the reply with the request, and asked again: no window is lost."""
    study = larger_study
    reference = run_partition(
        study.arrivals, PARTITION, tmp_path / "sds", default_config(), SDSSource(study.sds, study.stationxml)
    )
    faults = Faults(corrupt_rate=0.2, corrupt_kinds=("cut", "flip"))
    with FDSNTestServer(study.sds, study.stationxml, faults=faults, seed=4) as server:
        ledger, _ = run_fdsn(fdsn_config(server.url, tmp_path / "cache"), study, tmp_path / "out")
        replies = server.stats()["replies"]
    assert replies.get("cut", 0) + replies.get("flip", 0) >= 3, replies
    merged = reference.merge(ledger, on="trace_name", suffixes=("_sds", "_fdsn"))
    assert (merged["qc_status_sds"] == merged["qc_status_fdsn"]).all(), merged.loc[
        merged.qc_status_sds != merged.qc_status_fdsn, "qc_reason_fdsn"
    ].tolist()
    assert np.array_equal(np.load(tmp_path / "out" / "windows.npy"), np.load(tmp_path / "sds" / "windows.npy"))
    assert ledger["qc_attempts"].max() > 1


def test_replies_that_stay_incomplete_and_differ_end_as_error(study, tmp_path, caplog, monkeypatch):
    """A line whose every reply is incomplete, and different each time, is an 'error' with its reason."""
    from seisembed.waveforms import fdsn

    real_bulk, calls = fdsn._bulk, []

    def shrinking_bulk(client, bulk, requests):
        stream = real_bulk(client, bulk, requests)
        calls.append(len(requests))
        for tr in stream:  # each reply ends a little earlier than the last: never complete, never equal
            tr.data = tr.data[: len(tr.data) // 2 - len(calls)]
        return stream

    monkeypatch.setattr(fdsn, "_bulk", shrinking_bulk)
    with (
        FDSNTestServer(study.sds, study.stationxml) as server,
        caplog.at_level(logging.WARNING, logger="seisembed.waveforms.fdsn"),
    ):
        config = fdsn_config(server.url, tmp_path / "cache", max_retries=2)
        ledger, _ = run_fdsn(config, study, tmp_path / "out")
    assert (ledger["qc_status"] == "error").all()
    assert ledger["qc_reason"].str.contains("3 replies were incomplete and differed").all()
    assert (ledger["qc_attempts"] == 3).all()
    assert "recorded as 'error'" in caplog.text


def test_complete_reply_check():
    from obspy import Stream, Trace, UTCDateTime

    from seisembed.waveforms.base import WindowRequest
    from seisembed.waveforms.fdsn import is_complete

    t0 = UTCDateTime(2014, 3, 1)
    req = WindowRequest(0, "XX", "S1", "", "BH?", t0, t0 + 180, channels=("BHZ", "BHN", "BHE"))

    def trace(channel, start, seconds):
        return Trace(
            np.zeros(int(seconds * 40) + 1, dtype=np.int32),
            header={"network": "XX", "station": "S1", "channel": channel, "sampling_rate": 40.0, "starttime": start},
        )

    full = Stream([trace(c, t0 - 10, 200) for c in ("BHZ", "BHN", "BHE")])
    assert is_complete(full, req)
    assert not is_complete(Stream(full[:2]), req)  # a channel missing
    cut = Stream([*full[:2], trace("BHE", t0 - 10, 100)])
    assert not is_complete(cut, req)  # ends early
    gappy = Stream([*full[:2], trace("BHE", t0 - 10, 50), trace("BHE", t0 + 60, 140)])
    assert not is_complete(gappy, req)
    split = Stream([*full[:2], trace("BHE", t0 - 10, 100), trace("BHE", t0 + 90.025, 110)])
    assert is_complete(split, req)  # two records back to back
    assert is_complete(None, WindowRequest(0, "XX", "S1", "", "BH?", t0, t0 + 1))  # nothing to compare with


def test_a_line_cut_off_whole_twice_is_asked_alone_before_it_counts_as_no_data(tmp_path):
    """Two cut replies in a row can both lose a whole line: only a single-line request confirms no data."""
    from obspy import Stream, Trace, UTCDateTime
    from obspy.clients.fdsn.header import FDSNNoDataException

    from seisembed.waveforms.base import FetchResult, WindowRequest

    t0 = UTCDateTime("2014-03-01T00:00:00")
    reqs = [
        WindowRequest(k, "XX", f"S0{k}", "", "BH?", t0, t0 + 60, channels=("BHZ",)) for k in range(3)
    ]  # fmt: skip

    def data(r: WindowRequest) -> Stream:
        return Stream([Trace(np.zeros(2401), header={"network": "XX", "station": r.station, "channel": "BHZ",
                                                      "sampling_rate": 40.0, "starttime": t0})])  # fmt: skip

    # S00 and S01 missing from the first (multi-line) reply; S02 really has no data
    calls = []

    def scripted(what, func):
        requests = func.keywords["requests"]
        calls.append([r.station for r in requests])
        if len(requests) > 1:  # a cut reply again: nothing for any line
            return Stream(), 1
        if requests[0].station == "S02":
            raise FDSNNoDataException("204")
        return data(requests[0]), 1

    source = FDSNSource(fdsn_config(_closed_port_url(), tmp_path)["waveforms"]["fdsn"], sleep=lambda s: None)
    try:
        source._call = scripted
        first = [FetchResult(r, Stream(), 1) for r in reqs]
        final = source._complete_or_ask_again(first, "bulk")
    finally:
        source.close()
    assert sorted(calls) == [["S00"], ["S01"], ["S02"]]  # each empty line asked alone, none in a bulk
    assert [len(r.stream) for r in final] == [1, 1, 0] and all(r.status is None for r in final)


# -- moved from test_foundation.py (schema defaults, bad input)
def test_isc_settings_processing_and_fdsn_take_schema_defaults(tmp_path):
    from seisembed.catalog.isc_web import ISCSettings
    from seisembed.waveforms.fdsn import FDSNSource
    from seisembed.waveforms.processing import ProcessingOptions, WindowSpec

    defaults = default_config()
    assert ISCSettings.from_config({}) == ISCSettings(**defaults["catalog"]["isc"])
    assert WindowSpec.from_config({}) == WindowSpec(40.0, 30.0, 150.0) == WindowSpec.from_config(defaults["waveforms"])
    assert ProcessingOptions.from_config({}) == ProcessingOptions.from_config(defaults["waveforms"])
    source = FDSNSource({"cache_dir": str(tmp_path)})
    try:
        assert source.section == {**defaults["waveforms"]["fdsn"], "cache_dir": str(tmp_path)}
        assert source.bulk_size == defaults["waveforms"]["fdsn"]["bulk_size"]
    finally:
        source.close()
