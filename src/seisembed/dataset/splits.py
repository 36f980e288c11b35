"""Split rules: which records go to ``train``, ``val`` and ``test``, and which are held out.

All rules act on a metadata table (one row per window, the catalogue columns)
and never split an event: a split is decided per event, by its origin time.
They run in this order, each counting what it removed (records, and events
that lost their last record):

1. ``non_finite``: windows holding NaN/inf although the QC ledger marked them
   ``ok`` (found by the build's scan; removed, counted).
2. ``time``: each event goes to a split by its origin time, either by date
   ranges (``split_by: time``, the paper: train 2007-2013, val 2014, test
   2015-2016) or by calendar month (``split_by: month``, the one-year default
   study: explicit month lists and/or a seeded search for an assignment in which
   every split has both classes). Events outside every range are removed.
3. ``held_out_box``: events whose epicentre lies inside the held-out source box
   (the authors' Rosebud box 45 < lat < 47, -108 < lon < -106) never appear in
   train/val: test events there are flagged ``novel_location``; train/val events
   there are moved to test (``action: test``, flagged) or removed (``action: drop``).
4. ``held_out_station``: records of N held-out stations (drawn with the seed
   among the stations that recorded a test event, or listed) are removed from
   train/val events and flagged ``novel_station`` in test.
5. ``min_records``: events with fewer records from distinct stations than the
   split's minimum (the sampler needs K records per training event) are removed.

A station is ``NET.STA`` (location codes are not stations). Every random
choice uses ``numpy.random.default_rng([seed, stream])`` with a fixed stream
per rule (:class:`seisembed.streams.Stream`), so changing one rule's draws does not shift another's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seisembed.columns import SPLITS
from seisembed.config import section
from seisembed.errors import ConfigError, InputError
from seisembed.streams import Stream

__all__ = ["SPLITS", "SplitResult", "assign_splits", "assign_given_splits", "station_ids", "month_assignment"]

log = logging.getLogger(__name__)

RULE_DESCRIPTIONS: dict[str, str] = {
    "non_finite": "window holds NaN/inf although QC marked it ok",
    "time": "origin time outside every configured split range",
    "held_out_box": "event inside the held-out source box in a train/val period (removed with action 'drop'; 'test' moves it to test instead)",
    "held_out_station": "record of a held-out station in a train/val event",
    "min_records": "event has fewer records from distinct stations than its split's minimum",
    # records a SeisBench import skips (seisembed.dataset.seisbench_import), before the split rules
    "seisbench_no_source_id": "SeisBench record with an empty source_id",
    "seisbench_no_station": "SeisBench record with an empty station_code",
    "seisbench_no_p_arrival": "SeisBench record with an empty trace_p_arrival_sample (no P pick to centre the window on)",
    "seisbench_unknown_split": "SeisBench record whose split is not train, dev or test (dataset.seisbench.split 'dataset')",
    "seisbench_event_in_several_splits": "SeisBench record of an event whose traces the dataset's split column puts in more than one split (dataset.seisbench.mixed_split_events 'skip')",
    "seisbench_other_source_type": "SeisBench record whose source type maps to neither earthquake nor explosion (dataset.seisbench.other_source_types 'skip')",
    "seisbench_bad_sampling_rate": "SeisBench trace whose sampling rate is unknown, below the window's rate or not a ratio of small integers away from it",
    "seisbench_short": "SeisBench trace that does not cover the window around P (dataset.seisbench.short_traces 'skip')",
    "seisbench_non_finite": "SeisBench trace whose window holds NaN or inf samples",
}


@dataclass
class SplitResult:
    """Outcome of :func:`assign_splits`.

    ``frame`` keeps only the retained records and gains the columns ``split``,
    ``novel_station`` and ``novel_location``. ``removed`` maps each rule to
    ``{"records": n, "events": n}``; ``details`` records the choices made
    (month assignment, held-out stations, box counts).
    """

    frame: pd.DataFrame
    removed: dict[str, dict[str, int]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def station_ids(frame: pd.DataFrame) -> pd.Series:
    """``NET.STA`` of each record."""
    return frame["station_network_code"].astype(str) + "." + frame["station_code"].astype(str)


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per event: origin time, epicentre and class (first record's values)."""
    return frame.groupby("source_id", sort=False)[
        ["source_origin_time", "source_latitude_deg", "source_longitude_deg", "source_type"]
    ].first()


