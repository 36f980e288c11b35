"""Network codes for catalogues that identify stations by code alone.

The ISC 26-column arrivals CSV (and the committed 2014 catalogue) carries no
network code. A station gets, in order of precedence:

1. the catalogue's own network code (the ISC 28-column layout has ``NET``);
2. the code from the optional ``catalog.station_networks`` CSV
   (columns ``station_code,station_network_code``);
3. ``TA`` when the code looks like a USArray Transportable Array site, i.e. matches
   :data:`TA_STATION_REGEX` ``^[A-Z0-9]\\d{2}[A-Z]$`` (a grid letter or digit, two
   digits, a letter: ``A04D``, ``Z40A``, ``121A``). In the committed 2014 catalogue
   392 of the 437 station codes match (all of the TA grid form); the other
   45 (``ABTX``, ``ISA``, ``PFO``, ``TX31`` ...) belong to other networks;
4. otherwise ``catalog.default_network_code`` (``XX``).

Rule 3 is a heuristic: TA sites adopted by other networks (e.g. ``N4``) keep their
grid code. Give a ``station_networks`` CSV when the true codes matter (for
example to download waveforms from an FDSN service).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from seisembed.errors import InputError

#: station codes of the Transportable Array's grid (e.g. "A04D", "Z40A", "121A")
TA_STATION_REGEX = re.compile(r"^[A-Z0-9]\d{2}[A-Z]$")

#: network code given to TA-style station codes
TA_NETWORK_CODE = "TA"


def read_station_networks(path: str | Path | None) -> dict[str, str]:
    """Read a ``station_code,station_network_code`` CSV into a mapping (``None`` -> ``{}``).

    Raises :class:`InputError` naming the file when it is missing columns or
    gives one station two different networks.
    """
    if path is None or str(path) == "":
        return {}
    path = Path(path)
    if not path.is_file():
        raise InputError(f"station networks file {path} does not exist (config key 'catalog.station_networks')")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"station networks file {path} is not a readable CSV (config key 'catalog.station_networks'): {exc}"
        ) from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = {"station_code", "station_network_code"} - set(table.columns)
    if missing:
        raise InputError(
            f"station networks file {path}: missing column(s) {', '.join(sorted(missing))}; expected station_code,station_network_code"
        )
    table = table.assign(
        station_code=table["station_code"].str.strip(), station_network_code=table["station_network_code"].str.strip()
    )
    clash = table.groupby("station_code")["station_network_code"].nunique()
    clash = clash[clash > 1]
    if len(clash):
        raise InputError(f"station networks file {path}: station {clash.index[0]} is given more than one network code")
    return dict(zip(table["station_code"], table["station_network_code"]))


def assign_network_codes(
    stations: pd.Series,
    catalogue_networks: pd.Series | None = None,
    *,
    station_networks: dict[str, str] | None = None,
    default_network_code: str = "XX",
) -> pd.Series:
    """Network code of each station code, by the precedence in the module docstring."""
    stations = stations.astype(str).str.strip()
    result = pd.Series(default_network_code, index=stations.index, dtype=str)
    result = result.mask(stations.str.match(TA_STATION_REGEX.pattern), TA_NETWORK_CODE)
    if station_networks:
        mapped = stations.map(station_networks)
        result = result.mask(mapped.notna(), mapped)
    if catalogue_networks is not None:
        given = catalogue_networks.reindex(stations.index).fillna("").astype(str).str.strip()
        result = result.mask(given != "", given)
    return result.astype(str)
