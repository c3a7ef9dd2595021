"""A clock for the scheduler that never sleeps: waits move its time forward at once."""

from __future__ import annotations

import threading


class FakeClock:
    """Epoch seconds starting at `start`; `advance` and `wait` move them."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.time = start
        self.waits: list[float] = []

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        self.time += seconds
        return stop.is_set()
