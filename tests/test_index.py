"""The article index: idempotent upserts, updates without orphans, removal, stats."""

from __future__ import annotations

from datetime import date

import pytest

from bot.settings import Settings
from ingest.chunk import Chunker
from retrieval.errors import EmbedderMismatchError, IndexMissingError, StoreError
from retrieval.store.index import ArticleIndex
from retrieval.types import Article
from tests.fakes.embedder import HashEmbedder

CHUNKER = Chunker(size=200, overlap=40)


TOWNS = ["Alderby", "Brightwell", "Corran", "Dunmore", "Eskdale", "Farrow"]


def make_article(n: int, extra: str = "") -> Article:
    body = "\n\n".join(
        f"Paragraph {p} of story {n}. The {TOWNS[n]} council met on day {p} to discuss it."
        f" Residents asked about the ferry timetable and the bridge repairs.{extra}"
        for p in range(4)
    )
    return Article(
        id=f"https://news.example/{n}",
        title=f"Story number {n}",
        text=body,
        url=f"https://news.example/{n}",
        site="news.example",
        published=date(2026, 3, 1 + n),
    )


def items(*articles: Article) -> list[tuple[Article, list]]:
    return [(a, CHUNKER.split(a)) for a in articles]


def vector_ids(index: ArticleIndex, article_id: str) -> list[str]:
    found = index.vectorstore._collection.get(where={"article_id": article_id}, include=[])
    return sorted(found["ids"])


@pytest.fixture
def index(settings: Settings) -> ArticleIndex:
    ix = ArticleIndex(settings, HashEmbedder())
    yield ix
    ix.close()


def test_new_articles_are_added_with_every_chunk(index: ArticleIndex) -> None:
    a, b = make_article(1), make_article(2)
    outcomes = index.upsert(items(a, b))
    assert [o.status for o in outcomes] == ["added", "added"]
    assert index.vectorstore._collection.count() == sum(o.chunks for o in outcomes)
    assert len(vector_ids(index, a.id)) == len(CHUNKER.split(a))


def test_chunk_spans_of_many_articles_in_one_call(index: ArticleIndex) -> None:
    a, b = make_article(1), make_article(2)
    index.upsert(items(a, b))
    spans = index.catalog.spans([a.id, "https://news.example/missing", b.id, a.id])
    assert set(spans) == {a.id, b.id}
    for article in (a, b):
        expected = {c.position: (c.start, c.end) for c in CHUNKER.split(article)}
        assert spans[article.id] == expected
        assert [(p, *spans[article.id][p]) for p in sorted(expected)] == index.catalog.chunks(
            article.id
        )


def test_same_article_again_is_unchanged_and_embeds_nothing(index: ArticleIndex) -> None:
    a = make_article(1)
    index.upsert(items(a))
    embedder = index.embedder
    assert isinstance(embedder, HashEmbedder)
    calls_before = len(embedder.calls)
    outcomes = index.upsert(items(a))
    assert [o.status for o in outcomes] == ["unchanged"]
    assert len(embedder.calls) == calls_before


def test_changed_article_replaces_its_chunks_without_orphans(index: ArticleIndex) -> None:
    a = make_article(1)
    index.upsert(items(a))
    old_ids = vector_ids(index, a.id)
    changed = make_article(1, extra=" A late correction was added.")
    outcomes = index.upsert(items(changed))
    assert [o.status for o in outcomes] == ["updated"]
    new_ids = vector_ids(index, a.id)
    assert len(new_ids) == len(CHUNKER.split(changed))
    assert not set(old_ids) & set(new_ids)
    assert index.catalog.get(a.id).article.text == changed.text  # type: ignore[union-attr]


def test_duplicate_in_one_batch_is_stored_once(index: ArticleIndex) -> None:
    a = make_article(1)
    outcomes = index.upsert(items(a, a))
    assert [o.status for o in outcomes] == ["added", "unchanged"]
    assert len(vector_ids(index, a.id)) == len(CHUNKER.split(a))


def test_new_chunk_settings_count_as_an_update(index: ArticleIndex) -> None:
    a = make_article(1)
    index.upsert(items(a))
    rechunked = Chunker(size=120, overlap=20).split(a)
    assert [o.status for o in index.upsert([(a, rechunked)])] == ["updated"]
    assert len(vector_ids(index, a.id)) == len(rechunked)


def test_remove_by_url_deletes_everything(index: ArticleIndex) -> None:
    a, b = make_article(1), make_article(2)
    index.upsert(items(a, b))
    removed = index.remove(a.url or "")
    index.finish_run()
    assert removed.id == a.id
    assert vector_ids(index, a.id) == []
    assert index.catalog.get(a.id) is None
    assert all(key[0] != a.id for key in index.lexical().keys)
    assert vector_ids(index, b.id)


def test_remove_unknown_article_is_a_clear_error(index: ArticleIndex) -> None:
    with pytest.raises(StoreError, match="no article with id or URL 'nope'"):
        index.remove("nope")


def test_lexical_index_follows_the_catalog(index: ArticleIndex) -> None:
    index.upsert(items(make_article(1), make_article(2)))
    index.finish_run()
    hits = index.lexical().search("Corran ferry timetable", 3)
    assert hits and hits[0][0][0] == "https://news.example/2"
    index.upsert(items(make_article(3)))  # stale now: rebuilt on next use
    assert any(key[0] == "https://news.example/3" for key in index.lexical().keys)


def test_interrupted_write_is_completed_by_resume(settings: Settings) -> None:
    a = make_article(1)
    first = ArticleIndex(settings, HashEmbedder())
    first.catalog.put_pending(a, CHUNKER.split(a))  # as if killed before embedding
    first.close()
    second = ArticleIndex(settings, HashEmbedder())
    assert len(second.resume()) == 1
    assert second.catalog.get(a.id).indexed  # type: ignore[union-attr]
    assert len(vector_ids(second, a.id)) == len(CHUNKER.split(a))
    assert [o.status for o in second.upsert(items(a))] == ["unchanged"]
    second.close()


def test_other_embedder_is_refused_until_rebuild(settings: Settings) -> None:
    a = make_article(1)
    first = ArticleIndex(settings, HashEmbedder(dimension=64))
    first.upsert(items(a))
    first.close()
    other = ArticleIndex(settings, HashEmbedder(dimension=32))
    with pytest.raises(EmbedderMismatchError, match="articlebot ingest --rebuild"):
        other.upsert(items(make_article(2)))
    other.reset_vectors()
    assert other.catalog.get(a.id) is not None  # texts survive the reset
    assert len(other.resume()) == 1
    assert other.stats().embedder == "test-hash-32"
    assert other.stats().chunks == len(CHUNKER.split(a))
    other.close()


def test_stats_describe_the_index(index: ArticleIndex) -> None:
    index.upsert(items(make_article(1), make_article(4)))
    index.finish_run()
    stats = index.stats()
    assert stats.articles == 2 and stats.pending == 0
    assert stats.chunks == index.vectorstore._collection.count()
    assert (stats.oldest, stats.newest) == (date(2026, 3, 2), date(2026, 3, 5))
    assert stats.embedder == "test-hash-64" and stats.dimension == 64
    assert stats.size_bytes > 0 and stats.last_ingest


def test_missing_index_says_to_ingest_first(settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="run `articlebot ingest"):
        ArticleIndex(settings, must_exist=True)
