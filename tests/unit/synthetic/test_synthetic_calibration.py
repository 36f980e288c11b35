"""Calibration: the bounds of issue 2 hold on a modest real-geometry subset, and can fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seisembed.catalog import read_arrivals_table as read_arrivals
from seisembed.synthetic import calibrate, select_subset, synthesize
from seisembed.synthetic.calibration import _auc, _peak_cc

CATALOGUE = Path(__file__).resolve().parents[3] / "resources" / "isc" / "isc_arrivals_2014_conus.csv.gz"
SEED = 20140101


def test_peak_cc_and_auc_helpers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(2000)
    assert _peak_cc(x, np.roll(x, 30), 80) == pytest.approx(1.0, abs=0.02)
    assert _peak_cc(x, -x, 80) == pytest.approx(1.0)
    assert _peak_cc(x, rng.standard_normal(2000), 80) < 0.15
    label = np.array([False] * 50 + [True] * 50)
    assert _auc(np.arange(100.0), label) == 1.0
    assert _auc(-np.arange(100.0), label) == 0.0


@pytest.fixture(scope="module")
def modest_study(tmp_path_factory):
    """~300 events of the 2014 catalogue (both classes in proportion), <= 6 records each."""
    table = read_arrivals(CATALOGUE)
    sub = select_subset(table, max_records_per_event=6, max_events=300, min_records_per_event=1, seed=SEED)
    out = tmp_path_factory.mktemp("calib")
    synthesize(sub, out, {}, SEED)
    return out


@pytest.mark.slow
def test_calibration_bounds_hold(modest_study, tmp_path):
    result = calibrate(modest_study, seed=SEED, n_pairs=200, n_features=1200, output=tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["values"] == result["values"]
    assert min(result["n_pairs"].values()) >= 50, result["n_pairs"]
    assert result["pass"], json.dumps(result["values"])


def test_calibration_detects_a_trivial_discriminant(tmp_path):
    """Explosions with hardly any S make log10 P/S a perfect discriminant: the check must fail."""
    table = read_arrivals(CATALOGUE)
    ids = []
    for cls in ("explosion", "earthquake"):
        ids += sorted(table.loc[table.source_type == cls, "source_id"].unique())[:20]
    sub = select_subset(
        table[table.source_id.isin(ids)], max_records_per_event=5, max_events=None, min_records_per_event=1, seed=SEED
    )
    synthesize(
        sub, tmp_path, {"explosion_s_to_p_log10": -2.0, "earthquake_s_to_p_log10": 1.0, "s_to_p_sigma_log10": 0.0}, SEED
    )
    result = calibrate(tmp_path, seed=SEED, n_pairs=30)
    assert result["values"]["d_auc_log10_p_over_s_6_8hz"] > 0.92
    assert not result["checks"]["d_auc_log10_p_over_s_6_8hz"]
    assert not result["pass"]
