"""The articles `articlebot eval` measures on: the eval's JSON Lines corpus, or any file or
directory ingest reads (the samples, say)."""

from __future__ import annotations

from pathlib import Path

from ingest.formats import parse_date
from ingest.settings import IngestSettings
from ingest.sources import load_sources
from retrieval.errors import SourceError
from retrieval.evaluation.qa import EvalDataError, field_of, jsonl_records
from retrieval.news.scope import domain_of
from retrieval.types import Article


def load_articles(path: Path) -> list[Article]:
    """Read the eval articles file ({id, title, text, url, site, published} per line)."""
    articles: dict[str, Article] = {}
    for label, value in jsonl_records(path):
        article_id = field_of(value, "id", str, label, True)
        text = field_of(value, "text", str, label, True)
        url = field_of(value, "url", str, label, False)
        published = field_of(value, "published", str, label, False)
        if article_id in articles:
            raise EvalDataError(f"{label}: duplicate article id {article_id!r}")
        if not text.strip():
            raise EvalDataError(f"{label}: 'text' is empty")
        title = field_of(value, "title", str, label, False) or article_id
        site = field_of(value, "site", str, label, False) or domain_of(url)
        articles[article_id] = Article(
            article_id, title, text, url, site, published=parse_date(published)
        )
    if not articles:
        raise EvalDataError(f"{path}: holds no articles")
    return list(articles.values())


def load_any_articles(path: Path, settings: IngestSettings) -> list[Article]:
    """The eval's JSON Lines file, or any file or directory `ingest` reads (the samples,
    say): article ids are then the ones ingest gives (see samples/README.md)."""
    if path.is_file() and path.suffix.lower() == ".jsonl":
        return load_articles(path)
    articles: dict[str, Article] = {}
    for item in load_sources([str(path)], settings):
        if isinstance(item, SourceError):
            raise EvalDataError(str(item))
        articles.setdefault(item.id, item)
    if not articles:
        raise EvalDataError(f"{path}: holds no articles")
    return list(articles.values())
