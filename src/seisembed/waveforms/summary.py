"""``results/waveforms/summary.json``: QC counts over all partitions, plus provenance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seisembed.atomic import write_json_atomic
from seisembed.columns import QC_STATUSES
from seisembed.errors import InputError
from seisembed.provenance import provenance


def summarize(qc_paths: list[str | Path], out: str | Path, config: dict) -> dict:
    """Count ledger statuses per partition and overall; write them atomically to ``out``.

    Every status of :data:`~seisembed.columns.QC_STATUSES` appears (0 when
    absent). Raises :class:`InputError` naming a missing or malformed ledger.
    """
    per_partition: dict[str, dict] = {}
    totals = {s: 0 for s in QC_STATUSES}
    attempts = 0
    for path in sorted(Path(p) for p in qc_paths):
        if not path.is_file():
            raise InputError(f"QC ledger {path} does not exist")
        qc = pd.read_parquet(path)
        if "qc_status" not in qc.columns:
            raise InputError(f"QC ledger {path} has no qc_status column")
        name = path.parent.name
        counts = {s: int((qc["qc_status"] == s).sum()) for s in QC_STATUSES}
        per_partition[name] = {"requested": int(len(qc)), **counts}
        for s in QC_STATUSES:
            totals[s] += counts[s]
        attempts += int(qc["qc_attempts"].sum()) if "qc_attempts" in qc.columns else 0
    requested = sum(p["requested"] for p in per_partition.values())
    summary = {
        "requested": requested,
        "ok": totals["ok"],
        "ok_fraction": round(totals["ok"] / requested, 6) if requested else None,
        "request_attempts": attempts,
        "counts": totals,
        "partitions": per_partition,
        "provenance": provenance({k: config[k] for k in ("waveforms", "seed", "study") if k in config}),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(summary, out)
    return summary
