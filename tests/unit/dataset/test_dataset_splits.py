"""Split rules: events never span splits; held-out stations and box events stay out of train/val."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seisembed.config import default_config, validate_config
from seisembed.dataset.splits import SPLITS, assign_splits, month_assignment, station_ids
from seisembed.dataset.testing import synthetic_metadata
from seisembed.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def meta() -> pd.DataFrame:
    return synthetic_metadata(240, n_stations=50, records_per_event=(4, 25), seed=11, box_events=6)


def _cfg(**changes) -> dict:
    cfg = default_config()["dataset"]
    cfg["held_out_stations"]["count"] = 5
    cfg["months"]["search_tries"] = 200
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            cfg[section][name] = value
        else:
            cfg[section] = value
    return cfg


def test_no_event_spans_two_splits(meta):
    frame = assign_splits(meta, _cfg(), seed=1).frame
    assert (frame.groupby("source_id")["split"].nunique() == 1).all()
    assert set(frame["split"]) == set(SPLITS)


def test_held_out_stations_and_box_only_in_test(meta):
    result = assign_splits(meta, _cfg(), seed=1)
    frame = result.frame
    held = result.details["held_out_stations"]
    assert len(held) == 5
    train_val = frame[frame["split"] != "test"]
    assert not station_ids(train_val).isin(held).any()
    assert not train_val["novel_station"].any() and not train_val["novel_location"].any()
    test = frame[frame["split"] == "test"]
    assert (test["novel_station"] == station_ids(test).isin(held)).all()
    box = (test["source_latitude_deg"].between(45, 47)) & (test["source_longitude_deg"].between(-108, -106))
    assert (test["novel_location"] == box).all()
    assert test["novel_location"].any() and test["novel_station"].any()


def test_box_drop_action_removes_train_val_box_events(meta):
    result = assign_splits(meta, _cfg(held_out_box__action="drop"), seed=1)
    frame = result.frame
    inside = frame["source_latitude_deg"].between(45, 47) & frame["source_longitude_deg"].between(-108, -106)
    assert set(frame.loc[inside, "split"]) <= {"test"}
    assert result.removed["held_out_box"]["events"] == result.details["held_out_box"]["events_in_train_val"]


def test_min_records_counts_distinct_stations(meta):
    result = assign_splits(meta, _cfg(), seed=1)
    frame = result.frame
    per_event = station_ids(frame).groupby(frame["source_id"]).nunique()
    split = frame.groupby("source_id")["split"].first()
    assert (per_event[split == "train"] >= 10).all()
    assert result.removed["min_records"]["events"] > 0
    total_removed = sum(v["records"] for v in result.removed.values())
    assert len(frame) + total_removed == len(meta)


def test_splits_are_deterministic_and_seeded(meta):
    a = assign_splits(meta, _cfg(), seed=1)
    b = assign_splits(meta, _cfg(), seed=1)
    c = assign_splits(meta, _cfg(), seed=2)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.details == b.details
    assert (
        a.details["held_out_stations"] != c.details["held_out_stations"] or a.details["months"] != c.details["months"]
    )


def test_month_search_gives_every_split_both_classes(meta):
    events = meta.groupby("source_id").first()
    assignment = month_assignment(events, _cfg(), seed=3)
    months = pd.to_datetime(events["source_origin_time"], utc=True).dt.strftime("%Y-%m")
    split = months.map(assignment)
    for name in SPLITS:
        assert set(events.loc[split == name, "source_type"]) == {"earthquake", "explosion"}
    assert sum(v == "val" for v in assignment.values()) == 2 and sum(v == "test" for v in assignment.values()) == 2


def test_explicit_months_are_kept(meta):
    months = {
        "train": [],
        "val": ["2014-03"],
        "test": ["2014-11", "2014-12"],
        "n_val": 1,
        "n_test": 2,
        "search_tries": 10,
    }
    result = assign_splits(meta, _cfg(months=months, held_out_box__on_empty="warn"), seed=1)
    assert result.details["months"]["val"] == ["2014-03"]
    assert result.details["months"]["test"] == ["2014-11", "2014-12"]


def test_time_ranges_split_and_count_outside(meta):
    ranges = {
        "train": [["2014-01-01", "2014-07-01"]],
        "val": [["2014-07-01", "2014-09-01"]],
        "test": [["2014-09-01", "2014-12-01"]],
    }
    result = assign_splits(meta, _cfg(split_by="time", time_ranges=ranges), seed=1)
    frame = result.frame
    origin = pd.to_datetime(frame["source_origin_time"], utc=True)
    assert (origin[frame["split"] == "val"] >= pd.Timestamp("2014-07-01", tz="UTC")).all()
    assert result.removed["time"]["records"] == int(
        (pd.to_datetime(meta["source_origin_time"], utc=True) >= pd.Timestamp("2014-12-01", tz="UTC")).sum()
    )


def test_overlapping_time_ranges_name_the_keys(meta):
    ranges = {
        "train": [["2014-01-01", "2014-08-01"]],
        "val": [["2014-07-01", "2014-09-01"]],
        "test": [["2014-09-01", "2015-01-01"]],
    }
    with pytest.raises(ConfigError, match=r"dataset.time_ranges.train\[0\].*overlap"):
        assign_splits(meta, _cfg(split_by="time", time_ranges=ranges), seed=1)


def test_unknown_held_out_station_is_an_error(meta):
    with pytest.raises(ConfigError, match="NOPE"):
        assign_splits(meta, _cfg(held_out_stations={"count": 0, "list": ["TA.S001", "NOPE"]}), seed=1)


def test_held_out_list_accepts_bare_station_codes(meta):
    result = assign_splits(meta, _cfg(held_out_stations={"count": 0, "list": ["S001", "US.S005"]}), seed=1)
    assert result.details["held_out_stations"] == ["TA.S001", "US.S005"]


def test_too_many_held_out_stations_is_an_error(meta):
    with pytest.raises(ConfigError, match="held_out_stations.count"):
        assign_splits(meta, _cfg(held_out_stations={"count": 10_000, "list": []}), seed=1)


def test_empty_box_is_an_error_or_a_warning(meta, caplog):
    far = {
        "enabled": True,
        "min_latitude": 10.0,
        "max_latitude": 11.0,
        "min_longitude": 0.0,
        "max_longitude": 1.0,
        "action": "test",
        "on_empty": "error",
    }
    with pytest.raises(InputError, match="held-out source box"):
        assign_splits(meta, _cfg(held_out_box=far), seed=1)
    result = assign_splits(meta, _cfg(held_out_box=dict(far, on_empty="warn")), seed=1)
    assert not result.frame["novel_location"].any()
    assert "holds no events" in caplog.text


def test_configured_period_without_events_is_an_error_naming_it(meta):
    ranges = {
        "train": [["2014-01-01", "2014-07-01"]],
        "val": [["2013-01-01", "2013-02-01"]],
        "test": [["2014-07-01", "2015-01-01"]],
    }
    with pytest.raises(InputError, match=r"dataset.time_ranges.val\[0\]': no event"):
        assign_splits(meta, _cfg(split_by="time", time_ranges=ranges), seed=1)


def test_configured_test_month_without_events_is_an_error_naming_it(meta):
    with pytest.raises(InputError, match=r"dataset.months.test': month 2013-05 holds no event"):
        assign_splits(meta, _cfg(months={"test": ["2013-05"], "n_test": 1}), seed=1)


def test_empty_split_is_an_error(meta):
    ranges = {
        "train": [["2014-01-01", "2014-07-01"]],
        "val": [["2014-07-01", "2014-08-01"]],
        "test": [["2014-08-01", "2015-01-01"]],
    }
    with pytest.raises(InputError, match="split 'val' is empty"):
        assign_splits(meta, _cfg(split_by="time", time_ranges=ranges, min_records_per_event={"val": 10_000}), seed=1)


def test_non_finite_rows_are_removed_and_counted(meta):
    mask = np.zeros(len(meta), bool)
    mask[[0, 5, 9]] = True
    result = assign_splits(meta, _cfg(), seed=1, non_finite=mask)
    assert result.removed["non_finite"]["records"] == 3
    assert not result.frame["trace_name"].isin(meta["trace_name"][mask]).any()


# -- moved from test_foundation.py (schema defaults, bad input)
def test_assign_splits_with_an_empty_section_is_the_default_study():
    from seisembed.dataset.splits import assign_splits
    from seisembed.dataset.testing import synthetic_metadata

    meta = synthetic_metadata(150, n_stations=300, records_per_event=(20, 40), seed=3, box_events=4)
    empty, full = assign_splits(meta, {}, seed=5), assign_splits(meta, default_config()["dataset"], seed=5)
    pd.testing.assert_frame_equal(empty.frame, full.frame)
    assert empty.details == full.details
    assert len(empty.details["held_out_stations"]) == 51 and empty.details["held_out_box"]["enabled"]


def test_month_split_config_rejects_a_month_13():
    with pytest.raises(ConfigError, match="dataset.months.test"):
        validate_config({"dataset": {"months": {"test": ["2014-13"]}}})
