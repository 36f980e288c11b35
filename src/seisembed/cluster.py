"""Dask for big stores: the ``dask`` config section turned into a ``dask.distributed`` client.

:func:`dask_client` yields a :class:`distributed.Client` connected to the scheduler at
``dask.scheduler_address``, or to a :class:`distributed.LocalCluster` of
``dask.local_workers`` processes, or ``None`` (in-process threads) when neither is
set. Dataset assembly (:func:`seisembed.dataset.build.write_store`) and batch embedding
(:func:`seisembed.evaluate.association.embed_store`) use it; each task holds one block
of traces, so a worker's memory is bounded by the block size, not by the store.

Faults: a worker that dies mid-run loses its tasks and the results it held; the
scheduler runs them again on the other workers (the tasks are pure functions of the
store: the result is the same). A scheduler that does not answer within
``dask.connect_timeout_s``, or an address that is not one, is a :class:`ConfigError`
naming ``dask.scheduler_address``; a cluster left without any worker for
``dask.no_workers_timeout_s`` while work is pending stops the work with a
:class:`ClusterError` instead of waiting for workers forever. The client is the
default scheduler only inside the ``with`` block (``Client.as_current``): it is made
with ``set_as_default=False``, so one that fails to connect leaves neither a global
client nor ``scheduler="dask.distributed"`` behind for later in-process ``compute`` calls.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

from seisembed.config import section as config_section
from seisembed.errors import ConfigError, SeisembedError

__all__ = ["ClusterError", "dask_client", "uses_cluster"]

log = logging.getLogger(__name__)


class ClusterError(SeisembedError):
    """The Dask cluster could not finish the work: no worker left (or no scheduler) for too long."""


class _Watchdog(threading.Thread):
    """Closes ``client`` when its cluster has had no worker (or no scheduler) for ``timeout`` seconds.

    Closing the client cancels its pending futures, so the thread waiting on them gets
    ``CancelledError`` instead of waiting for a worker forever; :func:`dask_client` turns
    that into a :class:`ClusterError`.
    """

    def __init__(self, client, timeout: float, where: str):
        super().__init__(name="seisembed-dask-watchdog", daemon=True)
        self.client, self.timeout, self.where = client, float(timeout), where
        self.stopped = threading.Event()
        self.fault: str | None = None

    def _pending(self) -> bool:
        """Whether this client holds unfinished futures (work that needs a worker)."""
        try:
            return any(not future.done() for future in list(self.client.futures.values()))
        except Exception:  # noqa: BLE001 - a closed or broken client: nothing to wait for here
            return True

    def run(self) -> None:
        since = None
        while not self.stopped.wait(min(1.0, self.timeout / 4)):
            try:
                workers = len(self.client.nthreads())
                reason = "no worker"
            except Exception as exc:  # noqa: BLE001 - the scheduler itself stopped answering
                workers, reason = 0, f"the scheduler stopped answering ({type(exc).__name__})"
            if workers or not self._pending():
                since = None  # only waiting work with no worker to do it counts (a queued SLURM worker job may come)
                continue
            since = since if since is not None else time.monotonic()
            if time.monotonic() - since >= self.timeout:
                self.fault = f"{reason} at {self.where} for {self.timeout:g} s (dask.no_workers_timeout_s)"
                log.error("Dask: %s; cancelling the work", self.fault)
                try:
                    self.client.close(timeout=10)
                except Exception:  # noqa: BLE001 - the futures are cancelled even when closing times out
                    log.debug("closing the Dask client after the watchdog fired failed", exc_info=True)
                return


@contextmanager
def _watched(client, dask: dict, where: str):
    """Run the ``with`` body under a :class:`_Watchdog`; its firing becomes a :class:`ClusterError`."""
    watchdog = _Watchdog(client, dask["no_workers_timeout_s"], where)
    watchdog.start()
    try:
        yield client
    except Exception as exc:
        if watchdog.fault is not None:
            raise ClusterError(
                f"the Dask cluster stopped the work: {watchdog.fault}; start workers (dask worker "
                "--scheduler-file ...) and run the stage again"
            ) from exc
        raise
    finally:
        watchdog.stopped.set()
        watchdog.join()


def uses_cluster(section: dict | None) -> bool:
    """Whether the ``dask`` section asks for a ``dask.distributed`` cluster."""
    dask = config_section("dask", section or {})
    return bool(dask["scheduler_address"]) or dask["local_workers"] > 0


@contextmanager
def dask_client(section: dict | None):
    """A ``distributed.Client`` for the ``dask`` section (closed on exit), or ``None`` for in-process work."""
    dask = config_section("dask", section or {})
    if not uses_cluster(dask):
        yield None
        return
    with _connected_client(dask) as client, client.as_current():
        yield client


@contextmanager
def _connected_client(dask: dict):
    """The client of :func:`dask_client` for a section that asks for a cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ConfigError("config section 'dask' needs the 'distributed' package (pip install distributed)") from exc
    if dask["scheduler_address"]:
        address = dask["scheduler_address"]
        try:
            client = Client(address, timeout=f"{dask['connect_timeout_s']}s", set_as_default=False)
        # refused / timed out; not an address ("http://", no port); a server that speaks another
        # protocol (its bytes read as a Dask frame length: MemoryError for an absurd buffer)
        except (OSError, ValueError, TypeError, MemoryError) as exc:
            raise ConfigError(
                f"config key 'dask.scheduler_address': no Dask scheduler answers at {address!r} within "
                f"dask.connect_timeout_s ({dask['connect_timeout_s']:g} s): {exc}; give the address the scheduler "
                "prints (tcp://host:port) or in its --scheduler-file"
            ) from exc
        log.info("Dask: connected to %s (%d workers)", address, len(client.scheduler_info()["workers"]))
        try:
            with _watched(client, dask, address):
                yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=dask["local_workers"],
        threads_per_worker=dask["threads_per_worker"],
        memory_limit=dask["memory_limit"],
        processes=True,
        dashboard_address=None,
    )
    client = Client(cluster, set_as_default=False)
    log.info(
        "Dask: LocalCluster of %d worker process(es) x %d thread(s), %s each",
        dask["local_workers"],
        dask["threads_per_worker"],
        dask["memory_limit"],
    )
    try:
        with _watched(client, dask, "the LocalCluster"):
            yield client
    finally:
        client.close()
        cluster.close()
