"""Waveforms from ObsPy objects already in memory (or read from loose miniSEED files).

:class:`StreamSource` answers the waveform stage's requests from an ObsPy
:class:`~obspy.core.stream.Stream` and :class:`~obspy.core.inventory.Inventory`,
selecting and trimming exactly as the SDS client does
(:meth:`obspy.clients.filesystem.sds.Client.get_waveforms`: select the SEED id,
trim to the request, clean-up merge), so a record gives the same window whether
it is read from an SDS archive, from loose files or passed in by a user.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from obspy import Stream
from obspy.core.inventory import Inventory
from obspy.io.mseed import ObsPyMSEEDFilesizeTooSmallError

from seisembed.errors import InputError
from seisembed.waveforms.base import FetchResult, InMemoryInventory, WindowRequest, no_data
from seisembed.waveforms.sds import UNREADABLE, read_checked_miniseed

log = logging.getLogger(__name__)


def _starts_like_miniseed(path: Path) -> bool:
    """Whether ``path`` begins with a miniSEED fixed header (sequence number, quality code D/R/Q/M)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return len(head) >= 7 and all(c in b"0123456789 " for c in head[:6]) and head[6:7] in (b"D", b"R", b"Q", b"M")


def read_miniseed_files(paths: Iterable[str | Path]) -> Stream:
    """Read loose miniSEED files into one stream.

    Raises :class:`InputError` naming the file when one does not exist, is not
    miniSEED (ObsPy's reader is told the format: nothing else is guessed), is
    truncated (ends inside a record, e.g. an interrupted copy: ObsPy would read
    the records before the cut with only a warning) or has damaged records.
    """
    stream = Stream()
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no miniSEED files given")
    for path in paths:
        if not path.is_file():
            raise InputError(f"miniSEED file {path} does not exist")
        try:
            part, problem = read_checked_miniseed(path)
        except ObsPyMSEEDFilesizeTooSmallError as exc:
            if _starts_like_miniseed(path):
                raise InputError(
                    f"miniSEED file {path} is truncated: {path.stat().st_size} bytes, less than one record"
                ) from exc
            if path.stat().st_size == 0:
                raise InputError(f"miniSEED file {path} is empty (0 bytes)") from exc
            raise InputError(f"{path} is not a readable miniSEED file: {type(exc).__name__}: {exc}") from exc
        except UNREADABLE as exc:
            raise InputError(f"{path} is not a readable miniSEED file: {type(exc).__name__}: {exc}") from exc
        if problem:
            raise InputError(f"miniSEED file {path} is {problem}; replace or repair it (or leave it out)")
        stream += part
    log.info("read %d trace(s) from %d miniSEED file(s)", len(stream), len(paths))
    return stream


class StreamSource(InMemoryInventory):
    """A :class:`~seisembed.waveforms.base.WaveformSource` over an in-memory stream and inventory."""

    def __init__(self, stream: Stream, inventory: Inventory | None, name: str = "in-memory stream"):
        if not isinstance(stream, Stream):
            raise InputError(f"{name}: expected an obspy Stream, got {type(stream).__name__}")
        super().__init__(inventory)
        self.stream = stream
        self.name = name

    def describe(self) -> str:
        """One-line description: the stream's size."""
        return f"{self.name} ({len(self.stream)} traces)"

    def fetch(self, requests: list[WindowRequest]) -> Iterator[FetchResult]:
        """The records of each request, selected, trimmed and merged as the SDS client does."""
        for req in requests:
            st = self.stream.select(
                network=req.network, station=req.station, location=req.location, channel=req.channel
            ).copy()
            st.trim(req.starttime, req.endtime)
            st.merge(-1)
            if not len(st):
                yield no_data(req, self.name)
                continue
            yield FetchResult(req, st, 1)

    def close(self) -> None:
        """Nothing to release."""