def _remove(frame: pd.DataFrame, drop: np.ndarray, rule: str, removed: dict) -> pd.DataFrame:
    """Drop rows where ``drop`` is true, counting records and vanished events under ``rule``."""
    drop = np.asarray(drop, dtype=bool)
    before = set(frame["source_id"].unique())
    kept = frame.loc[~drop]
    after = set(kept["source_id"].unique())
    removed[rule] = {"records": int(drop.sum()), "events": len(before - after)}
    if drop.any():
        log.info(
            "split rule %s removed %d records (%d events): %s",
            rule,
            drop.sum(),
            len(before - after),
            RULE_DESCRIPTIONS[rule],
        )
    return kept.reset_index(drop=True)


# --------------------------------------------------------------------------- time


def _parse_ranges(ranges: dict) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Config ``dataset.time_ranges`` as UTC timestamps, checked for order and overlap."""
    parsed: dict[str, list] = {}
    flat = []
    for split in SPLITS:
        parsed[split] = []
        for i, pair in enumerate(ranges[split]):
            key = f"dataset.time_ranges.{split}[{i}]"
            try:
                start, end = (
                    pd.Timestamp(p, tz="UTC") if pd.Timestamp(p).tzinfo is None else pd.Timestamp(p).tz_convert("UTC")
                    for p in pair
                )
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"config key '{key}': cannot parse {pair!r} as [start, end) UTC times: {exc}"
                ) from exc
            if end <= start:
                raise ConfigError(f"config key '{key}': end {pair[1]} is not after start {pair[0]}")
            parsed[split].append((start, end))
            flat.append((start, end, key))
    flat.sort()
    for (_, e0, k0), (s1, _, k1) in zip(flat, flat[1:]):
        if s1 < e0:
            raise ConfigError(f"config keys '{k0}' and '{k1}': time ranges overlap; an event must belong to one split")
    return parsed


def split_by_time(events: pd.DataFrame, ranges: dict) -> pd.Series:
    """Split of each event by its origin time and ``[start, end)`` ranges; ``""`` when in none.

    Raises :class:`InputError` naming the config key of a range that holds no event
    (a configured period without data would silently shrink its split).
    """
    parsed = _parse_ranges(ranges)
    times = pd.to_datetime(events["source_origin_time"], utc=True)
    labels = pd.Series("", index=events.index, dtype=object)
    for split, pairs in parsed.items():
        for i, (start, end) in enumerate(pairs):
            inside = (times >= start) & (times < end)
            if not inside.any():
                raise InputError(
                    f"config key 'dataset.time_ranges.{split}[{i}]': no event in [{start}, {end}); "
                    f"the data cover {times.min()} .. {times.max()}. Fix the range or remove it."
                )
            labels[inside] = split
    return labels


def _month_score(counts: np.ndarray, split_of: np.ndarray) -> float | None:
    """Badness of a month assignment (``None`` if a split lacks a class).

    ``counts``: events per month (rows) and class (columns: earthquake,
    explosion); ``split_of``: split number (0, 1, 2) per month. The score is the
    summed absolute difference between each split's explosion share and the
    overall share: lower keeps the class balance alike across splits.
    """
    per_split = np.zeros((len(SPLITS), 2))
    np.add.at(per_split, split_of, counts)
    if (per_split == 0).any():
        return None
    overall = counts[:, 1].sum() / counts.sum()
    return float(np.abs(per_split[:, 1] / per_split.sum(axis=1) - overall).sum())


def _fixed_months(cfg: dict, present: list[str]) -> dict[str, str]:
    """Months listed under ``dataset.months.{train,val,test}``: each once, each holding events."""
    fixed: dict[str, str] = {}
    for split in SPLITS:
        for month in cfg[split]:
            if month in fixed and fixed[month] != split:
                raise ConfigError(
                    f"config key 'dataset.months.{split}': month {month} is also listed under '{fixed[month]}'"
                )
            if month not in present:
                raise InputError(
                    f"config key 'dataset.months.{split}': month {month} holds no event (months with events: "
                    f"{', '.join(present)}); a configured split period without data would silently shrink '{split}'"
                )
            fixed[month] = split
    return fixed


def _fill(fixed: dict[str, str], order: list[str], need_val: int, need_test: int) -> dict[str, str]:
    """``fixed`` plus the free months in ``order``: the first ``need_val`` to val, then test, the rest train."""
    assignment = dict(fixed)
    for i, month in enumerate(order):
        assignment[month] = "val" if i < need_val else "test" if i < need_val + need_test else "train"
    return assignment


def _search_months(
    counts: pd.DataFrame, fixed: dict[str, str], need: tuple[int, int], tries: int, rng: np.random.Generator
) -> dict[str, str] | None:
    """Best of ``tries`` seeded assignments of the free months (``None``: none gives every split both classes)."""
    present = sorted(counts.index)
    free = [m for m in present if m not in fixed]
    matrix = counts.loc[present].to_numpy(dtype=float)
    number = {s: i for i, s in enumerate(SPLITS)}
    best: tuple[float, dict] | None = None
    for _ in range(tries):
        assignment = _fill(fixed, list(rng.permutation(free)) if free else [], *need)
        score = _month_score(matrix, np.array([number[assignment[m]] for m in present]))
        if score is not None and (best is None or score < best[0]):
            best = (score, assignment)
    return None if best is None else best[1]


def month_assignment(events: pd.DataFrame, config: dict, seed: int) -> dict[str, str]:
    """Assign each calendar month (``YYYY-MM``) holding events to a split.

    Months listed in ``dataset.months.{train,val,test}`` are fixed (each must hold
    events); the other months fill val and test up to ``n_val``/``n_test`` months
    and the rest is train. The free months are chosen by a seeded search over
    ``search_tries`` random permutations, keeping the assignment in which every
    split holds both classes and the explosion share differs least between
    splits. Raises :class:`InputError` when no assignment gives every split both
    classes (and the search had freedom); warns when an explicit one does not.
    ``config`` is the ``dataset`` section as given (schema defaults fill the rest).
    """
    cfg = section("dataset", config)["months"]
    months = pd.to_datetime(events["source_origin_time"], utc=True).dt.strftime("%Y-%m")
    counts = pd.crosstab(months, events["source_type"]).reindex(columns=["earthquake", "explosion"], fill_value=0)
    present = sorted(counts.index)
    fixed = _fixed_months(cfg, present)
    free = [m for m in present if m not in fixed]
    listed = {s: sum(1 for v in fixed.values() if v == s) for s in ("val", "test")}
    need = (max(cfg["n_val"], listed["val"]) - listed["val"], max(cfg["n_test"], listed["test"]) - listed["test"])
    if sum(need) > len(free):
        raise InputError(
            f"dataset months: {len(present)} months hold events ({', '.join(present)}); cannot give val "
            f"{listed['val'] + need[0]} and test {listed['test'] + need[1]} months (config keys "
            "'dataset.months.n_val'/'n_test')"
        )
    rng = np.random.default_rng([seed, Stream.MONTHS])
    tries = cfg["search_tries"] if free and sum(need) else 1
    best = _search_months(counts, fixed, need, tries, rng)
    if best is None:
        table = "; ".join(f"{m}: {int(r.earthquake)} eq/{int(r.explosion)} ex" for m, r in counts.iterrows())
        if tries > 1:
            raise InputError(
                f"no month-to-split assignment gives every split both classes (events per month: {table}); list "
                "months explicitly under config key 'dataset.months' or change 'n_val'/'n_test'"
            )
        log.warning("the month assignment leaves a split without both classes or empty (events per month: %s)", table)
        best = _fill(fixed, list(rng.permutation(free)) if free else [], *need)
    return {m: best[m] for m in present}


# --------------------------------------------------------------------------- held out


def _in_box(events: pd.DataFrame, box: dict) -> pd.Series:
    """Events whose epicentre lies strictly inside the box (degrees)."""
    lat, lon = events["source_latitude_deg"], events["source_longitude_deg"]
    return (
        (lat > box["min_latitude"])
        & (lat < box["max_latitude"])
        & (lon > box["min_longitude"])
        & (lon < box["max_longitude"])
    )


def choose_held_out_stations(frame: pd.DataFrame, config: dict, seed: int) -> list[str]:
    """Held-out stations (``NET.STA``): the configured list, or ``count`` drawn with the seed.

    A listed ``STA`` without a network matches that code in every network.
    Drawn stations are chosen among stations that recorded a test event, so
    each yields novel-station test records. Raises :class:`ConfigError` naming
    unknown stations or a count larger than the candidates.
    """
    cfg = section("dataset", config)["held_out_stations"]
    ids = station_ids(frame)
    known = set(ids)
    listed = list(cfg["list"])
    if listed:
        chosen: set[str] = set()
        unknown = []
        for name in listed:
            hits = {name} & known if "." in name else {s for s in known if s.split(".", 1)[1] == name}
            if not hits:
                unknown.append(name)
            chosen |= hits
        if unknown:
            raise ConfigError(
                f"config key 'dataset.held_out_stations.list': station(s) {', '.join(unknown)} have no records in the dataset (use NET.STA or STA codes of recorded stations)"
            )
        return sorted(chosen)
    count = cfg["count"]
    if count == 0:
        return []
    candidates = sorted(set(ids[frame["split"] == "test"]))
    if count > len(candidates):
        raise ConfigError(
            f"config key 'dataset.held_out_stations.count': {count} held-out stations requested but only {len(candidates)} stations recorded a test event"
        )
    rng = np.random.default_rng([seed, Stream.STATIONS])
    return sorted(rng.choice(candidates, size=count, replace=False).tolist())


# --------------------------------------------------------------------------- all rules


def _time_rule(frame: pd.DataFrame, config: dict, seed: int, removed: dict, details: dict) -> pd.DataFrame:
    """Rule 2: each event to a split by its origin time (date ranges or months)."""
    events = _events(frame)
    if config["split_by"] == "time":
        event_split = split_by_time(events, config["time_ranges"])
        details["time_ranges"] = config["time_ranges"]
    else:
        assignment = month_assignment(events, config, seed)
        months = pd.to_datetime(events["source_origin_time"], utc=True).dt.strftime("%Y-%m")
        event_split = months.map(assignment).fillna("")
        details["months"] = {s: sorted(m for m, v in assignment.items() if v == s) for s in SPLITS}
    frame["split"] = frame["source_id"].map(event_split).astype(object)
    frame = _remove(frame, (frame["split"] == "").to_numpy(), "time", removed)
    frame["novel_location"] = False
    frame["novel_station"] = False
    return frame


def _box_rule(frame: pd.DataFrame, box: dict, removed: dict, details: dict) -> pd.DataFrame:
    """Rule 3: the held-out source box: its train/val events move to test (or are dropped)."""
    details["held_out_box"] = {"enabled": box["enabled"]}
    if not box["enabled"]:
        return frame
    inside = _in_box(_events(frame), box)
    box_events = inside[inside].index
    in_box = frame["source_id"].isin(box_events).to_numpy()
    early = in_box & (frame["split"] != "test").to_numpy()
    details["held_out_box"].update(
        {k: box[k] for k in ("min_latitude", "max_latitude", "min_longitude", "max_longitude")},
        action=box["action"],
        events_inside=int(len(box_events)),
        events_in_train_val=int(frame.loc[early, "source_id"].nunique()),
    )
    if len(box_events) == 0:
        message = (
            f"the held-out source box (config key 'dataset.held_out_box': lat {box['min_latitude']}.."
            f"{box['max_latitude']}, lon {box['min_longitude']}..{box['max_longitude']}) holds no events; move it "
            "or set 'dataset.held_out_box.enabled: false'"
        )
        if box["on_empty"] == "error":
            raise InputError(message)
        log.warning(message)
    if box["action"] == "test":
        frame.loc[early, "split"] = "test"
        details["held_out_box"]["events_moved_to_test"] = details["held_out_box"]["events_in_train_val"]
        removed["held_out_box"] = {"records": 0, "events": 0}
    else:
        frame = _remove(frame, early, "held_out_box", removed)
    frame["novel_location"] = frame["source_id"].isin(box_events).to_numpy()
    return frame


def _station_rule(frame: pd.DataFrame, config: dict, seed: int, removed: dict, details: dict) -> pd.DataFrame:
    """Rule 4: held-out stations: removed from train/val, flagged ``novel_station`` in test."""
    held = choose_held_out_stations(frame, config, seed)
    details["held_out_stations"] = held
    at_held = station_ids(frame).isin(held).to_numpy()
    frame = _remove(frame, at_held & (frame["split"] != "test").to_numpy(), "held_out_station", removed)
    frame["novel_station"] = station_ids(frame).isin(held).to_numpy()
    return frame


def _min_records_rule(frame: pd.DataFrame, minimum: dict, removed: dict) -> pd.DataFrame:
    """Rule 5: events with fewer records from distinct stations than their split's minimum."""
    n_stations = station_ids(frame).groupby(frame["source_id"]).transform("nunique")
    need = frame["split"].map({s: minimum[s] for s in SPLITS})
    return _remove(frame, (n_stations < need).to_numpy(), "min_records", removed)


