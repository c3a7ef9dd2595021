"""When a source runs next: its interval after a success, exponential backoff after failures.

Both are jittered, so sources added together (or failing together, when a network drops)
spread out instead of hitting servers in step. The random source is injected (a seeded
`random.Random` in tests) so schedules are reproducible.
"""

from __future__ import annotations

from typing import Protocol

#: The first retry after a failure waits about this long (or the interval, if shorter).
FIRST_RETRY = 60.0
#: A successful run's next time moves by up to this share of the interval (at most 5 min).
SUCCESS_JITTER = 0.1


class Random(Protocol):
    """What the schedule needs of `random.Random`."""

    def uniform(self, a: float, b: float) -> float: ...


def after_success(interval: float, rng: Random) -> float:
    """Seconds until the next run of a source that just succeeded."""
    return interval + rng.uniform(0.0, min(interval * SUCCESS_JITTER, 300.0))


def after_failure(failures: int, interval: float, max_backoff: float, rng: Random) -> float:
    """Seconds until retrying a source that has now failed `failures` times in a row.

    Doubles from `FIRST_RETRY` (or the interval, if shorter) up to `max_backoff`, with
    "equal jitter": half the delay fixed, half random, so retries never bunch at zero.
    """
    base = min(FIRST_RETRY, interval)
    delay = min(max_backoff, base * 2.0 ** max(failures - 1, 0))
    return delay / 2 + rng.uniform(0.0, delay / 2)
