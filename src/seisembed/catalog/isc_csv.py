"""Read ISC STNARRIVALS CSV: a saved file, or the text of a web-service reply.

Layouts
-------
ISC's arrivals CSV repeats column names (station ``LAT``/``LON`` and event
``LAT``/``LON``, arrival ``DATE``/``TIME`` and origin ``DATE``/``TIME``, several
``AUTHOR``); saved copies may rename the repeats with a suffix (``LAT_1``,
``LAT.1``). Columns are therefore identified by name *and position*
(:func:`canonical_columns`): the first ``LAT``/``LON``/``DATE``/``TIME`` is the
station's or arrival's, the second the event's; a ``TYPE`` directly followed
by ``MAG`` is the magnitude type, any other ``TYPE`` is the event type (the ISC
code ``ke``, ``km``...). This reads both the classic 26-column layout (no
network, no event type; the committed 2014 catalogue, which adds the authors'
label column ``Y``) and the newer 28-column layout with ``NET`` and the event
``TYPE``. Values may be space-padded.

Web replies wrap the CSV in HTML (a ``<pre>`` block); :func:`extract_csv_text`
finds the header line and keeps the data rows (lines starting with a digit).

``BAZ``, despite its name, is the azimuth from the event to the station in ISC's
CSV (checked on the committed catalogue: it agrees with the computed
event-to-station azimuth within 0.2 degrees for 99 % of the 22,567 rows and
within 1.2 degrees for all, while the back azimuth differs by 177-180 degrees), so
``path_back_azimuth_deg`` (station to event) is computed from the coordinates.
``DIST`` (degrees) is kept.

Times: the arrival time is ``TIME`` when it holds a date, else ``DATE`` +
``TIME``; the origin time is the second ``DATE`` + ``TIME``; all UTC.
"""

from __future__ import annotations

import csv
import gzip
import html
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.catalog.assemble import RAW_COLUMNS, assemble_arrivals
from seisembed.catalog.networks import assign_network_codes, read_station_networks
from seisembed.catalog.skips import Skips
from seisembed.errors import InputError

log = logging.getLogger(__name__)

#: name -> canonical field for the 1st, 2nd, 3rd occurrence of a repeated name
_REPEATED = {
    "LAT": ("station_lat", "event_lat"),
    "LON": ("station_lon", "event_lon"),
    "DATE": ("arrival_date", "origin_date"),
    "TIME": ("arrival_time", "origin_time"),
    "AUTHOR": ("origin_author", "magnitude_author", "author_3"),
    "ELEV": ("station_elev",),
}

_SINGLE = {
    "EVENTID": "event_id",
    "REPORTER": "reporter",
    "STA": "station",
    "NET": "network",
    "CHN": "channel",
    "DIST": "distance_deg",
    "BAZ": "back_azimuth_deg",
    "ISCPHASE": "isc_phase",
    "REPPHASE": "reported_phase",
    "RES": "residual_s",
    "TDEF": "tdef",
    "AMPLITUDE": "amplitude",
    "PER": "period",
    "DEPTH": "depth_km",
    "MAG": "magnitude",
    "Y": "label_y",
}

#: every canonical field of the ISC layouts (other columns are ignored, logged)
KNOWN_FIELDS = (
    frozenset(_SINGLE.values()) | {f for names in _REPEATED.values() for f in names} | {"magnitude_type", "event_type"}
)

#: canonical fields a file must have
REQUIRED_FIELDS = (
    "event_id",
    "station",
    "station_lat",
    "station_lon",
    "arrival_time",
    "origin_date",
    "origin_time",
    "event_lat",
    "event_lon",
    "depth_km",
)

#: numeric fields that may be empty (missing) but must otherwise hold a number
OPTIONAL_NUMBERS = ("depth_km", "magnitude", "station_elev", "distance_deg")

