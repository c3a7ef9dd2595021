"""The ingest job: sources → articles → chunks → the index, with a summary.

Loading and chunking happen here; storing is the index's job. Articles are handed over
in small groups, so progress shows and an interrupted run loses at most one group's
work (which the next run redoes).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.chunk import Chunker
from ingest.settings import IngestSettings
from ingest.sources import load_sources
from retrieval.errors import SourceError
from retrieval.store.index import ArticleIndex, Status, UpsertOutcome
from retrieval.types import Article, Chunk, Progress

GROUP_SIZE = 64  # articles per write: big enough for well-filled embedding batches
#: When one run meets an article twice (resumed or rebuilt, then loaded from a source), it
#: is counted once, in the bucket of the most it did to it.
_RANK: dict[Status, int] = {"elsewhere": 0, "unchanged": 0, "resumed": 1, "updated": 2, "added": 3}


@dataclass
class IngestReport:
    """The outcome of one ingest run."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    resumed: int = 0
    elsewhere: int = 0  # being stored by another worker at the time (its claim)
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    _counted: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when no source failed."""
        return self.failed == 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape printed by `articlebot ingest --json`."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "chunks": self.chunks,
            "resumed": self.resumed,
            "elsewhere": self.elsewhere,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "articles": self.articles,
        }

    def record(self, outcome: UpsertOutcome) -> None:
        """Count one stored article, once per run whatever happened to it how often."""
        earlier = self._counted.get(outcome.article_id)
        if earlier is not None:
            if _RANK[outcome.status] <= _RANK[earlier["status"]]:
                return
            self._count(earlier["status"], -1, earlier["chunks"])
            self.articles.remove(earlier)
        self._count(outcome.status, 1, outcome.chunks)
        item = {
            "id": outcome.article_id,
            "title": outcome.title,
            "status": outcome.status,
            "chunks": outcome.chunks,
        }
        self.articles.append(item)
        self._counted[outcome.article_id] = item

    def _count(self, status: str, step: int, chunks: int) -> None:
        setattr(self, status, getattr(self, status) + step)
        if status not in ("unchanged", "elsewhere"):  # chunks written by this run
            self.chunks += step * chunks

    def fail(self, error: SourceError) -> None:
        """Count one failed source."""
        self.failed += 1
        self.errors.append({"source": error.source, "reason": error.reason})


def run_ingest(
    sources: Sequence[str],
    index: ArticleIndex,
    settings: IngestSettings,
    *,
    pattern: str | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    allow_private: bool = False,
) -> IngestReport:
    """Ingest every source into the index and report what happened.

    allow_private: the person vouches for the URLs in `sources` (`--allow-private`): their
    hosts may be private addresses; everything else fetched is still guarded.
    """
    started = time.perf_counter()
    report = IngestReport()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    for outcome in index.resume():
        report.record(outcome)
    if rebuild:
        index.reset_vectors()
        stored = (s.article for s in index.articles())
        store_articles(stored, index, chunker, report, progress, rebuilding=True)
    loaded = load_sources(sources, settings, pattern=pattern, allow_private_typed=allow_private)
    store_articles(_collect_errors(loaded, report, progress), index, chunker, report, progress)
    index.finish_run()
    report.seconds = time.perf_counter() - started
    return report


def ingest_articles(
    articles: Iterable[Article],
    index: ArticleIndex,
    settings: IngestSettings,
    progress: Progress | None = None,
) -> IngestReport:
    """Store articles that are already loaded (e.g. an eval set) and report what happened."""
    started = time.perf_counter()
    report = IngestReport()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    store_articles(articles, index, chunker, report, progress)
    index.finish_run()
    report.seconds = time.perf_counter() - started
    return report


def _collect_errors(
    items: Iterable[Article | SourceError], report: IngestReport, progress: Progress | None
) -> Iterator[Article]:
    for item in items:
        if isinstance(item, SourceError):
            report.fail(item)
            if progress is not None:
                progress.advance(f"failed: {item.source}")
        else:
            yield item


def store_articles(
    articles: Iterable[Article],
    index: ArticleIndex,
    chunker: Chunker,
    report: IngestReport,
    progress: Progress | None = None,
    *,
    rebuilding: bool = False,
) -> None:
    """Store loaded articles in groups and count them in `report`, without ending the run
    (a sync stores each source's articles as they come and finishes the run once)."""
    group: list[tuple[Article, list[Chunk]]] = []
    for article in articles:
        group.append((article, chunker.split(article)))
        if len(group) >= GROUP_SIZE:
            _flush(group, index, report, progress, rebuilding)
            group = []
    if group:
        _flush(group, index, report, progress, rebuilding)


def _flush(
    group: list[tuple[Article, list[Chunk]]],
    index: ArticleIndex,
    report: IngestReport,
    progress: Progress | None,
    rebuilding: bool,
) -> None:
    outcomes = index.upsert(group)
    for (article, _), outcome in zip(group, outcomes, strict=True):
        if rebuilding and outcome.status == "unchanged":  # same text, embedded anew
            outcome = dataclasses.replace(outcome, status="updated")
        report.record(outcome)
        if progress is not None:
            progress.advance(article.title)
