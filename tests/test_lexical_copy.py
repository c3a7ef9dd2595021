"""A worker's BM25 copy: checked at most once per interval, rebuilt in the background when
another worker changed the catalog (the old index answering meanwhile), coalesced, and
fresh at once after this process's own writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest

from bot.settings import Settings
from ingest.chunk import Chunker
from retrieval.store.index import ArticleIndex
from retrieval.store.lexical import LexicalIndex
from retrieval.store.lexical_copy import LexicalCopy
from retrieval.types import Article
from tests.fakes.clock import FakeClock
from tests.fakes.embedder import HashEmbedder

CHUNKER = Chunker(size=200, overlap=40)
PLACES = "Alderby Brightwell Corran Dunmore Eskdale Farrow Glenmoor Harwick Ilsby Jarrow".split()


class Catalog:
    """The generation another worker moves, and how often the copy reads it."""

    def __init__(self) -> None:
        self.value = 1
        self.reads = 0

    def generation(self) -> int:
        self.reads += 1
        return self.value


class Builder:
    """The copy's source: extending makes an index whose one document names the catalog's
    generation; can hold one generation's extension until released, to look at the copy
    while one runs."""

    def __init__(self, hold: int | None = None, fail: int | None = None) -> None:
        self.hold, self.fail = hold, fail
        self.started, self.release = threading.Event(), threading.Event()
        self.built: list[int] = []
        self.catalog = Catalog()

    def generation(self) -> int:
        return self.catalog.generation()

    def load(self) -> LexicalIndex | None:
        return None

    def build(self) -> LexicalIndex:
        return LexicalIndex.build([], [])

    def extend(self, index: LexicalIndex) -> LexicalIndex:
        generation = self.catalog.value
        if generation == self.hold:
            self.started.set()
            assert self.release.wait(10)
        if generation == self.fail:
            self.fail = None
            raise OSError("disk on fire")
        self.built.append(generation)
        return LexicalIndex.build([(f"g{generation}", 0)], [f"generation marker{generation}"])


def generation_of(index: LexicalIndex) -> int:
    return int(index.keys[0][0][1:])


def copy_of(
    catalog: Catalog, builder: Builder, clock: FakeClock, check_ms: int = 1000
) -> LexicalCopy:
    builder.catalog = catalog
    return LexicalCopy(builder, check_ms=check_ms, merge_share=0.1, merge_min=0, clock=clock.now)


def test_the_generation_is_read_at_most_once_per_interval() -> None:
    catalog, clock = Catalog(), FakeClock()
    copy = copy_of(catalog, Builder(), clock)
    assert generation_of(copy.current()) == 1  # no index yet: built while we wait
    reads = catalog.reads
    for _ in range(50):
        copy.current()
    clock.advance(0.999)
    copy.current()
    assert catalog.reads == reads
    clock.advance(0.001)
    copy.current()
    copy.current()
    assert catalog.reads == reads + 1


def test_an_interval_of_zero_reads_the_generation_on_every_call() -> None:
    catalog, clock = Catalog(), FakeClock()
    copy = copy_of(catalog, Builder(), clock, check_ms=0)
    copy.current()
    reads = catalog.reads
    for _ in range(5):
        copy.current()
    assert catalog.reads == reads + 5


def test_the_old_index_answers_while_one_rebuild_runs_and_changes_meanwhile_coalesce() -> None:
    catalog, clock, builder = Catalog(), FakeClock(), Builder(hold=2)
    copy = copy_of(catalog, builder, clock)
    copy.current()
    catalog.value = 2  # another worker wrote
    clock.advance(1)
    assert generation_of(copy.current()) == 1  # returned at once; the rebuild starts
    assert builder.started.wait(10)
    reads = catalog.reads
    for generation in range(3, 15):  # a sync stores 12 articles one by one meanwhile
        catalog.value = generation
        clock.advance(1)
        assert generation_of(copy.current()) == 1
    assert catalog.reads == reads  # the running rebuild reads the generation when it ends
    builder.release.set()
    assert copy.wait(10)
    assert builder.built == [1, 2, 14]  # one follow-up rebuild, not one per change
    assert copy.rebuilds == 3
    assert generation_of(copy.current()) == 14


def test_this_process_own_change_is_seen_by_the_next_call() -> None:
    catalog, clock = Catalog(), FakeClock()
    copy = copy_of(catalog, Builder(), clock)
    copy.current()
    catalog.value = 2
    copy.changed_here()
    assert generation_of(copy.current()) == 2  # no interval, no background thread
    assert copy.wait(0)


def test_an_own_change_waits_for_a_running_rebuild_then_is_fresh() -> None:
    catalog, clock, builder = Catalog(), FakeClock(), Builder(hold=2)
    copy = copy_of(catalog, builder, clock)
    copy.current()
    catalog.value = 2
    clock.advance(1)
    copy.current()
    assert builder.started.wait(10)
    catalog.value = 3
    copy.changed_here()
    fresh: list[LexicalIndex] = []
    reader = threading.Thread(target=lambda: fresh.append(copy.current()))
    reader.start()
    builder.release.set()
    reader.join(10)
    assert copy.wait(10)
    assert [generation_of(i) for i in fresh] == [3]
    assert builder.built == [1, 2, 3]


def test_a_failed_background_rebuild_keeps_the_old_index_and_is_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog, clock, builder = Catalog(), FakeClock(), Builder(fail=2)
    copy = copy_of(catalog, builder, clock)
    copy.current()
    catalog.value = 2
    clock.advance(1)
    copy.current()
    assert copy.wait(10)
    assert generation_of(copy.current()) == 1
    assert "could not rebuild the BM25 index in the background (disk on fire)" in caplog.text
    clock.advance(1)
    copy.current()
    assert copy.wait(10)
    assert generation_of(copy.current()) == 2


def test_a_closed_copy_starts_no_rebuild() -> None:
    catalog, clock, builder = Catalog(), FakeClock(), Builder()
    copy = copy_of(catalog, builder, clock)
    copy.current()
    copy.close()
    catalog.value = 2
    clock.advance(1)
    assert generation_of(copy.current()) == 1
    assert copy.wait(0) and builder.built == [1]


# --- two workers on one data directory ---------------------------------------------------


def article(n: int) -> Article:
    place = PLACES[n % len(PLACES)]
    body = (
        f"The {place} harbour board met about berth {n}. Pilots said the tide gauge number"
        f" {n} failed twice. Fishermen in {place} asked for the quay lights to be mended."
    )
    return Article(
        id=f"https://news.example/quay-{n}",
        title=f"Quay report {n}",
        text=body,
        url=f"https://news.example/quay-{n}",
        site="news.example",
        published=date(2026, 3, 1 + n),
    )


def ids_found(index: ArticleIndex, query: str) -> set[str]:
    return {key[0] for key, _ in index.lexical().search(query, 50)}


@pytest.fixture
def workers(settings: Settings) -> Iterator[tuple[ArticleIndex, ArticleIndex, FakeClock]]:
    """A: a bot searching (its clock injected); B: another worker syncing."""
    clock = FakeClock()
    b = ArticleIndex(settings, HashEmbedder())
    b.upsert([(article(0), CHUNKER.split(article(0)))])
    b.finish_run()
    a = ArticleIndex(settings, HashEmbedder(), clock=clock.now)
    yield a, b, clock
    a.close()
    b.close()


def test_an_article_another_worker_stored_is_searched_after_interval_and_rebuild(
    workers: tuple[ArticleIndex, ArticleIndex, FakeClock],
) -> None:
    a, b, clock = workers
    assert ids_found(a, "harbour berth") == {article(0).id}
    assert a.lexical_rebuilds == 1  # opened: B's saved index, the one wait
    b.upsert([(article(1), CHUNKER.split(article(1)))])
    clock.advance(0.999)
    assert article(1).id not in ids_found(a, "harbour berth")  # not checked yet
    clock.advance(0.001)
    old = a.lexical()  # checked: changed; the old index answers at once
    assert article(1).id not in {key[0] for key in old.keys}
    assert a.wait_lexical(30)
    assert ids_found(a, "harbour berth") == {article(0).id, article(1).id}
    assert a.lexical_rebuilds == 2


def test_a_sync_storing_articles_one_by_one_does_not_rebuild_per_article(
    workers: tuple[ArticleIndex, ArticleIndex, FakeClock],
) -> None:
    a, b, clock = workers
    a.lexical()
    before = a.lexical_rebuilds
    for n in range(1, 13):  # 12 articles, one group each, 50 ms apart
        b.upsert([(article(n), CHUNKER.split(article(n)))])
        clock.advance(0.05)
        ids_found(a, "harbour berth")
    assert a.wait_lexical(30)
    assert a.lexical_rebuilds == before  # within one check interval: not looked yet
    clock.advance(1)
    a.lexical()
    assert a.wait_lexical(30)
    assert ids_found(a, "harbour berth") == {article(n).id for n in range(13)}
    assert a.lexical_rebuilds == before + 1


def test_own_writes_are_searched_at_once(
    workers: tuple[ArticleIndex, ArticleIndex, FakeClock],
) -> None:
    a, _, _ = workers
    a.lexical()
    a.upsert([(article(5), CHUNKER.split(article(5)))])
    assert article(5).id in ids_found(a, "harbour berth")  # clock not moved, no waiting
    a.remove(article(5).id)
    assert article(5).id not in ids_found(a, "harbour berth")


class Growing:
    """A catalog of one-chunk articles that writes add to; its base builds can be held
    until released, to look at the copy while a merge runs."""

    def __init__(self, articles: int) -> None:
        self.live = {f"n{i}": i for i in range(articles)}
        self.value = 1
        self.hold = False
        self.started, self.release = threading.Event(), threading.Event()

    def generation(self) -> int:
        return self.value

    def store(self) -> None:
        self.live[f"n{len(self.live)}"] = len(self.live)
        self.value += 1

    def load(self) -> LexicalIndex | None:
        return None

    def build(self) -> LexicalIndex:
        live = dict(self.live)  # what the build reads, before it takes its time
        if self.hold:
            self.started.set()
            assert self.release.wait(10)
        return LexicalIndex.build([(a, 0) for a in live], [f"quay notice {a}" for a in live], live)

    def extend(self, index: LexicalIndex) -> LexicalIndex:
        return index.extended(
            dict(self.live), lambda ids: [(a, self.live[a], [(0, f"quay notice {a}")]) for a in ids]
        )


def test_a_merge_builds_beside_the_answering_index_and_own_writes_do_not_wait() -> None:
    source = Growing(articles=4)
    copy = LexicalCopy(source, check_ms=1000, merge_share=0.5, merge_min=0, clock=FakeClock().now)
    assert len(copy.current()) == 4 and copy.full_builds == 1
    source.hold = True
    for _ in range(2):
        source.store()
        copy.changed_here()
        copy.current()  # 2 chunks in the delta: within half of the base
    assert not source.started.is_set()
    source.store()
    copy.changed_here()
    assert len(copy.current()) == 7  # past half: a merge starts in the background
    assert source.started.wait(10)
    source.store()  # written while the merge builds
    copy.changed_here()
    during = copy.current()  # extended at once: no waiting for the merge
    assert {key[0] for key, _ in during.search("quay notice", 20)} == set(source.live)
    assert copy.full_builds == 1 and during.delta_chunks == 4
    source.release.set()
    assert copy.wait(10)
    merged = copy.current()
    assert copy.full_builds == 2
    assert len(merged.base) == 7 and merged.delta_chunks == 1  # the 8th: stored meanwhile
    assert {key[0] for key, _ in merged.search("quay notice", 20)} == set(source.live)