_SUFFIX = re.compile(r"(?:[._]\d+)$")
_HEADER_LINE = re.compile(r"^\s*EVENTID\s*,", re.IGNORECASE)
#: an ISC header whose columns a spreadsheet separated by something other than commas
_OTHER_SEPARATOR_HEADER = re.compile(r"^\s*EVENTID\s*([;\t|])", re.IGNORECASE)
_DATA_LINE = re.compile(r"^\s*\d")
_TAG = re.compile(r"<[^>]+>")
BUSY_MARKERS = ("Sorry", "too busy", "busy at the moment")
NO_DATA_MARKERS = ("No events were found", "No arrivals were found", "No data were found", "No phases were found")


def _base_name(name: str) -> str:
    """``" LAT_1 "`` -> ``"LAT"``: stripped, upper case, repeat suffix removed."""
    name = str(name).strip().upper()
    return name if name in _SINGLE or name in _REPEATED else _SUFFIX.sub("", name)


def canonical_columns(header: list[str]) -> list[str]:
    """Canonical field name of each header column, by name and position.

    Unknown columns keep their stripped name in lower case. Raises
    :class:`InputError` when a name repeats more often than the ISC layouts allow.
    """
    names = [_base_name(h) for h in header]
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        k = seen.get(name, 0)
        seen[name] = k + 1
        if name == "TYPE":
            following = names[i + 1] if i + 1 < len(names) else ""
            out.append(
                "magnitude_type" if following == "MAG" else ("event_type" if "event_type" not in out else f"type_{k}")
            )
        elif name in _REPEATED:
            choices = _REPEATED[name]
            out.append(choices[k] if k < len(choices) else f"{name.lower()}_{k}")
        elif name in _SINGLE:
            out.append(_SINGLE[name] if k == 0 else f"{_SINGLE[name]}_{k}")
        else:
            out.append(name.lower() if k == 0 else f"{name.lower()}_{k}")
    return out


def csv_lines(text: str, *, origin: str = "reply", skips: Skips | None = None) -> tuple[list[int], list[str]]:
    """Line numbers (1-based, in ``text``) and lines of the CSV part of a plain or HTML-wrapped reply.

    The first line returned is the header. Returns two empty lists for a reply
    that says no data were found. Raises :class:`InputError` (naming ``origin``)
    when no ``EVENTID,...`` header is found. In an HTML reply only data lines
    (starting with a digit) are kept; other non-blank lines between the header
    and the end of the ``<pre>`` block are counted in ``skips``.
    """
    lines = text.removeprefix("\ufeff").splitlines()  # a UTF-8 byte-order mark is not part of the header
    header_at = next((i for i, line in enumerate(lines) if _HEADER_LINE.match(html.unescape(_TAG.sub("", line)))), None)
    if header_at is None:
        if any(marker.lower() in text.lower() for marker in NO_DATA_MARKERS):
            return [], []
        wrong = next(filter(None, (_OTHER_SEPARATOR_HEADER.match(line) for line in lines)), None)
        if wrong is not None:
            label = {";": "';'", "\t": "tabs", "|": "'|'"}[wrong.group(1)]
            raise InputError(
                f"{origin}: its columns are separated by {label} — use commas (ISC's CSV is comma-separated)"
            )
        snippet = " ".join(_TAG.sub(" ", text).split())[:200]
        raise InputError(
            f"{origin}: no ISC arrivals CSV header (a line starting 'EVENTID,') found; the text starts: {snippet!r}"
        )
    if header_at == 0 and "<" not in text[:2000]:
        return list(range(1, len(lines) + 1)), lines  # a plain CSV file: every line (bad lines are counted later)
    numbers, keep = [header_at + 1], [html.unescape(_TAG.sub("", lines[header_at])).strip()]
    other = []
    for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        clean = html.unescape(_TAG.sub("", line))
        if _DATA_LINE.match(clean):
            numbers.append(number)
            keep.append(clean.rstrip())
        elif clean.strip().upper().startswith("STOP") or "</pre>" in line.lower():
            break
        elif clean.strip():
            other.append(f"{origin} line {number}: {clean.strip()[:60]!r}")
    if other and skips is not None:
        skips.add("lines: not a data row (does not start with an event id)", len(other), examples=other[:5])
    return numbers, keep


def extract_csv_text(text: str, *, origin: str = "reply") -> str:
    """The CSV part (header + data lines) of a plain or HTML-wrapped ISC reply (see :func:`csv_lines`).

    Returns ``""`` for a reply that says no data were found.
    """
    _, lines = csv_lines(text, origin=origin)
    return "\n".join(lines) + "\n" if lines else ""


