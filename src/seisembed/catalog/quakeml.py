"""Read QuakeML with picks (and arrivals) plus StationXML into the arrivals table.

This is the path of the ``file`` source for QuakeML and of the ``synthetic``
source (the generator's ``events.xml`` + ``stations.xml``): both are parsed
here, the same way.

Per event:

* ``source_id``: the catalogue id carried by the event's resource id — the part
  after ``evid=`` (ISC: ``smi:ISC/evid=600516598``) or after the last ``/event/``
  (``smi:local/event/603877657``; ObsPy's IMS1.0 reader:
  ``smi:local/<uuid>/event/2032247``), else the whole resource id;
* origin: the preferred origin, else the first; depth is converted m -> km;
* magnitude: the preferred magnitude, else the first (none: ``default_magnitude``);
* ``event_type_code``: the ISC code of (``event_type``, ``event_type_certainty``),
  see :func:`seisembed.catalog.labels.quakeml_to_isc_code`.

Per arrival of that origin (or, when the origin has no arrivals, per pick of the
event): the pick gives the station (``waveform_id``), the time and, if the
arrival names none, the phase (``phase_hint``). Station coordinates come from
the StationXML: the station epoch covering the pick time, matched on network and
station code (a pick without a network code matches a station code that is
unique in the inventory). Picks at stations the inventory does not know are
counted and skipped. ``arrival.distance`` (degrees) is kept; the back azimuth is
computed from the coordinates.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.catalog.assemble import RAW_COLUMNS, assemble_arrivals
from seisembed.catalog.labels import quakeml_to_isc_code
from seisembed.catalog.skips import Skips
from seisembed.errors import InputError

log = logging.getLogger(__name__)


def event_source_id(event) -> str:
    """Catalogue id of an ObsPy event from its resource id (see module docstring)."""
    rid = str(event.resource_id.id if event.resource_id is not None else "")
    if "evid=" in rid:
        return rid.split("evid=", 1)[1].split("&", 1)[0].split("/", 1)[0]
    if "/event/" in rid:
        tail = rid.rsplit("/event/", 1)[1].split("/", 1)[0]
        if tail:
            return tail
    for description in event.event_descriptions or []:
        if description.type == "earthquake name" and description.text:
            return str(description.text).strip()
    return rid


class StationBook:
    """Station coordinates from an ObsPy Inventory, by (network, station) and time."""

    def __init__(self, inventory) -> None:
        self._epochs: dict[tuple[str, str], list[tuple]] = {}
        self._networks_of: dict[str, set[str]] = {}
        for network in inventory:
            for station in network:
                key = (network.code, station.code)
                start = station.start_date.ns if station.start_date is not None else -np.inf
                end = station.end_date.ns if station.end_date is not None else np.inf
                self._epochs.setdefault(key, []).append(
                    (start, end, float(station.latitude), float(station.longitude), float(station.elevation))
                )
                self._networks_of.setdefault(station.code, set()).add(network.code)

    def __len__(self) -> int:
        return len(self._epochs)

    def networks_of(self, station: str) -> list[str]:
        """Network codes (sorted) under which the inventory holds ``station``."""
        return sorted(self._networks_of.get(station, ()))

    def lookup(self, network: str, station: str, time_ns: int) -> tuple[str, float, float, float] | None:
        """(network, latitude deg, longitude deg, elevation m) or ``None`` when unknown.

        An empty ``network`` matches when the station code is unique in the
        inventory. The epoch covering ``time_ns`` is preferred, else the first.
        """
        if not network:
            nets = self._networks_of.get(station, set())
            if len(nets) != 1:
                return None
            network = next(iter(nets))
        epochs = self._epochs.get((network, station))
        if not epochs:
            return None
        chosen = next((e for e in epochs if e[0] <= time_ns < e[1]), epochs[0])
        return network, chosen[2], chosen[3], chosen[4]


def read_inventory_file(path: str | Path | None):
    """Read StationXML (or any ObsPy inventory format) with clear errors."""
    from obspy import read_inventory

    if path is None or str(path) == "":
        raise InputError("a QuakeML catalogue needs station coordinates: set catalog.inventory to a StationXML file")
    return _read_with_obspy(
        read_inventory, path, "inventory file", " (config key 'catalog.inventory')", " as StationXML"
    )


def read_catalog_file(path: str | Path):
    """Read QuakeML (or another ObsPy event format, e.g. IMS1.0) with clear errors."""
    from obspy import read_events

    return _read_with_obspy(read_events, path, "QuakeML file", "", "")


def _read_with_obspy(reader, path: str | Path, what: str, key_hint: str, as_format: str):
    """``reader(path)``; :class:`InputError` naming ``path`` when it is missing or unreadable."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder; expected a file{key_hint}")
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist{key_hint}")
    try:
        return reader(str(path))
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for bad files
        detail = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TypeError) and "Unknown format" in str(exc):
            # ObsPy's format sniffing failed: read it as the format we expect to say what is wrong in it
            expected = "QUAKEML" if "QuakeML" in what else "STATIONXML"
            try:
                result = reader(str(path), format=expected)
            except Exception as strict:  # noqa: BLE001 - the parser's own message is the point
                detail = f"not valid {expected} ({type(strict).__name__}: {strict})"
            else:
                log.warning("%s %s is not recognisable as %s (namespace?); read as %s", what, path, expected, expected)
                return result
        raise InputError(f"{what} {path} cannot be read{as_format}: {detail}") from exc