def _check_no_split_empty(frame: pd.DataFrame, removed: dict, message) -> None:
    """Raise :class:`InputError` (``message(split, summary of the removals)``) for an empty split."""
    for split in SPLITS:
        if not (frame["split"] == split).any():
            summary = ", ".join(f"{rule}: {c['records']} records/{c['events']} events" for rule, c in removed.items())
            raise InputError(message(split, summary or "nothing"))


def assign_splits(frame: pd.DataFrame, config: dict, seed: int, non_finite: np.ndarray | None = None) -> SplitResult:
    """Apply the split rules (module docstring) to a metadata table.

    Parameters
    ----------
    frame:
        One row per window with the catalogue columns and ``trace_name``.
    config:
        The ``dataset`` config section as given; missing keys take the schema's
        defaults (``assign_splits(frame, {}, seed)`` runs the workflow's default study).
    seed:
        The master seed.
    non_finite:
        Optional boolean mask of rows whose window is not finite.

    Notes
    -----
    Returns a :class:`SplitResult`. Raises :class:`InputError` naming the split
    when a split ends up empty, a configured period without events, and the box
    when it holds no events (unless ``held_out_box.on_empty`` is ``warn``).
    """
    config = section("dataset", config)
    removed: dict[str, dict[str, int]] = {}
    details: dict = {"split_by": config["split_by"]}
    frame = frame.reset_index(drop=True)
    frame = _remove(frame, np.zeros(len(frame), bool) if non_finite is None else non_finite, "non_finite", removed)
    frame = _time_rule(frame, config, seed, removed, details)
    frame = _box_rule(frame, config["held_out_box"], removed, details)
    frame = _station_rule(frame, config, seed, removed, details)
    frame = _min_records_rule(frame, config["min_records_per_event"], removed)
    _check_no_split_empty(
        frame,
        removed,
        lambda split, summary: (
            f"split '{split}' is empty after the split rules (removed: {summary}); check config "
            "keys 'dataset.split_by', 'dataset.time_ranges'/'dataset.months' and 'dataset.min_records_per_event'"
        ),
    )
    frame["novel_station"] = frame["novel_station"].astype(bool)
    frame["novel_location"] = frame["novel_location"].astype(bool)
    return SplitResult(frame=frame, removed=removed, details=details)


