"""Benchmark the synthetic generator: records/s and peak memory for two sizes.

Usage::

    python benchmarks/synthesize.py 2000                # records/s for 2000 records
    python benchmarks/synthesize.py 2000 --rss 500 4000 # plus peak RSS at 500 and 4000 records
    python benchmarks/synthesize.py 21904               # the whole 2014 catalogue (first P per event-station)

Records are the first N rows (by event and station) of the committed 2014 ISC
catalogue; each size runs in a fresh subprocess so its peak RSS is its own. Peak
RSS that does not grow with N shows the generator streams its output.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[1] / "resources" / "isc" / "isc_arrivals_2014_conus.csv.gz"


def run_once(n: int, seed: int = 1) -> dict:
    """Synthesize the first ``n`` records into a temporary folder; return timing and peak RSS."""
    import logging

    from seisembed.catalog import read_arrivals_table
    from seisembed.synthetic import synthesize

    logging.basicConfig(level=logging.WARNING)
    table = read_arrivals_table(CATALOGUE).sort_values(["source_id", "station_code"]).head(n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = synthesize(table, Path(tmp), {}, seed)
        total = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
    return {
        "records": summary["records"],
        "synthesis_s": summary["seconds"],
        "total_s": round(total, 2),
        "records_per_s": summary["records_per_s"],
        "records_per_s_incl_xml": round(summary["records"] / total, 1),
        "output_mb": round(size_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of records to synthesize")
    parser.add_argument(
        "--rss", type=int, nargs=2, metavar=("SMALL", "LARGE"), help="also report peak RSS at two sizes"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.n)))
        return
    sizes = [args.n] + (list(args.rss) if args.rss else [])
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, str(n), "--child"], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['records']:6d} records: {r['records_per_s']:7.1f} records/s (synthesis + SDS), "
            f"{r['records_per_s_incl_xml']:7.1f} records/s incl. StationXML/QuakeML/truth, "
            f"{r['total_s']:7.1f} s total, peak RSS {r['peak_rss_mb']:7.1f} MB, output {r['output_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
