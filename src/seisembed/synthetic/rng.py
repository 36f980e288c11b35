"""Deterministic random streams keyed by names, independent of batching and order.

Every random draw of the generator comes from ``stream(seed, kind, *keys)``: a
``numpy.random.Generator`` seeded by a ``SeedSequence`` built from the master
seed, a kind tag and the string keys (event id, station, node...). The same
record therefore gets the same draws whatever the batch size or processing order.
"""

from __future__ import annotations

import hashlib

import numpy as np

_KINDS = {"event": 1, "record": 2, "station": 3, "path": 4, "subset": 5, "calibration": 6, "pattern": 7}


def key_int(*keys: object) -> int:
    """A stable 64-bit integer from string-able keys (blake2b, not Python's hash)."""
    text = "\x1f".join(str(k) for k in keys).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def stream(seed: int, kind: str, *keys: object) -> np.random.Generator:
    """A Generator for one named entity (e.g. ``stream(seed, "record", event, station)``)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _KINDS[kind], key_int(*keys)]))
