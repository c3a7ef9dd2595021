"""Auto mode with an LLM that cannot be reached: answer from the articles directly.

`ARTICLEBOT_ANSWERER=auto` means "the LLM when one is configured". A configured server that
is down (refused, or not accepting within `llm_connect_timeout`) should not turn every
question into an apology: the offline answerer can still answer from the same index. The
answer then carries a one-line notice saying so, and for `llm_retry_seconds` the LLM is not
tried again, so a bot under an outage does not wait on the dead server for every question.
A server that answers badly (HTTP errors, timeouts while it writes) is still an error: only
a failed connection falls back. `ARTICLEBOT_ANSWERER=llm` never falls back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from retrieval.answer.base import Answerer
from retrieval.errors import LLMUnreachableError
from retrieval.types import Answer, SearchFilters, Turn

log = logging.getLogger(__name__)

UNREACHABLE = "LLM unreachable: answered from the articles directly"


class OfflineFallback(Answerer):
    """The LLM's answers, or the offline ones (with `UNREACHABLE` as their notice)."""

    def __init__(
        self,
        llm: Answerer,
        offline: Answerer,
        *,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.llm = llm
        self.offline = offline
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._down_until: float | None = None
        self._lock = threading.Lock()

    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Answer:
        """The LLM's answer; the offline one while the LLM cannot be reached."""
        if not self._down():
            try:
                return self.llm.answer(question, history, filters)
            except LLMUnreachableError as exc:
                self._mark_down(exc)
        return _noticed(self.offline.answer(question, history, filters))

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Iterator[str | Answer]:
        """The LLM's pieces; the offline answer if no connection was made before the first.

        A connection lost after text was shown is an error, not a silent switch.
        """
        if not self._down():
            shown = False
            try:
                for piece in self.llm.stream(question, history, filters):
                    shown = True
                    yield piece
                return
            except LLMUnreachableError as exc:
                if shown:
                    raise
                self._mark_down(exc)
        for piece in self.offline.stream(question, history, filters):
            yield _noticed(piece) if isinstance(piece, Answer) else piece

    def timeline(
        self, topic: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Answer:
        """The LLM's timeline; the offline one while the LLM cannot be reached."""
        if not self._down():
            try:
                return self.llm.timeline(topic, history, filters)
            except LLMUnreachableError as exc:
                self._mark_down(exc)
        return _noticed(self.offline.timeline(topic, history, filters))

    def _down(self) -> bool:
        """Whether the LLM failed to connect less than `retry_seconds` ago."""
        with self._lock:
            if self._down_until is None:
                return False
            if self._clock() < self._down_until:
                return True
            self._down_until = None
            return False

    def _mark_down(self, exc: LLMUnreachableError) -> None:
        with self._lock:
            self._down_until = self._clock() + self.retry_seconds
        log.info("%s; answering offline for %g s", exc, self.retry_seconds)


def _noticed(answer: Answer) -> Answer:
    return replace(answer, notice=UNREACHABLE)