def _event_rows(event, book: StationBook, skips: Skips, origin_name: str) -> list[dict]:
    """Raw rows (one per arrival or pick) of one ObsPy event."""
    sid = event_source_id(event)
    origin = event.preferred_origin() or (event.origins[0] if event.origins else None)
    if origin is None or origin.time is None or origin.latitude is None or origin.longitude is None:
        skips.add("events: no origin with time and coordinates", example=f"event {sid}")
        return []
    if not event.picks:
        skips.add("events: no picks", example=f"event {sid}")
        return []
    event_values = _event_values(event, origin, sid)
    rows = []
    for pick, phase, distance in _picks_of_origin(event, origin, sid, skips):
        station = _pick_station(pick, book, sid, origin_name, skips)
        if station is not None:
            rows.append(
                {
                    **event_values,
                    **station,
                    "trace_phase": phase or "",
                    "trace_p_arrival_time": pd.Timestamp(pick.time.ns, unit="ns", tz="UTC"),
                    "path_ep_distance_deg": float(distance) if distance is not None else np.nan,
                    "path_back_azimuth_deg": np.nan,
                    "row": f"{origin_name} event {sid} pick {pick.resource_id.id}",
                }
            )
    return rows


def _event_values(event, origin, sid: str) -> dict:
    """The per-event raw columns: origin (UTC, degrees, depth m -> km), magnitude, ISC type code."""
    magnitude = event.preferred_magnitude() or (event.magnitudes[0] if event.magnitudes else None)
    has_magnitude = magnitude is not None and magnitude.mag is not None
    return {
        "source_id": sid,
        "source_origin_time": pd.Timestamp(origin.time.ns, unit="ns", tz="UTC"),
        "source_latitude_deg": float(origin.latitude),
        "source_longitude_deg": float(origin.longitude),
        "source_depth_km": float(origin.depth) / 1000.0 if origin.depth is not None else np.nan,
        "source_magnitude": float(magnitude.mag) if has_magnitude else np.nan,
        "source_magnitude_type": (magnitude.magnitude_type or "") if has_magnitude else "",
        "event_type_code": quakeml_to_isc_code(event.event_type, event.event_type_certainty)
        if event.event_type
        else "",
    }


