"""One worker's copy of the BM25 index, kept in step with the shared catalog.

The catalog is shared by several workers (processes, machines); each keeps its own bm25s
index derived from it, never the source of truth: a base (built from the whole catalog,
saved for other workers) plus a delta segment over the articles stored since, with the
base's chunks of removed or re-stored articles hidden (`LexicalIndex.extended`). Bringing
the copy to a new generation remakes the delta only: O(delta), not O(corpus). The
catalog's generation changes with every write, so the copy compares it at most once per
`check_ms`, and:

- after a change made by this process (`changed_here`), the next `current()` extends the
  index at once and waits for it (U, the time of one delta), so a single process, each
  article a sync stores and `finish_run` see their own writes without a full rebuild;
- after a change made elsewhere, `current()` keeps returning the last good index while
  one background thread extends it and swaps it in. Changes that land meanwhile are not
  handled one by one: when it ends, the thread reads the generation once more and, if it
  moved, extends once more;
- when the delta (its chunks plus the hidden base chunks) passes `merge_share` of the base
  and `merge_min` chunks, a second background thread builds a new base from the whole
  catalog (M, the time of a full build) while the old index keeps answering and
  extensions go on; the new base is then extended to the catalog and swapped in;
- only a copy with no index at all (nothing saved to load) builds while the caller waits.

Staleness bound: with U the time of one delta extension, a change committed by another
worker is in the index that `current()` returns from `check_ms + U` after the commit on
(if no extension was running at the commit), and from `2U` on (if one was: it finishes,
then the follow-up runs); so within `max(check_ms, U) + U`. A running merge does not
delay it (it builds beside the extensions), it only slows them: it shares the cores and
the interpreter lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from retrieval.store.lexical import LexicalIndex

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where the copy's indexes come from (`retrieval/store/lexical_source.py`)."""

    def generation(self) -> int:
        """The catalog's generation: changes with every write."""
        ...

    def load(self) -> LexicalIndex | None:
        """A saved base, if there is a usable one."""
        ...

    def build(self) -> LexicalIndex:
        """A base of the whole catalog (O(corpus))."""
        ...

    def extend(self, index: LexicalIndex) -> LexicalIndex:
        """`index`'s base with a delta bringing it to the catalog now (O(delta))."""
        ...


class LexicalCopy:
    """The BM25 index a worker searches, extended or replaced in the background when
    others write."""

    def __init__(
        self,
        source: Source,
        *,
        check_ms: int,
        merge_share: float,
        merge_min: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._interval = check_ms / 1000
        self._merge_share = merge_share
        self._merge_min = merge_min
        self._clock = clock
        self._lock = threading.Lock()  # guards the fields below; never held while building
        self._build_lock = threading.Lock()  # one extension at a time, in any thread
        self._current: tuple[LexicalIndex, int] | None = None
        self._checked_at: float | None = None
        self._own_change = False
        self._worker: threading.Thread | None = None
        self._merger: threading.Thread | None = None
        self._closing = False
        #: Indexes swapped in so far (loaded, extended, merged): what tests count.
        self.rebuilds = 0
        #: Bases built from the whole catalog (the first build, and merges).
        self.full_builds = 0

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
                    return cached[0]  # a running extension reads the generation when it ends
                self._checked_at = now
        if cached is None or own:
            return self._extend_now()
        if self._source.generation() != cached[1]:
            self._start("_worker", self._run)
        return cached[0]

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background extension and merge, if any run; False if one still
        runs."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                running = [t for t in (self._worker, self._merger) if t is not None]
            if not running:
                return True
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            running[0].join(left)
            if running[0].is_alive():
                return False

    def close(self) -> None:
        """Let running background work finish (it uses the catalog) and start no other."""
        with self._lock:
            self._closing = True
        self.wait()

    def _extend_now(self) -> LexicalIndex:
        """Bring the index to the catalog's generation while the caller waits."""
        with self._build_lock:
            with self._lock:
                own, self._own_change = self._own_change, False
            try:
                index = self._bring_to(self._source.generation())
            except BaseException:
                if own:
                    self.changed_here()  # not done: the next call tries again
                raise
        self._merge_if_due(index)
        return index

    def _bring_to(self, generation: int) -> LexicalIndex:
        """The index of this generation, made unless it is the current one (build lock held)."""
        cached = self._current
        if cached is not None and cached[1] == generation:
            return cached[0]
        if cached is not None:
            index = self._source.extend(cached[0])
        else:
            base = self._source.load()
            if base is None:
                base = self._source.build()
                with self._lock:
                    self.full_builds += 1
            index = self._source.extend(base)
        self._swap(index, generation)
        return index

    def _swap(self, index: LexicalIndex, generation: int) -> None:
        with self._lock:
            self._current = (index, generation)
            self._checked_at = self._clock()
            self.rebuilds += 1

    def _merge_if_due(self, index: LexicalIndex) -> None:
        delta = index.delta_chunks
        if delta > self._merge_min and delta > self._merge_share * len(index.base):
            self._start("_merger", self._merge)

    def _start(self, slot: str, target: Callable[[], None]) -> None:
        """Start `target` in a thread kept in `slot` (`_worker` or `_merger`) unless one
        runs there or the copy is closing."""
        with self._lock:
            if getattr(self, slot) is not None or self._closing:
                return
            thread = threading.Thread(target=target, name=f"articlebot-bm25{slot}", daemon=True)
            setattr(self, slot, thread)
            thread.start()

    def _run(self) -> None:
        """Extend until the index matches the generation read after the last extension."""
        index: LexicalIndex | None = None
        try:
            generation = self._source.generation()
            while True:
                with self._build_lock:
                    index = self._bring_to(generation)
                latest = self._source.generation()
                if latest == generation or self._closing:
                    break
                generation = latest
        except Exception as exc:  # a thread's error is otherwise only printed to stderr
            _warn("rebuild", exc)
        finally:
            with self._lock:
                self._worker = None
                self._checked_at = self._clock()
        if index is not None:
            self._merge_if_due(index)

    def _merge(self) -> None:
        """Build a new base beside the answering index, then extend it to the catalog and
        swap it in."""
        try:
            base = self._source.build()  # no lock: extensions go on meanwhile
            with self._lock:
                self.full_builds += 1
            with self._build_lock:
                generation = self._source.generation()
                self._swap(self._source.extend(base), generation)
        except Exception as exc:
            _warn("merge", exc)
        finally:
            with self._lock:
                self._merger = None


def _warn(what: str, exc: Exception) -> None:
    log.warning(
        "could not %s the BM25 index in the background (%s): answering from the previous"
        " one, trying again at the next change",
        what,
        " ".join(str(exc).split()) or type(exc).__name__,
    )
