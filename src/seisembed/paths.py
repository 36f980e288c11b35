"""Paths that the configuration gives: the synthetic study's files and the SDS archive."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sds_paths", "synthetic_paths"]


def synthetic_paths(synthetic: dict) -> dict[str, Path]:
    """Files of the synthetic study under ``synthetic.output_dir``: events, stations, truth, sds."""
    out = Path(synthetic["output_dir"])
    return {
        "events": out / "events.xml",
        "stations": out / "stations.xml",
        "truth": out / "truth.parquet",
        "sds": out / "sds",
    }


def sds_paths(config: dict) -> tuple[Path, Path]:
    """The SDS root and StationXML of waveform source ``sds``.

    ``waveforms.sds.root``/``inventory`` when set; otherwise the synthetic study's
    ``<synthetic.output_dir>/sds`` and ``<synthetic.output_dir>/stations.xml``.
    """
    sds = config["waveforms"]["sds"]
    synthetic = synthetic_paths(config["synthetic"])
    root = Path(sds["root"]) if sds["root"] else synthetic["sds"]
    inventory = Path(sds["inventory"]) if sds["inventory"] else synthetic["stations"]
    return root, inventory
