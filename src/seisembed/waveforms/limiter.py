"""A thread-safe limiter of concurrent requests and request rate (one per source)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RateLimiter:
    """At most ``max_concurrent`` requests in flight and ``max_per_second`` request starts per second.

    Use as ``with limiter.slot(): ...`` around every HTTP request. Starts are
    spaced at least ``1 / max_per_second + SPACING_MARGIN_S`` seconds apart. Exact
    ``1 / rate`` spacing would put rate + 1 starts in a closed one-second window
    (t, t + 0.1, ..., t + 1.0), and a server seeing them with a few ms of network
    jitter counts one request too many; the margin keeps any one-second window at or
    below the rate as the data centre sees it.
    """

    #: extra spacing between request starts (s), see the class docstring
    SPACING_MARGIN_S = 0.003

    def __init__(self, max_concurrent: int = 5, max_per_second: float = 10.0):
        if max_concurrent < 1 or max_per_second <= 0:
            raise ValueError(
                f"limits must be positive, got max_concurrent={max_concurrent}, max_per_second={max_per_second}"
            )
        self.max_concurrent = int(max_concurrent)
        self.max_per_second = float(max_per_second)
        self._slots = threading.BoundedSemaphore(self.max_concurrent)
        self._lock = threading.Lock()
        self._next_start = 0.0  # time.monotonic() of the next allowed start (s)
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = 0

    def _wait_for_turn(self) -> None:
        """Sleep until this thread may start a request (rate part)."""
        interval = 1.0 / self.max_per_second + self.SPACING_MARGIN_S
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + interval
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one concurrency slot for the duration of a request."""
        self._slots.acquire()
        try:
            self._wait_for_turn()
            with self._lock:
                self.in_flight += 1
                self.started += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                yield
            finally:
                with self._lock:
                    self.in_flight -= 1
        finally:
            self._slots.release()
