"""`articlebot watch`: run the due sources, wait for the next one, until stopped.

The wait is the clock's (a test's clock returns at once) and a stop ends it immediately.
Sources added by another process are noticed within `RECHECK` seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.sync.report import SourceReport
from ingest.sync.runner import SyncRunner

#: The longest wait between looks at the catalog (new sources, another process's runs).
RECHECK = 60.0


def watch(
    runner: SyncRunner,
    on_report: Callable[[SourceReport], None] | None = None,
    *,
    max_rounds: int | None = None,
    recheck: float = RECHECK,
) -> int:
    """Run due sources until stopped; return how many source runs there were.

    max_rounds: stop after this many passes (tests; None runs until stopped).
    recheck: the longest wait between passes."""
    runs = 0
    rounds = 0
    while not runner.stop.stopped:
        runs += len(runner.run_due(on_report))
        rounds += 1
        if max_rounds is not None and rounds >= max_rounds:
            break
        next_due = runner.store.next_due()
        now = runner.clock.now()
        wait = recheck if next_due is None else min(max(next_due - now, 0.0), recheck)
        if runner.clock.wait(wait, runner.stop.event):
            break
    return runs