def assign_given_splits(frame: pd.DataFrame, config: dict, seed: int, held_out: bool = True) -> SplitResult:
    """The split rules for records whose ``split`` is given (a SeisBench dataset's own split column).

    ``frame``: one row per window with the catalogue columns, ``trace_name`` and
    ``split`` (``train``/``val``/``test``); with ``held_out=False`` also ``novel_station``
    and ``novel_location`` (kept as given: a seisembed export carries them). Rule 2
    (``time``) is replaced by the given split; rules 3 and 4 (held-out box and
    stations, as configured) run when ``held_out`` is true; rule 5 (``min_records``)
    always runs. ``config`` is the ``dataset`` section as given. Raises
    :class:`InputError` for a split value that is not one of :data:`SPLITS`, for an event
    whose records are given more than one split (an event's records stay in one split) and,
    as :func:`assign_splits`, for a split left empty.
    """
    config = section("dataset", config)
    removed: dict[str, dict[str, int]] = {}
    details: dict = {"split_by": "given (the dataset's split column)"}
    frame = frame.reset_index(drop=True)
    unknown = ~frame["split"].isin(SPLITS)
    if unknown.any():
        row = frame.loc[unknown].iloc[0]
        raise InputError(
            f"trace {row['trace_name']}: split {row['split']!r} is not one of {', '.join(SPLITS)} "
            f"({int(unknown.sum())} record(s))"
        )
    per_event = frame.groupby("source_id", sort=False)["split"].unique()
    mixed = per_event[per_event.map(len) > 1]
    if len(mixed):
        shown = "; ".join(f"{event}: {'/'.join(sorted(splits))}" for event, splits in mixed.iloc[:5].items())
        raise InputError(
            f"{len(mixed)} event(s) have records in more than one split ({shown}{' ...' if len(mixed) > 5 else ''}); "
            "the records of an event must share one split"
        )
    if held_out:
        frame["novel_location"] = False
        frame["novel_station"] = False
        frame = _box_rule(frame, config["held_out_box"], removed, details)
        frame = _station_rule(frame, config, seed, removed, details)
    else:
        events_inside = int(frame.loc[frame["novel_location"].astype(bool), "source_id"].nunique())
        details["held_out_box"] = {"enabled": False, "given": True, "events_inside": events_inside}
        details["held_out_stations"] = sorted(set(station_ids(frame.loc[frame["novel_station"].astype(bool)])))
    frame = _min_records_rule(frame, config["min_records_per_event"], removed)
    _check_no_split_empty(
        frame,
        removed,
        lambda split, summary: (
            f"split '{split}' is empty (the dataset's split column, then the split rules; removed: "
            f"{summary}); check the dataset's split column and config key "
            "'dataset.min_records_per_event', or let seisembed split (dataset.seisbench.split: seisembed)"
        ),
    )
    frame["novel_station"] = frame["novel_station"].astype(bool)
    frame["novel_location"] = frame["novel_location"].astype(bool)
    return SplitResult(frame=frame, removed=removed, details=details)
