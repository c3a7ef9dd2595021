"""The ingest job: sources → articles → chunks → the index, with a summary.

Loading and chunking happen here; storing is the index's job. Articles are handed over
in small groups, so progress shows and an interrupted run loses at most one group's
work (which the next run redoes).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.chunk import Chunker
from ingest.sources import load_sources
from retrieval.errors import SourceError
from retrieval.index import ArticleIndex, UpsertOutcome
from retrieval.settings import Settings
from retrieval.types import Article, Chunk

GROUP_SIZE = 64  # articles per write: big enough for well-filled embedding batches


class Progress(Protocol):
    """Receives one call per article stored or source failed."""

    def advance(self, label: str) -> None:
        """Note that one more item is done."""


@dataclass
class IngestReport:
    """The outcome of one ingest run."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    resumed: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)

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
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "articles": self.articles,
        }

    def record(self, article: Article, outcome: UpsertOutcome) -> None:
        """Count one stored article."""
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        if outcome.status != "unchanged":
            self.chunks += outcome.chunks
        self.articles.append(
            {
                "id": article.id,
                "title": article.title,
                "status": outcome.status,
                "chunks": outcome.chunks,
            }
        )

    def fail(self, error: SourceError) -> None:
        """Count one failed source."""
        self.failed += 1
        self.errors.append({"source": error.source, "reason": error.reason})


def run_ingest(
    sources: Sequence[str],
    index: ArticleIndex,
    settings: Settings,
    *,
    pattern: str | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest every source into the index and report what happened."""
    started = time.perf_counter()
    report = IngestReport()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    report.resumed = index.resume()
    if rebuild:
        index.reset_vectors()
        stored = (s.article for s in index.articles())
        _store(stored, index, chunker, report, progress)
    loaded = load_sources(sources, settings, pattern=pattern)
    _store(_collect_errors(loaded, report, progress), index, chunker, report, progress)
    index.finish_run()
    report.seconds = time.perf_counter() - started
    return report


def ingest_articles(
    articles: Iterable[Article],
    index: ArticleIndex,
    settings: Settings,
    progress: Progress | None = None,
) -> IngestReport:
    """Store articles that are already loaded (e.g. an eval set) and report what happened."""
    started = time.perf_counter()
    report = IngestReport()
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    _store(articles, index, chunker, report, progress)
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


def _store(
    articles: Iterable[Article],
    index: ArticleIndex,
    chunker: Chunker,
    report: IngestReport,
    progress: Progress | None,
) -> None:
    group: list[tuple[Article, list[Chunk]]] = []
    for article in articles:
        group.append((article, chunker.split(article)))
        if len(group) >= GROUP_SIZE:
            _flush(group, index, report, progress)
            group = []
    if group:
        _flush(group, index, report, progress)


def _flush(
    group: list[tuple[Article, list[Chunk]]],
    index: ArticleIndex,
    report: IngestReport,
    progress: Progress | None,
) -> None:
    outcomes = index.upsert(group)
    for (article, _), outcome in zip(group, outcomes, strict=True):
        report.record(article, outcome)
        if progress is not None:
            progress.advance(article.title)