def _read_rows(numbers: list[int], lines: list[str], origin: str, skips: Skips) -> pd.DataFrame:
    """Split CSV lines into a frame of stripped strings with canonical column names.

    ``numbers`` are the lines' numbers in the original text (for messages).
    Raises :class:`InputError` naming ``origin`` and the line for text the CSV
    parser cannot split (e.g. a quote left open by a truncated file).
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return pd.DataFrame()
    columns = canonical_columns(header)
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if "isc_phase" not in columns and "reported_phase" not in columns:
        missing.append("isc_phase/reported_phase")
    if missing:
        raise InputError(
            f"{origin}: header lacks ISC column(s) for {', '.join(missing)}; header is {','.join(h.strip() for h in header)}"
        )
    unknown = [h.strip() for h, c in zip(header, columns) if c not in KNOWN_FIELDS]
    if unknown:
        log.info("%s: ignoring column(s) the ISC layouts do not define: %s", origin, ", ".join(unknown))
    rows, where, bad = [], [], []
    previous = reader.line_num
    try:
        for row in reader:
            number = numbers[min(reader.line_num, len(numbers)) - 1]
            if reader.line_num - previous > 1:  # ISC rows never span lines: a quote was left open
                start = numbers[min(previous + 1, len(numbers)) - 1]
                raise InputError(
                    f"{origin} line {start}: unbalanced quote: the CSV field opened there runs over "
                    f"{reader.line_num - previous} lines (to line {number}); fix or remove the quote"
                )
            previous = reader.line_num
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(columns):
                bad.append(f"{origin} line {number}: {len(row)} fields, expected {len(columns)}")
                continue
            rows.append([v.strip() for v in row])
            where.append(f"{origin} line {number}")
    except csv.Error as exc:
        number = numbers[min(reader.line_num, len(numbers)) - 1] if numbers else 0
        raise InputError(
            f"{origin} line {number}: not valid CSV ({exc}); is the file truncated or does it hold an unbalanced quote?"
        ) from exc
    if bad:
        skips.add("rows: wrong number of fields (truncated or malformed line)", len(bad), examples=bad[:5])
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame["row"] = where
    return frame


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """``column`` as float64; missing or non-numeric values become NaN."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    text = frame[column].fillna("").astype(str)
    values = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
    return values


def _times(date: pd.Series | None, time: pd.Series) -> pd.Series:
    """UTC timestamps from ISC date and time strings (time may already hold the date)."""
    time = time.fillna("").astype(str).str.strip()
    if date is not None:
        date = date.fillna("").astype(str).str.strip()
        has_date = time.str.contains(r"\d[-/]\d", regex=True)
        time = time.where(has_date, date + " " + time)
    text = time.str.replace("/", "-", regex=False).str.strip()
    return pd.to_datetime(text.where(text != ""), format="ISO8601", utc=True, errors="coerce").astype(
        "datetime64[ns, UTC]"
    )


def _drop_invalid(frame: pd.DataFrame, bad: pd.Series, reason: str, skips: Skips, column: str) -> pd.DataFrame:
    """Count and remove rows flagged in ``bad``."""
    if bad.any():
        examples = (
            [f"{r}: {column}={v!r}" for r, v in zip(frame.loc[bad, "row"][:5], frame.loc[bad, column][:5])]
            if column in frame
            else list(frame.loc[bad, "row"][:5])
        )
        skips.add(reason, int(bad.sum()), examples=examples)
    return frame[~bad]


