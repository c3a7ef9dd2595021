"""One worker's copy of the BM25 index, kept in step with the shared catalog.

The catalog is shared by several workers (processes, machines); each keeps its own bm25s
index derived from it, never the source of truth. The catalog's generation changes with
every write, so the copy compares it at most once per `check_ms`, and:

- after a change made by this process (`changed_here`), the next `current()` rebuilds at
  once and waits for it, so a single process, and `finish_run`, see their own writes;
- after a change made elsewhere, `current()` keeps returning the last good index while
  one background thread rebuilds (or loads the copy another worker saved) and swaps it in.
  Changes that land meanwhile are not rebuilt one by one: when the rebuild ends, the
  thread reads the generation once more and, if it moved, rebuilds once more;
- only a copy with no index at all builds while the caller waits.

Staleness bound: with R the time of one rebuild, a change committed by another worker is
in the index that `current()` returns from `check_ms + R` after the commit on (if no
rebuild was running at the commit), and from `2R` on (if one was: it finishes, then the
follow-up rebuild runs); so within `max(check_ms, R) + R`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from retrieval.store.lexical import LexicalIndex

log = logging.getLogger(__name__)

#: Makes the index of one catalog generation (loaded if saved, else built and saved).
Refresh = Callable[[int], LexicalIndex]


class LexicalCopy:
    """The BM25 index a worker searches, replaced in the background when others write."""

    def __init__(
        self,
        generation: Callable[[], int],
        refresh: Refresh,
        *,
        check_ms: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._generation = generation
        self._refresh = refresh
        self._interval = check_ms / 1000
        self._clock = clock
        self._lock = threading.Lock()  # guards the fields below; never held while building
        self._build_lock = threading.Lock()  # one rebuild at a time, in any thread
        self._current: tuple[LexicalIndex, int] | None = None
        self._checked_at: float | None = None
        self._own_change = False
        self._worker: threading.Thread | None = None
        self._closing = False
        #: Indexes made (built or loaded) so far: what tests and benchmarks count.
        self.rebuilds = 0

    def changed_here(self) -> None:
        """This process changed the catalog: the next `current()` must include it."""
        with self._lock:
            self._own_change = True

    def current(self) -> LexicalIndex:
        """The index to search now: fresh after our own changes, else possibly a bounded
        while behind (see the module docstring), never waiting for another's rebuild."""
        with self._lock:
            cached, own = self._current, self._own_change
            if cached is not None and not own:
                now = self._clock()
                due = self._checked_at is None or now - self._checked_at >= self._interval
                if self._worker is not None or not due:
                    return cached[0]  # a running rebuild reads the generation when it ends
                self._checked_at = now
        if cached is None or own:
            return self._rebuild_now()
        if self._generation() != cached[1]:
            self._start_worker()
        return cached[0]

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background rebuild, if one runs; False if it is still running."""
        with self._lock:
            worker = self._worker
        if worker is None:
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def close(self) -> None:
        """Let a running rebuild finish (it uses the catalog) and start no other."""
        with self._lock:
            self._closing = True
        self.wait()

    def _rebuild_now(self) -> LexicalIndex:
        """Bring the index to the catalog's generation while the caller waits."""
        with self._build_lock:
            with self._lock:
                own, self._own_change = self._own_change, False
            try:
                return self._bring_to(self._generation())
            except BaseException:
                if own:
                    self.changed_here()  # not done: the next call tries again
                raise

    def _bring_to(self, generation: int) -> LexicalIndex:
        """The index of this generation, made unless it is the current one (build lock held)."""
        cached = self._current
        if cached is not None and cached[1] == generation:
            return cached[0]
        index = self._refresh(generation)
        with self._lock:
            self._current = (index, generation)
            self._checked_at = self._clock()
            self.rebuilds += 1
        return index

    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is not None or self._closing:
                return
            self._worker = threading.Thread(
                target=self._run, name="articlebot-bm25-rebuild", daemon=True
            )
            self._worker.start()

    def _run(self) -> None:
        """Rebuild until the index matches the generation read after the last rebuild."""
        try:
            generation = self._generation()
            while True:
                with self._build_lock:
                    self._bring_to(generation)
                latest = self._generation()
                if latest == generation or self._closing:
                    break
                generation = latest
        except Exception as exc:  # a thread's error is otherwise only printed to stderr
            log.warning(
                "could not rebuild the BM25 index in the background (%s): answering from"
                " the previous one, trying again at the next check",
                " ".join(str(exc).split()) or type(exc).__name__,
            )
        finally:
            with self._lock:
                self._worker = None
                self._checked_at = self._clock()
