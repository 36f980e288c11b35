"""Benchmark: the waveform stage vs the naive way, against a local FDSN server with latency.

The server (:mod:`seisembed.testing.fdsn_server`, in its own process) serves a
generated SDS archive and adds ``--latency`` seconds (default 50 ms) to every
request. In one run this measures

* the stage (``seisembed waveforms`` with the ``fdsn`` source at its default politeness:
  at most 5 concurrent requests, 10 requests/s, bulk requests of 100 windows),
  for two partition sizes, each in a fresh process: windows/s and peak memory;
* the naive way (one ``get_waveforms`` per window, serially, as the paper's
  authors did; same processing, StationXML fetched once per station): windows/s;

and prints the speed-up and the server's highest observed concurrency (which
must never exceed the limit).

    python benchmarks/waveforms.py                  # sizes 500 and 2000, naive on 150
    python benchmarks/waveforms.py --sizes 200 800 --naive 100
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from seisembed.provenance import peak_rss_mb

log = logging.getLogger("benchmarks.waveforms")

PARTITION = "2014-03"


def _stage_config(url: str, cache: Path) -> dict:
    from seisembed.config import default_config

    config = default_config()
    config["waveforms"]["source"] = "fdsn"
    config["waveforms"]["fdsn"].update(base_url=url, cache_dir=str(cache))
    return config


def child(args: argparse.Namespace) -> int:
    """Run the stage once, as the workflow rule does (``seisembed waveforms``), in a fresh process.

    Prints {windows, arrivals, seconds, maxrss_mb, rss_after_imports_mb} as JSON.
    """
    import pandas as pd

    from seisembed import cli
    from seisembed.waveforms import fdsn, partition  # noqa: F401 - imported before the clock starts

    config = _stage_config(args.url, Path(args.cache))
    blob = json.dumps({"waveforms": config["waveforms"], "seed": config["seed"], "study": "benchmark"})
    base_rss = peak_rss_mb()
    t0 = time.perf_counter()
    status = cli.main(
        [
            "waveforms",
            "--config-json",
            blob,
            "--arrivals",
            args.arrivals,
            "--partition",
            PARTITION,
            "--output-dir",
            args.out,
        ]
    )
    seconds = time.perf_counter() - t0
    if status:
        raise SystemExit(f"seisembed waveforms failed with status {status}")
    ledger = pd.read_parquet(Path(args.out) / "qc.parquet")
    print(
        json.dumps(
            {
                "windows": int((ledger["qc_status"] == "ok").sum()),
                "arrivals": len(ledger),
                "seconds": seconds,
                "maxrss_mb": peak_rss_mb(),
                "rss_after_imports_mb": base_rss,
            }
        )
    )
    return 0


def naive(url: str, arrivals, config: dict) -> tuple[int, float]:
    """One get_waveforms per window, serially; returns (ok windows, seconds)."""
    from obspy import UTCDateTime
    from obspy.clients.fdsn import Client

    from seisembed.waveforms.processing import ProcessingOptions, QCFailure, WindowSpec, choose_channels, make_window

    section = config["waveforms"]
    spec, options, pad = WindowSpec.from_config(section), ProcessingOptions.from_config(section), section["pad_s"]
    client = Client(url, _discover_services=False)
    inventories: dict = {}
    ok = 0
    t0 = time.perf_counter()
    for row in arrivals.itertuples():
        net, sta = row.station_network_code, row.station_code
        if (net, sta) not in inventories:
            inventories[(net, sta)] = client.get_stations(network=net, station=sta, level="channel")
        inv = inventories[(net, sta)]
        p = UTCDateTime(ns=int(row.trace_p_arrival_time.value))
        chset = choose_channels(
            inv, net, sta, row.station_location_code, p, section["channel_priority"], section["location_priority"]
        )
        st = client.get_waveforms(
            net, sta, chset.location or "--", chset.channel_pattern, spec.start(p) - pad, spec.last(p) + pad
        )
        try:
            make_window(st, inv, chset, p, spec, options)
            ok += 1
        except QCFailure as exc:
            log.warning("naive: %s", exc)
    return ok, time.perf_counter() - t0


def _server_stats(url: str, reset: bool = False) -> dict:
    with urllib.request.urlopen(f"{url}/stats{'?reset=1' if reset else ''}", timeout=10) as reply:
        return json.loads(reply.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[500, 2000], help="windows per stage run (two sizes)")
    parser.add_argument("--naive", type=int, default=150, help="windows fetched the naive way")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency per request (s)")
    parser.add_argument("--workdir", help="keep the generated archive and outputs here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--arrivals", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.child else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.child:
        return child(args)

    import pandas as pd

    from seisembed.testing.archive import make_study

    work = Path(args.workdir or tempfile.mkdtemp(prefix="seisembed-bench-"))
    n_max = max(args.sizes)
    t0 = time.perf_counter()
    study = make_study(
        work / "study", n_events=-(-n_max // 4), n_stations=4, seed=7, event_spacing_s=1200.0, keep_truth=False
    )
    log.info("generated %d arrivals in %.1f s under %s", n_max, time.perf_counter() - t0, work)
    arrivals = pd.read_parquet(study.arrivals)

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seisembed.testing.fdsn_server",
            "--sds",
            str(study.sds),
            "--inventory",
            str(study.stationxml),
            "--latency",
            str(args.latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        log.info("local FDSN server at %s, %.0f ms latency per request", url, args.latency * 1000)
        results = {}
        for size in sorted(args.sizes):
            subset = work / f"arrivals-{size}.parquet"
            arrivals.iloc[:size].to_parquet(subset, index=False)
            _server_stats(url, reset=True)
            cmd = [
                sys.executable,
                __file__,
                "--child",
                "--url",
                url,
                "--arrivals",
                str(subset),
                "--out",
                str(work / f"out-{size}"),
                "--cache",
                str(work / f"cache-{size}"),
            ]
            run = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            run["server"] = _server_stats(url)
            results[size] = run
            log.info("stage, %d windows: %.1f s", size, run["seconds"])

        _server_stats(url, reset=True)
        ok, seconds = naive(url, arrivals.iloc[: args.naive], _stage_config(url, work / "cache-naive"))
        naive_stats = _server_stats(url)
    finally:
        server.terminate()
        server.wait()

    naive_rate = ok / seconds
    big = results[max(args.sizes)]
    stage_rate = big["windows"] / big["seconds"]
    lines = [
        f"local FDSN server, {args.latency * 1000:.0f} ms added latency per request; limits: 5 concurrent, 10 requests/s",
        f"naive (serial get_waveforms per window): {ok} windows in {seconds:.1f} s = {naive_rate:.1f} windows/s "
        f"(server max concurrency {naive_stats['max_concurrent']})",
    ]
    for size in sorted(results):
        r = results[size]
        lines.append(
            f"stage, {size:5d} windows: {r['windows']} ok in {r['seconds']:.1f} s = {r['windows'] / r['seconds']:.1f} windows/s; "
            f"peak RSS {r['maxrss_mb']:.0f} MB (after imports {r['rss_after_imports_mb']:.0f} MB); server max concurrency "
            f"{r['server']['max_concurrent']}, max requests in 1 s {r['server']['max_requests_in_1s']}, "
            f"requests {sum(r['server']['requests'].values())}"
        )
    lines.append(
        f"speed-up (stage at {max(args.sizes)} windows / naive): {stage_rate / naive_rate:.1f}x (target >= 20x)"
    )
    concurrency = max(r["server"]["max_concurrent"] for r in results.values())
    lines.append(
        f"max concurrency observed by the server: {concurrency} (limit 5) -> {'OK' if concurrency <= 5 else 'EXCEEDED'}"
    )
    small, large = (results[s] for s in sorted(results))
    lines.append(
        f"peak memory {small['maxrss_mb']:.0f} MB at {min(args.sizes)} windows vs {large['maxrss_mb']:.0f} MB "
        f"at {max(args.sizes)} windows (flat if about equal)"
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if concurrency <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