def parse_isc_csv_text(
    text: str,
    *,
    origin: str = "reply",
    default_network_code: str = "XX",
    station_networks: dict[str, str] | None = None,
    skips: Skips | None = None,
) -> pd.DataFrame:
    """Parse ISC arrivals CSV text (plain or HTML-wrapped) into raw rows.

    Returns a frame with :data:`seisembed.catalog.assemble.RAW_COLUMNS` (one row per
    reported arrival, all phases) plus ``label_y`` when the text has the authors'
    ``Y`` column. Rows with wrong field counts, missing/unparseable times or
    coordinates, or a depth (km), magnitude, elevation (m) or distance (deg) that
    is present but not a number are counted in ``skips`` and dropped (an empty
    depth/magnitude/elevation/distance is kept as missing). ``origin`` names the
    file or slice in messages.
    """
    skips = Skips() if skips is None else skips
    numbers, lines = csv_lines(text, origin=origin, skips=skips)
    frame = _read_rows(numbers, lines, origin, skips)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RAW_COLUMNS})
    frame = _valid_rows(frame.reset_index(drop=True), skips)
    return _raw_rows(frame, default_network_code=default_network_code, station_networks=station_networks)


def _valid_rows(frame: pd.DataFrame, skips: Skips) -> pd.DataFrame:
    """Drop (and count) rows without id or station, with bad times, coordinates or numbers.

    Adds the parsed ``_arrival``/``_origin`` times (UTC) and ``_station_lat`` ...
    ``_event_lon`` coordinates (degrees).
    """
    frame = _drop_invalid(frame, frame["event_id"].fillna("") == "", "rows: no EVENTID", skips, "event_id")
    frame = _drop_invalid(frame, frame["station"].fillna("") == "", "rows: no station code", skips, "station")
    arrival = _times(frame.get("arrival_date"), frame["arrival_time"])
    origin_time = _times(frame["origin_date"], frame["origin_time"])
    frame = frame.assign(_arrival=arrival, _origin=origin_time)
    frame = _drop_invalid(
        frame, frame["_arrival"].isna(), "rows: arrival time missing or unparseable", skips, "arrival_time"
    )
    frame = _drop_invalid(
        frame, frame["_origin"].isna(), "rows: origin time missing or unparseable", skips, "origin_time"
    )
    for column in ("station_lat", "station_lon", "event_lat", "event_lon"):
        values = _numbers(frame, column)
        bad = values.isna() | (values.abs() > (90 if column.endswith("lat") else 180))
        frame = _drop_invalid(
            frame.assign(**{f"_{column}": values}),
            bad,
            f"rows: {column.replace('_', ' ')} missing or invalid",
            skips,
            column,
        )
    for column in OPTIONAL_NUMBERS:  # empty is "missing" (handled later); text that is not a number is bad input
        if column in frame:
            given = frame[column].fillna("").astype(str).str.strip() != ""
            frame = _drop_invalid(
                frame, given & _numbers(frame, column).isna(), f"rows: {column} is not a number", skips, column
            )
    return frame


def _raw_rows(
    frame: pd.DataFrame, *, default_network_code: str, station_networks: dict[str, str] | None
) -> pd.DataFrame:
    """The raw rows (:data:`~seisembed.catalog.assemble.RAW_COLUMNS`) of validated CSV rows; depth km, elevation m."""
    isc_phase = frame["isc_phase"].fillna("") if "isc_phase" in frame else pd.Series("", index=frame.index)
    rep_phase = frame["reported_phase"].fillna("") if "reported_phase" in frame else pd.Series("", index=frame.index)
    network_given = frame.get("network")
    raw = pd.DataFrame(
        {
            "source_id": frame["event_id"].astype(str),
            "source_origin_time": frame["_origin"],
            "source_latitude_deg": frame["_event_lat"].astype(float),
            "source_longitude_deg": frame["_event_lon"].astype(float),
            "source_depth_km": _numbers(frame, "depth_km"),
            "source_magnitude": _numbers(frame, "magnitude"),
            "source_magnitude_type": frame["magnitude_type"].fillna("").astype(str)
            if "magnitude_type" in frame
            else "",
            "station_network_code": assign_network_codes(
                frame["station"],
                network_given,
                station_networks=station_networks,
                default_network_code=default_network_code,
            ),
            "station_code": frame["station"].astype(str),
            "station_location_code": "",
            "station_latitude_deg": frame["_station_lat"].astype(float),
            "station_longitude_deg": frame["_station_lon"].astype(float),
            "station_elevation_m": _numbers(frame, "station_elev"),
            "trace_phase": isc_phase.where(isc_phase != "", rep_phase).astype(str),
            "trace_p_arrival_time": frame["_arrival"],
            "path_ep_distance_deg": _numbers(frame, "distance_deg"),
            # ISC's BAZ column holds the event-to-station azimuth (see the module
            # docstring), so the back azimuth is computed from the coordinates
            "path_back_azimuth_deg": np.nan,
            "event_type_code": frame["event_type"].fillna("").astype(str).str.lower() if "event_type" in frame else "",
            "row": frame["row"].astype(str),
        }
    )
    if "label_y" in frame:
        raw["label_y"] = frame["label_y"]
    return raw.reset_index(drop=True)


