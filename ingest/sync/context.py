"""One source's run: what the feed, page and folder syncs share, and how they store.

Articles are stored through the ingest pipeline a few at a time, then the entries that
gave them are remembered, in that order: a crash in between makes the next run load those
entries again, and storing the same articles again changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.chunk import Chunker
from ingest.extract import Extractor
from ingest.fetch import Fetcher
from ingest.pipeline import store_articles
from ingest.settings import IngestSettings
from ingest.sync.report import SourceReport
from ingest.sync.stop import StopSignal
from retrieval.store.index import ArticleIndex
from retrieval.store.sources import Entry, Source, SourceStore
from retrieval.types import Article, Progress

#: Articles stored per write during a sync: small, so a stop waits for little.
FLUSH = 8


class EndRun(Exception):
    """The run ends early (a stop request, the source's deadline): what is done is kept."""


@dataclass
class SourceRun:
    """Everything one source's sync needs, and its pending writes."""

    source: Source
    index: ArticleIndex
    settings: IngestSettings
    store: SourceStore
    fetcher: Fetcher
    extractor: Extractor
    chunker: Chunker
    report: SourceReport
    stop: StopSignal
    deadline: float  # time.monotonic() by which the source's run ends
    renew: Callable[[], None]
    progress: Progress | None = None
    keep_deleted: bool = False
    _articles: list[Article] = field(default_factory=list)
    _entries: list[Entry] = field(default_factory=list)

    def check(self) -> None:
        """Between articles: end the run if asked to stop or past the deadline (what is
        queued is stored first: it is done work)."""
        if self.stop.stopped:
            self.flush()
            raise EndRun("stop requested")
        if time.monotonic() >= self.deadline:
            self.past_deadline()

    def past_deadline(self) -> None:
        """End the run for its deadline, keeping what is done."""
        self.flush()
        raise EndRun(
            f"the {self.settings.sync_source_timeout:g} s deadline passed;"
            " the rest waits for the next run"
        )

    def add(self, entry: Entry, articles: list[Article]) -> None:
        """Queue an entry's articles; they are stored, and the entry remembered, soon."""
        self._articles.extend(articles)
        self._entries.append(entry)
        if len(self._articles) >= FLUSH:
            self.flush()

    def flush(self) -> None:
        """Store the queued articles, then remember their entries; renew the lease."""
        if self._entries:
            store_articles(
                self._articles, self.index, self.chunker, self.report.ingest, self.progress
            )
            self.store.put_entries(self.source.id, self._entries)
            self._articles, self._entries = [], []
            self.renew()
