"""Simulated device time: manual steps plus an optional real-time rate."""

from __future__ import annotations

import time


class SimClock:
    """``now()`` = seconds advanced by hand + real seconds elapsed x ``rate``.

    ``rate=0`` (the default) makes time fully deterministic: only :meth:`advance` moves it.
    ``rate=100`` makes one real second 100 device seconds (pairs with an adapter
    ``time_scale=0.01`` for watchdog and write-spacing tests).
    """

    def __init__(self, rate: float = 0.0) -> None:
        """Start at 0."""
        self.rate = rate
        self._manual = 0.0
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Current device time in seconds."""
        return self._manual + (time.monotonic() - self._t0) * self.rate

    def advance(self, seconds: float) -> None:
        """Jump forward."""
        self._manual += seconds
