"""The time the scheduler sees: the real clock, or a test's, which never sleeps."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time (epoch seconds, as stored in the catalog) and a stoppable wait."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait `seconds` or until `stop` is set; True if stopped."""


#: A wait sleeps in slices this long, looking at the stop request between them.
SLICE = 0.25


class SystemClock:
    """The real clock: `time.time()`, and waits that a stop ends within `SLICE` seconds.

    The wait sleeps rather than blocking in `Event.wait`: the stop request is set by a
    signal handler on this same thread, and `Event.set` there could wait for a lock the
    interrupted `Event.wait` holds."""

    def now(self) -> float:
        return time.time()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        end = time.monotonic() + max(seconds, 0.0)
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, SLICE))
        return True
