"""Waveforms from a local SDS miniSEED archive plus one StationXML file.

The archive layout is SeisComP's ``YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DAY``
read with :class:`obspy.clients.filesystem.sds.Client`. The offline default run
reads the synthetic study (``resources/synthetic/sds`` + ``stations.xml``) this way,
exactly as it would read a user's archive.
"""

from __future__ import annotations

import http.client
import logging
import struct
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from obspy import read_inventory
from obspy.clients.filesystem.sds import Client as SDSClient
from obspy.core.inventory import Inventory
from obspy.core.util.obspy_types import ObsPyException
from obspy.io.mseed import InternalMSEEDError

from seisembed.errors import InputError
from seisembed.waveforms.base import FetchResult, WindowRequest

log = logging.getLogger(__name__)

#: what reading a damaged miniSEED file can raise
UNREADABLE = (
    InternalMSEEDError,
    ObsPyException,
    ValueError,
    TypeError,
    EOFError,
    OSError,
    zlib.error,
    struct.error,
    http.client.HTTPException,
)


def station_inventory(
    inventory: Inventory | None, network: str, station: str, cache: dict[tuple[str, str], Inventory | None]
) -> Inventory | None:
    """The part of ``inventory`` holding ``network.station`` (``None`` if absent), memoised in ``cache``."""
    key = (network, station)
    if key not in cache:
        inv = None if inventory is None else inventory.select(network=network, station=station)
        cache[key] = inv if inv is not None and inv.networks else None
    return cache[key]


class SDSSource:
    """Read windows from ``root`` (an SDS tree) with station metadata from ``inventory_path``."""

    def __init__(self, root: str | Path, inventory_path: str | Path):
        self.root = Path(root)
        self.inventory_path = Path(inventory_path)
        if not self.root.is_dir():
            raise InputError(f"SDS archive {self.root} does not exist (config key waveforms.sds.root)")
        if not self.inventory_path.is_file():
            raise InputError(f"StationXML {self.inventory_path} does not exist (config key waveforms.sds.inventory)")
        try:
            self._inventory = read_inventory(str(self.inventory_path))
        except (ValueError, TypeError, OSError, SyntaxError) as exc:
            raise InputError(f"StationXML {self.inventory_path} is unreadable: {exc}") from exc
        self._client = SDSClient(str(self.root))
        self._stations: dict[tuple[str, str], Inventory | None] = {}

    @property
    def inventory(self) -> Inventory:
        """The whole StationXML, as read at start."""
        return self._inventory

    def describe(self) -> str:
        """One-line description (archive and StationXML paths)."""
        return f"sds {self.root} + {self.inventory_path}"

    def prefetch_inventories(self, stations: Iterable[tuple[str, str]]) -> None:
        """Nothing to prefetch: the StationXML file is read once at start."""

    def get_inventory(self, network: str, station: str) -> Inventory | None:
        """The station's part of the StationXML file (``None`` if absent)."""
        return station_inventory(self._inventory, network, station, self._stations)

    def fetch(self, requests: list[WindowRequest]) -> Iterator[FetchResult]:
        """Read each request's records from the archive (one pass, in request order)."""
        for req in requests:
            try:
                st = self._client.get_waveforms(
                    req.network, req.station, req.location, req.channel, req.starttime, req.endtime
                )
            except UNREADABLE as exc:
                yield FetchResult(
                    req,
                    None,
                    1,
                    "error",
                    f"unreadable miniSEED for {req.network}.{req.station}.{req.location}."
                    f"{req.channel} under {self.root}: {type(exc).__name__}: {exc}",
                )
                continue
            if not len(st):
                yield FetchResult(
                    req,
                    None,
                    1,
                    "no_data",
                    f"no records for {req.network}.{req.station}.{req.location}.{req.channel} "
                    f"{req.starttime} - {req.endtime} in {self.root}",
                )
                continue
            yield FetchResult(req, st, 1)

    def close(self) -> None:
        """Nothing to release."""
