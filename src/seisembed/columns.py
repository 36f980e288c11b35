"""Column names shared by every stage (SeisBench ``category_parameter_unit`` style).

``ARRIVAL_COLUMNS`` is the catalog contract: one row per (event, station), the
first P-type arrival. Later stages carry these columns along unchanged.
``SOURCE_TYPES`` are the two classes; :func:`check_both_classes` refuses a split
that lacks one of them. A store imported from a SeisBench dataset may hold records of
other source types (their own label, e.g. "surface event"): they train the embedding and
count in association, and :func:`two_class` leaves them out of the two-class discrimination.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seisembed.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

#: Catalog contract (``results/catalog/arrivals.parquet``), in order.
ARRIVAL_COLUMNS: tuple[str, ...] = (
    "source_id",  # str: catalogue event id
    "source_origin_time",  # datetime64[ns, UTC]
    "source_latitude_deg",  # float64, degrees north
    "source_longitude_deg",  # float64, degrees east
    "source_depth_km",  # float64, km below sea level
    "source_magnitude",  # float64 (a documented default where the catalogue has none)
    "source_magnitude_type",  # str, e.g. "ML", "mb"; "" when unknown
    "source_type",  # "earthquake" | "explosion"
    "source_type_raw",  # catalogue code, e.g. "ke", "km", or the depth-0 rule's "depth0"
    "station_network_code",  # str, FDSN network code
    "station_code",  # str
    "station_location_code",  # str, "" when none
    "station_latitude_deg",  # float64
    "station_longitude_deg",  # float64
    "station_elevation_m",  # float64
    "trace_phase",  # str, e.g. "Pn"
    "trace_p_arrival_time",  # datetime64[ns, UTC]
    "path_ep_distance_deg",  # float64, epicentral distance in degrees
    "path_ep_distance_km",  # float64, epicentral distance in km
    "path_back_azimuth_deg",  # float64, station -> event azimuth, degrees from north
)

#: the classes of ``source_type``: the discrimination's negative and positive class, in that order
SOURCE_TYPES: tuple[str, ...] = ("earthquake", "explosion")

#: dataset splits, in store order
SPLITS: tuple[str, ...] = ("train", "val", "test")

#: QC statuses of the waveform stage's ledger.
QC_STATUSES: tuple[str, ...] = (
    "ok",
    "no_data",
    "gap",
    "short",
    "missing_component",
    "bad_sampling_rate",
    "clipped",
    "non_finite",
    "error",
)

#: ledger columns (qc.parquet), in order
QC_COLUMNS: tuple[str, ...] = (
    "source_id",
    "station_network_code",
    "station_code",
    "station_location_code",
    "trace_name",
    "trace_p_arrival_time",
    "qc_status",
    "qc_reason",
    "qc_attempts",
    "qc_location_code",
    "qc_channels",
    "qc_window_index",
    "qc_partition",
)

#: columns windows.parquet adds to ARRIVAL_COLUMNS, in order
WINDOW_COLUMNS: tuple[str, ...] = (
    "trace_name",
    "trace_p_arrival_sample",
    "trace_sampling_rate_hz",
    "trace_start_time",
    "trace_channels",
    "trace_location_code",
    "trace_snr_db",
)

COMPONENT_ORDER: str = "ZNE"

#: identifying columns of an embeddings table, in order (seisembed.embeddings: the contract)
EMBEDDING_COLUMNS: tuple[str, ...] = (
    "trace_name",
    "source_id",
    "split",
    "source_type",
    "station_network_code",
    "station_code",
    "novel_station",
    "novel_location",
)


def trace_name(source_id: str, network: str, station: str, location: str = "") -> str:
    """Unique, human-readable name of one record: ``<event>_<net>.<sta>.<loc>``."""
    return f"{source_id}_{network}.{station}.{location}"


def trace_names(frame) -> list[str]:
    """:func:`trace_name` of every row of a table with the event and station code columns."""
    columns = ["source_id", "station_network_code", "station_code", "station_location_code"]
    return [trace_name(*v) for v in frame[columns].astype(str).itertuples(index=False)]


def two_class(frame: pd.DataFrame):
    """Boolean mask (NumPy) of the rows whose ``source_type`` is one of :data:`SOURCE_TYPES`."""
    return frame["source_type"].isin(SOURCE_TYPES).to_numpy()


def other_source_types(frame: pd.DataFrame) -> dict[str, int]:
    """Records per ``source_type`` outside :data:`SOURCE_TYPES` (left out of the two-class discrimination)."""
    counts = frame.loc[~two_class(frame), "source_type"].astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def check_both_classes(frame: pd.DataFrame, split: str, where: str = "") -> None:
    """Raise :class:`InputError` (naming ``where``) unless ``split`` of ``frame`` holds both :data:`SOURCE_TYPES`.

    Records of other source types do not count (nor hinder).
    """
    kinds = set(frame.loc[frame["split"] == split, "source_type"])
    if not set(SOURCE_TYPES) <= kinds:
        raise InputError(
            f"{where + ': ' if where else ''}split '{split}' holds records of {sorted(kinds) or 'no'} class(es); discrimination needs "
            "both earthquakes and explosions"
        )