def read_text(path: str | Path) -> str:
    """Text of a plain or gzip-compressed file (``.gz``), decoded as UTF-8 (latin-1 fallback)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"catalogue file {path} does not exist")
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"catalogue file {path} cannot be read (truncated or not gzip?): {exc}") from exc
    try:
        return data.decode("utf-8-sig")  # accepts (and drops) a byte-order mark
    except UnicodeDecodeError:
        return data.decode("latin-1").removeprefix("\u00ef\u00bb\u00bf")


def _check_label_y(raw: pd.DataFrame, origin: str) -> None:
    """Log how the file's own ``Y`` label compares with the depth-0 rule (information only)."""
    if "label_y" not in raw:
        return
    y = pd.to_numeric(raw["label_y"], errors="coerce")
    depth0 = (raw["source_depth_km"] == 0).astype(float)
    disagree = int(((y != depth0) & y.notna()).sum())
    log.info("%s: column Y (authors' label) disagrees with the depth-0 rule on %d row(s)", origin, disagree)


def read_isc_csv(
    path: str | Path,
    *,
    default_network_code: str = "XX",
    station_networks: dict[str, str] | str | Path | None = None,
    label_rule: str = "auto",
    suspected_explosions: bool = True,
    default_magnitude: float | None = 2.5,
    skips: Skips | None = None,
) -> pd.DataFrame:
    """Read an ISC STNARRIVALS CSV file (``.csv`` or ``.csv.gz``) into the arrivals table.

    Parameters
    ----------
    path
        The CSV, plain or gzipped, raw ISC (possibly HTML-wrapped) or a saved copy.
    default_network_code
        Network code of stations that are neither TA-style nor in ``station_networks``
        (see :mod:`seisembed.catalog.networks`).
    station_networks
        ``{station_code: network_code}`` or the path of a
        ``station_code,station_network_code`` CSV.
    label_rule
        ``"event_type"`` (ISC event type codes; needs the 28-column layout),
        ``"depth0"`` (explosion iff depth == 0 km) or ``"auto"`` (event types when
        present, else depth0). See :mod:`seisembed.catalog.labels`.
    suspected_explosions
        Count ``sm``/``sh``/``sx``/``sn`` as explosions (else drop those events).
    default_magnitude
        Magnitude of events without one (``None``: drop them, counted).
    skips
        A :class:`~seisembed.catalog.skips.Skips` collecting skipped rows/events.

    Returns
    -------
    pandas.DataFrame
        Exactly :data:`seisembed.columns.ARRIVAL_COLUMNS`: the first P-type
        arrival per (event, station), times ``datetime64[ns, UTC]``, distances in
        degrees and km (6371 km sphere), back azimuth in degrees.
    """
    skips = Skips() if skips is None else skips
    if not isinstance(station_networks, dict):
        station_networks = read_station_networks(station_networks)
    raw = parse_isc_csv_text(
        read_text(path),
        origin=str(path),
        default_network_code=default_network_code,
        station_networks=station_networks,
        skips=skips,
    )
    _check_label_y(raw, str(path))
    table = assemble_arrivals(
        raw.drop(columns=["label_y"], errors="ignore"),
        label_rule=label_rule,
        suspected_explosions=suspected_explosions,
        default_magnitude=default_magnitude,
        skips=skips,
        source=f"ISC CSV {path}",
    )
    log.info(
        "%s: %d reported arrivals -> %d first-P arrivals, %d events, %d stations",
        path,
        len(raw),
        len(table),
        table["source_id"].nunique(),
        table["station_code"].nunique(),
    )
    return table
