"""Stopping a sync: between articles normally, at once while a fetch or an extraction waits.

A signal sets the event; the loops check it between articles and sources. While a
download or an extraction is in flight (`cancellable()`), the signal handler also raises
`Cancelled`, which ends the wait; nothing is half-stored, because storing is never inside
a cancellable section and the entry state is written only after its article.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Cancelled(BaseException):
    """A stop request ended a fetch or an extraction (a BaseException: no `except
    Exception` on the way may swallow it)."""


class StopSignal:
    """A stop request, shared by the loops, the signal handler and the bot."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._in_flight = 0

    @property
    def stopped(self) -> bool:
        """True once a stop was asked for."""
        return self.event.is_set()

    def set(self) -> None:
        """Ask the sync to stop (from any thread)."""
        self.event.set()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """A signal handler (SIGINT, SIGTERM): stop, cancelling a wait in flight."""
        self.event.set()
        if self._in_flight and threading.current_thread() is threading.main_thread():
            raise Cancelled

    @contextmanager
    def cancellable(self) -> Iterator[None]:
        """Mark a fetch or an extraction, which a signal may cancel."""
        if self.stopped:
            raise Cancelled
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
