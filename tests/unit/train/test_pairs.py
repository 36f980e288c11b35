"""One pair sampler: training's val pairs and the evaluation's scored pairs are drawn alike."""

from __future__ import annotations

import numpy as np
import pytest

from seisembed.errors import InputError
from seisembed.streams import Stream
from seisembed.train.pairs import association_pairs


def _index(n_events: int = 30, per_event: int = 5, split: str = "val") -> dict:
    events = np.repeat([f"ev{e}" for e in range(n_events)], per_event)
    stations = np.tile([f"XX.S{k}" for k in range(per_event)], n_events)
    stations[::per_event] = stations[1::per_event]  # each event's first two records share a station
    return {"split": np.full(len(events), split), "source_id": events, "station": stations}


def test_val_pairs_are_distinct_matched_at_two_stations_and_seeded():
    index = _index()
    pairs = association_pairs(index, "val", 200, seed=3)
    first, second, matched = pairs["first"], pairs["second"], pairs["matched"]
    assert matched.sum() == 100 == (~matched).sum()
    assert len(set(zip(first.tolist(), second.tolist()))) == len(first)  # no pair twice (before: with replacement)
    same_event = index["source_id"][first] == index["source_id"][second]
    assert (same_event == matched).all()
    assert (index["station"][first][matched] != index["station"][second][matched]).all()
    # per event: C(5, 2) = 10 pairs less the one at a shared station
    assert pairs["available"] == 30 * 9
    again = association_pairs(index, "val", 200, seed=3)
    assert all((again[k] == pairs[k]).all() for k in ("first", "second", "matched"))
    other = association_pairs(index, "val", 200, seed=3, stream=Stream.EVAL_PAIRS)
    assert not (other["first"] == pairs["first"]).all()  # training's and evaluation's streams differ


def test_the_evaluation_draws_its_pairs_with_the_same_function():
    pd = pytest.importorskip("pandas")
    from seisembed.evaluate.association import association_pairs_table

    index = _index(split="test")
    net, sta = zip(*(s.split(".") for s in index["station"]))
    meta = pd.DataFrame(
        {
            "split": index["split"],
            "source_id": index["source_id"],
            "station_network_code": net,
            "station_code": sta,
            "trace_name": [f"t{i}" for i in range(len(net))],
            "station_latitude_deg": 40.0,
            "station_longitude_deg": -100.0,
            "novel_station": False,
            "novel_location": False,
        }
    )
    table, available = association_pairs_table(meta, "test", 120, seed=5)
    drawn = association_pairs(index, "test", 120, seed=5, stream=Stream.EVAL_PAIRS)
    assert (table["first"].to_numpy() == drawn["first"]).all() and (table["second"].to_numpy() == drawn["second"]).all()
    assert (table["matched"].to_numpy() == drawn["matched"]).all() and available == drawn["available"]


def test_a_split_without_two_station_events_is_named():
    with pytest.raises(InputError, match="split 'val'"):
        association_pairs(_index(n_events=1), "val", 10, seed=1)
    with pytest.raises(InputError, match="split 'test' holds 0 record"):
        association_pairs(_index(), "test", 10, seed=1)
