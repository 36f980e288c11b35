"""What every waveform source (FDSN, SDS) hands to the partition driver."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from obspy import Stream, UTCDateTime
from obspy.core.inventory import Inventory

from seisembed.errors import SeisembedError


@dataclass(frozen=True)
class WindowRequest:
    """Raw data wanted for one arrival: a channel wildcard and a time span (UTC).

    ``key`` is the arrival's row number within its partition; the span already
    includes the processing padding on both sides. ``channels`` (the codes the
    StationXML promises) says what a complete answer holds: every channel
    covering the span; a source compares each reply with it and asks again
    when records are missing.
    """

    key: int
    network: str
    station: str
    location: str
    channel: str
    starttime: UTCDateTime
    endtime: UTCDateTime
    channels: tuple[str, ...] = ()

    def bulk_line(self) -> tuple:
        """The line of an FDSN ``get_waveforms_bulk`` request."""
        return (self.network, self.station, self.location or "--", self.channel, self.starttime, self.endtime)


@dataclass
class FetchResult:
    """Outcome of one request: ``stream`` (possibly empty) or a failure status and reason."""

    request: WindowRequest
    stream: Stream | None
    attempts: int
    status: str | None = None  # None: data came back; else "no_data" | "error"
    reason: str = ""


def no_data(req: WindowRequest, where: object) -> FetchResult:
    """The ``no_data`` result of ``req`` (one attempt), naming the stream and ``where`` it was sought."""
    return FetchResult(
        req,
        None,
        1,
        "no_data",
        f"no records for {req.network}.{req.station}.{req.location}.{req.channel} "
        f"{req.starttime} - {req.endtime} in {where}",
    )


class WaveformSource(Protocol):
    """Interface of :class:`~seisembed.waveforms.fdsn.FDSNSource` and :class:`~seisembed.waveforms.sds.SDSSource`."""

    def describe(self) -> str:
        """A one-line, credential-free description for logs and provenance."""

    def prefetch_inventories(self, stations: Iterable[tuple[str, str]]) -> None:
        """Make sure the StationXML of these (network, station) pairs is at hand."""

    def get_inventory(self, network: str, station: str) -> Inventory | None:
        """The station's StationXML (channel level at least), ``None`` when unknown."""

    def fetch(self, requests: list[WindowRequest]) -> Iterator[FetchResult]:
        """Yield one result per request, in any order, as data arrive."""

    def close(self) -> None:
        """Release connections and worker threads."""


class SourceError(SeisembedError):
    """A source could not deliver (after retries); the message names the request.

    A :class:`~seisembed.errors.SeisembedError`, so the CLI reports it without a traceback.
    """


class DataCentreUnreachable(SeisembedError):
    """The whole data centre stopped answering (not one request or line).

    Deliberately not a :class:`SourceError`: it is never written to the ledger as a
    per-window ``error``; the partition stops, keeps its finished chunks, and a rerun
    resumes once the service is back.
    """


class InMemoryInventory:
    """Station metadata held in memory (a StationXML read once, or an ObsPy inventory given).

    For the local sources (:class:`~seisembed.waveforms.sds.SDSSource`,
    :class:`~seisembed.waveforms.stream.StreamSource`): nothing to prefetch, and each
    station's part of :attr:`inventory` selected once and memoised.
    """

    def __init__(self, inventory: Inventory | None):
        self.inventory = inventory
        self._stations: dict[tuple[str, str], Inventory | None] = {}

    def prefetch_inventories(self, stations: Iterable[tuple[str, str]]) -> None:
        """Nothing to prefetch: the inventory is in memory."""

    def get_inventory(self, network: str, station: str) -> Inventory | None:
        """The part of the inventory holding ``network.station`` (``None`` if absent)."""
        key = (network, station)
        if key not in self._stations:
            inv = None if self.inventory is None else self.inventory.select(network=network, station=station)
            self._stations[key] = inv if inv is not None and inv.networks else None
        return self._stations[key]