def _picks_of_origin(event, origin, sid: str, skips: Skips) -> list[tuple]:
    """(pick, phase, distance deg or None) per arrival of ``origin``, else per pick of the event."""
    if not origin.arrivals:
        return [(pick, pick.phase_hint, None) for pick in event.picks]
    picks = {str(p.resource_id.id): p for p in event.picks}
    links = []
    for arrival in origin.arrivals:
        pick = picks.get(str(arrival.pick_id.id) if arrival.pick_id is not None else "")
        if pick is None:
            skips.add(
                "rows: arrival references a pick that is not in its event",
                example=f"event {sid} arrival {arrival.resource_id.id}",
            )
            continue
        links.append((pick, arrival.phase or pick.phase_hint, arrival.distance))
    return links


def _pick_station(pick, book: StationBook, sid: str, origin_name: str, skips: Skips) -> dict | None:
    """The station columns (codes, degrees, elevation m) of a pick, or ``None`` (counted) when unusable."""
    wid = pick.waveform_id
    net, sta, loc = (
        (wid.network_code or "", wid.station_code or "", wid.location_code or "") if wid is not None else ("", "", "")
    )
    if pick.time is None or not sta:
        skips.add(
            "rows: pick without time or station code", example=f"{origin_name} event {sid} pick {pick.resource_id.id}"
        )
        return None
    found = book.lookup(net, sta, pick.time.ns)
    if found is None:
        networks = book.networks_of(sta)
        if not net and len(networks) > 1:
            skips.add(
                "rows: pick without a network code at a station code of several networks",
                example=f"event {sid} station {sta} ({', '.join(networks)})",
            )
        else:
            skips.add("rows: pick at a station not in the inventory", example=f"event {sid} station {net}.{sta}")
        return None
    network, lat, lon, elev = found
    return {
        "station_network_code": network,
        "station_code": sta,
        "station_location_code": loc,
        "station_latitude_deg": lat,
        "station_longitude_deg": lon,
        "station_elevation_m": elev,
    }


def quakeml_raw_rows(catalog, inventory, *, origin_name: str = "QuakeML", skips: Skips | None = None) -> pd.DataFrame:
    """Raw rows (:data:`~seisembed.catalog.assemble.RAW_COLUMNS`) of an ObsPy catalog + inventory.

    Raises :class:`InputError` when the catalog has events but no picks at all.
    """
    skips = Skips() if skips is None else skips
    if len(catalog) and not any(event.picks for event in catalog):
        raise InputError(
            f"{origin_name}: none of its {len(catalog)} event(s) has picks; the catalog stage needs P picks (arrival times) per station — export the catalogue with picks/arrivals (ISC: includearrivals=true)"
        )
    book = StationBook(inventory)
    rows = [row for event in catalog for row in _event_rows(event, book, skips, origin_name)]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RAW_COLUMNS})
    frame = pd.DataFrame(rows)
    for column in ("source_origin_time", "trace_p_arrival_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")
    return frame[list(RAW_COLUMNS)]


def read_quakeml(
    path: str | Path,
    inventory: str | Path,
    *,
    label_rule: str = "event_type",
    suspected_explosions: bool = True,
    default_magnitude: float | None = 2.5,
    skips: Skips | None = None,
) -> pd.DataFrame:
    """Read QuakeML (with picks) + StationXML into the arrivals table.

    ``path`` may be any event format ObsPy reads (QuakeML, IMS1.0 bulletins).
    ``inventory`` is a StationXML path or an ObsPy Inventory. See
    :func:`seisembed.catalog.read_isc_csv` for the other parameters.
    """
    skips = Skips() if skips is None else skips
    catalog = read_catalog_file(path)
    inv = inventory if hasattr(inventory, "networks") else read_inventory_file(inventory)
    raw = quakeml_raw_rows(catalog, inv, origin_name=str(path), skips=skips)
    table = assemble_arrivals(
        raw,
        label_rule=label_rule,
        suspected_explosions=suspected_explosions,
        default_magnitude=default_magnitude,
        skips=skips,
        source=f"QuakeML {path}",
    )
    log.info(
        "%s: %d event(s), %d arrival row(s) -> %d first-P arrivals, %d events, %d stations",
        path,
        len(catalog),
        len(raw),
        len(table),
        table["source_id"].nunique(),
        table["station_code"].nunique(),
    )
    return table
