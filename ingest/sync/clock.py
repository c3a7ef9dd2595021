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


class SystemClock:
    """The real clock: `time.time()`, and waits that a stop ends at once."""

    def now(self) -> float:
        return time.time()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(seconds, 0.0))
