"""Which input files the catalog stage reads, by source (used by the rule and the CLI)."""

from __future__ import annotations

from pathlib import Path


def synthetic_inputs(synthetic: dict | None) -> tuple[Path, Path]:
    """(events.xml, stations.xml) of the synthetic study under ``synthetic.output_dir``."""
    out = Path((synthetic or {}).get("output_dir", "resources/synthetic"))
    return out / "events.xml", out / "stations.xml"


def rule_inputs(config: dict) -> dict[str, str]:
    """Named input files of the ``catalog`` rule for ``config["catalog"]["source"]``.

    ``synthetic``: the generator's ``events`` and ``stations``; ``file``: the
    ``file`` and, when set, ``inventory``; every source: ``station_networks`` when
    set. ``isc`` reads no local input (its replies are cached by the stage itself).
    """
    catalog = config["catalog"]
    inputs: dict[str, str] = {}
    if catalog.get("source") == "synthetic":
        events, stations = synthetic_inputs(config.get("synthetic"))
        inputs.update(events=str(events), stations=str(stations))
    elif catalog.get("source") == "file" and catalog.get("file"):
        inputs["file"] = str(catalog["file"])
        if catalog.get("inventory"):
            inputs["inventory"] = str(catalog["inventory"])
    if catalog.get("station_networks"):
        inputs["station_networks"] = str(catalog["station_networks"])
    return inputs
