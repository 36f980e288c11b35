"""Dask for big stores: the ``dask`` config section turned into a ``dask.distributed`` client.

:func:`dask_client` yields a :class:`distributed.Client` connected to the scheduler at
``dask.scheduler_address``, or to a :class:`distributed.LocalCluster` of
``dask.local_workers`` processes, or ``None`` (in-process threads) when neither is
set. Dataset assembly (:func:`seisembed.dataset.build.write_store`) and batch embedding
(:func:`seisembed.evaluate.association.embed_store`) use it; each task holds one block
of traces, so a worker's memory is bounded by the block size, not by the store.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from seisembed.config import section as config_section
from seisembed.errors import ConfigError

__all__ = ["dask_client", "uses_cluster"]

log = logging.getLogger(__name__)


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
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ConfigError("config section 'dask' needs the 'distributed' package (pip install distributed)") from exc
    if dask["scheduler_address"]:
        try:
            client = Client(dask["scheduler_address"], timeout="30s")
        except OSError as exc:
            raise ConfigError(
                f"config key 'dask.scheduler_address': no Dask scheduler answers at {dask['scheduler_address']} ({exc})"
            ) from exc
        log.info(
            "Dask: connected to %s (%d workers)", dask["scheduler_address"], len(client.scheduler_info()["workers"])
        )
        try:
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
    client = Client(cluster)
    log.info(
        "Dask: LocalCluster of %d worker process(es) x %d thread(s), %s each",
        dask["local_workers"],
        dask["threads_per_worker"],
        dask["memory_limit"],
    )
    try:
        yield client
    finally:
        client.close()
        cluster.close()
