"""The BM25 delta segment: a base plus a delta over the articles stored since ranks as a
full rebuild would, never returns what was removed or replaced, makes a process's own
writes searchable without full rebuilds, and is merged into a new base past its share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from bot.settings import Settings
from ingest.chunk import Chunker
from retrieval.store.index import ArticleIndex
from retrieval.store.lexical import ChunkKey, LexicalIndex
from retrieval.types import Article
from tests.fakes.clock import FakeClock
from tests.fakes.embedder import HashEmbedder

TOWNS = (
    "Alderby Brightwell Corran Dunmore Eskdale Farrow Glenmoor Harwick Ilsby Jarrow Kelso"
    " Lanark Morvern Nairn Oban Peebles Quarff Rosyth Scalpay Tain"
).split()
TOPICS = (
    "ferry timetable; bridge repairs; school closure; harbour dredging; bus route; flood"
    " defences; library hours; market licence; wind farm; hospital parking"
).split("; ")
QUERIES = [
    "ferry timetable",
    "bridge repairs Corran",
    "school closure",
    "harbour dredging Glenmoor",
    "wind farm council",
    "flood defences Tain",
    "market licence Oban",
    "hospital parking",
]


class Corpus:
    """Articles of two chunks each, id → (stored_seq, [(position, text)]): the catalog's
    indexed articles as `LexicalIndex.extended` reads them."""

    def __init__(self) -> None:
        self.articles: dict[str, tuple[int, list[tuple[int, str]]]] = {}
        self.seq = 0

    def store(self, n: int, variant: int = 0) -> None:
        """Store (or re-store, with other text) article n; it takes the next seq."""
        town, topic = TOWNS[n % len(TOWNS)], TOPICS[(n + variant) % len(TOPICS)]
        other = TOPICS[(n * 3 + 1 + variant) % len(TOPICS)]
        filler = " ".join(f"note{j}" for j in range(n * 7 % 47))  # a length of its own
        self.seq += 1
        self.articles[f"a{n}"] = (
            self.seq,
            [
                (0, f"The {town} council met about the {topic} on day {n}. {filler}"),
                (1, f"Residents of {town} asked about the {other}, and the {topic}. {filler}"),
            ],
        )

    def live(self) -> dict[str, int]:
        return {a: seq for a, (seq, _) in self.articles.items()}

    def read(self, ids: Sequence[str]) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
        for article_id in ids:
            if article_id in self.articles:
                seq, chunks = self.articles[article_id]
                yield article_id, seq, chunks

    def full(self) -> LexicalIndex:
        """A full rebuild of what is stored now."""
        keys: list[ChunkKey] = []
        texts: list[str] = []
        for article_id, (_, chunks) in self.articles.items():
            for position, text in chunks:
                keys.append((article_id, position))
                texts.append(text)
        return LexicalIndex.build(keys, texts, self.live())


def top(index: LexicalIndex, query: str, k: int = 5) -> list[ChunkKey]:
    return [key for key, _ in index.search(query, k)]


def assert_ranks_as_full(index: LexicalIndex, corpus: Corpus) -> None:
    full = corpus.full()
    assert sorted(index.keys) == sorted(full.keys)
    for query in QUERIES:  # an article's two chunks may tie: ties in key order
        ours = sorted(index.search(query, 12), key=lambda hit: (-hit[1], hit[0]))[:6]
        theirs = sorted(full.search(query, 12), key=lambda hit: (-hit[1], hit[0]))[:6]
        assert [k for k, _ in ours] == [k for k, _ in theirs], query
        # scores differ by the average chunk length only (the base's, here 10-40% older)
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], rtol=0.15)
        for stem in ("ferri", "bridg", "corran", "council"):
            assert index.document_frequency(stem) == full.document_frequency(stem)


def test_added_articles_rank_as_a_full_rebuild() -> None:
    corpus = Corpus()
    for n in range(40):
        corpus.store(n)
    base = corpus.full()
    for n in range(40, 44):
        corpus.store(n)
    index = base.extended(corpus.live(), corpus.read)
    assert index.delta is not None and len(index.delta) == 8
    assert_ranks_as_full(index, corpus)


def test_removed_and_restored_articles_rank_as_a_full_rebuild() -> None:
    corpus = Corpus()
    for n in range(40):
        corpus.store(n)
    base = corpus.full()
    del corpus.articles["a2"], corpus.articles["a7"]  # removed
    corpus.store(5, variant=3)  # re-stored with other text
    corpus.store(40)
    index = base.extended(corpus.live(), corpus.read)
    assert index.hidden == {"a2", "a7", "a5"}
    assert_ranks_as_full(index, corpus)


def test_a_removed_articles_chunks_are_never_returned() -> None:
    corpus = Corpus()
    for n in range(40):
        corpus.store(n)
    base = corpus.full()
    assert ("a1", 0) in top(base, "Brightwell", 10)  # only a1 and a21 are in Brightwell
    del corpus.articles["a1"]
    index = base.extended(corpus.live(), corpus.read)
    found = top(index, "Brightwell ferry timetable", 80)
    assert found and all(key[0] != "a1" for key in found)
    assert all(key[0] != "a1" for key in index.keys)
    assert index.document_frequency("brightwel") == corpus.full().document_frequency("brightwel")


def test_a_mask_weighs_the_live_keys_base_then_delta() -> None:
    corpus = Corpus()
    for n in range(20):
        corpus.store(n)
    base = corpus.full()
    del corpus.articles["a0"]
    corpus.store(20)  # Alderby again, as a0 was
    index = base.extended(corpus.live(), corpus.read)
    mask = np.array([1.0 if key[0] == "a20" else 0.0 for key in index.keys], dtype=np.float32)
    assert {key[0] for key in top(index, "Alderby", 10)} == {"a20"}
    assert {key[0] for key, _ in index.search("Residents council", 10, mask=mask)} == {"a20"}


def test_a_delta_reads_and_analyses_only_what_is_new() -> None:
    corpus = Corpus()
    for n in range(10):
        corpus.store(n)
    index = corpus.full()
    asked: list[str] = []

    def read(ids: Sequence[str]) -> Iterator[tuple[str, int, list[tuple[int, str]]]]:
        asked.extend(ids)
        return corpus.read(ids)

    for n in range(10, 14):
        corpus.store(n)
        index = index.extended(corpus.live(), read)
    assert asked == ["a10", "a11", "a12", "a13"]
    assert_ranks_as_full(index, corpus)


# --- a worker's copy over a real catalog -------------------------------------------------

CHUNKER = Chunker(size=200, overlap=40)


def article(n: int) -> Article:
    town = TOWNS[n % len(TOWNS)]
    return Article(
        id=f"https://news.example/pier-{n}",
        title=f"Pier notice {n}",
        text=(
            f"The {town} pier committee met about mooring {n}. Skippers said the fuel pump"
            f" at berth {n} failed twice. Residents of {town} asked for new lamps."
        ),
        url=f"https://news.example/pier-{n}",
        site="news.example",
        published=date(2026, 4, 1 + n),
    )


def stored(index: ArticleIndex, n: int) -> None:
    index.upsert([(article(n), CHUNKER.split(article(n)))])


def found(index: ArticleIndex, query: str) -> set[str]:
    return {key[0] for key, _ in index.lexical().search(query, 100)}


@pytest.fixture
def small_merges(settings: Settings) -> Settings:
    """Merges past a quarter of the base, whatever its size."""
    return settings.model_copy(update={"lexical_merge_share": 0.25, "lexical_merge_min": 0})


def test_articles_stored_one_by_one_are_searchable_at_once_without_full_rebuilds(
    settings: Settings,
) -> None:
    with ArticleIndex(settings, HashEmbedder(), clock=FakeClock().now) as index:
        stored(index, 0)
        index.finish_run()
        assert index.lexical_full_builds == 1  # the first base
        for n in range(1, 13):  # a sync storing 12 articles one by one
            stored(index, n)
            assert article(n).id in found(index, f"mooring {n} fuel pump")  # at once
        index.finish_run()
        assert index.lexical_full_builds == 1
        assert index.wait_lexical(30) and index.lexical_full_builds == 1  # no merge either
        assert found(index, "pier committee") == {article(n).id for n in range(13)}
        assert index.lexical().delta_chunks == 12 * len(CHUNKER.split(article(1)))


def test_a_removed_or_replaced_article_is_hidden_at_once(settings: Settings) -> None:
    with ArticleIndex(settings, HashEmbedder(), clock=FakeClock().now) as index:
        for n in range(4):
            stored(index, n)
        index.finish_run()
        index.remove(article(1).id)
        assert article(1).id not in found(index, "committee mooring")
        changed = replace(article(2), text="The ferry sailed to Corran.")
        index.upsert([(changed, CHUNKER.split(changed))])
        assert article(2).id not in found(index, "committee mooring")  # its title stays
        assert found(index, "ferry Corran") == {article(2).id}
        assert index.lexical_full_builds == 1


def test_a_delta_past_its_share_is_merged_in_the_background(small_merges: Settings) -> None:
    with ArticleIndex(small_merges, HashEmbedder(), clock=FakeClock().now) as index:
        for n in range(8):
            stored(index, n)
        index.finish_run()
        assert index.wait_lexical(30)
        builds = index.lexical_full_builds
        stored(index, 8)  # 1 article of 9: within a quarter
        assert index.wait_lexical(30) and index.lexical_full_builds == builds
        stored(index, 9)
        stored(index, 10)  # 3 of 8 in the delta: past a quarter
        assert article(10).id in found(index, "pier committee")  # the delta answers at once
        assert index.wait_lexical(30)
        assert index.lexical_full_builds == builds + 1
        assert index.lexical().delta_chunks == 0
        assert found(index, "pier committee") == {article(n).id for n in range(11)}


def test_another_worker_loads_the_saved_base_and_extends_it(settings: Settings) -> None:
    clock = FakeClock()
    with ArticleIndex(settings, HashEmbedder()) as writer:
        for n in range(5):
            stored(writer, n)
        writer.finish_run()  # saves the base
        stored(writer, 5)  # stored after the save: only in the catalog
        writer.remove(article(0).id)
        with ArticleIndex(settings, HashEmbedder(), clock=clock.now) as reader:
            assert found(reader, "pier committee") == {article(n).id for n in range(1, 6)}
            assert reader.lexical_full_builds == 0  # loaded, then extended
            stored(writer, 6)
            clock.advance(1)
            reader.lexical()
            assert reader.wait_lexical(30)
            assert article(6).id in found(reader, "pier committee")
            assert reader.lexical_full_builds == 0


def test_a_saved_base_of_an_older_format_is_rebuilt(settings: Settings, tmp_path: Path) -> None:
    with ArticleIndex(settings, HashEmbedder()) as index:
        stored(index, 0)
        index.finish_run()
    (settings.lexical_dir / "articles.json").unlink()  # as the previous version saved it
    assert LexicalIndex.load(settings.lexical_dir) is None
    with ArticleIndex(settings, HashEmbedder()) as index:
        assert found(index, "pier committee") == {article(0).id}
        assert index.lexical_full_builds == 1
    assert LexicalIndex.load(settings.lexical_dir) is not None


def test_the_catalog_pages_indexed_articles_with_the_seq_read_with_their_text(
    settings: Settings,
) -> None:
    with ArticleIndex(settings, HashEmbedder()) as index:
        for n in range(5):
            stored(index, n)
        index.remove(article(3).id)
        index.catalog.put_pending(article(9), CHUNKER.split(article(9)))  # not indexed yet
        pages = list(index.catalog.indexed_pages(page=2))
        assert [len(page) for page in pages] == [2, 2]
        seqs = [seq for page in pages for seq, _ in page]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        listed = {a.id: seq for page in pages for seq, a in page}
        assert listed == index.catalog.indexed_seqs()
        assert set(listed) == {article(n).id for n in (0, 1, 2, 4)}
        wanted = [article(1).id, article(3).id, article(9).id]
        asked = [a.id for page in index.catalog.indexed_pages(wanted, page=1) for _, a in page]
        assert asked == [article(1).id]  # removed and pending ones are not indexed
