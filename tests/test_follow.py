"""Following a topic: the matcher on the news dev set with the real index (default embedder),
the catalog's follows and deliveries, and `articlebot follow TOPIC --since`."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from bot.settings import Settings
from ingest.chunk import Chunker
from ingest.eval_corpus import load_any_articles
from retrieval.answer.citations import is_verbatim
from retrieval.errors import StoreError
from retrieval.news.follow import TopicMatcher, plan
from retrieval.news.retriever import NewsRetriever
from retrieval.search.retriever import HybridRetriever
from retrieval.store.follows import HOLD, FollowStore
from retrieval.store.index import ArticleIndex
from retrieval.types import Article, SearchFilters
from tests.conftest import REPO_ROOT

NEWS = REPO_ROOT / "samples" / "news-dev" / "articles"
LABELS = REPO_ROOT / "samples" / "follow" / "labels.jsonl"
CAR_PARK = "a/2026-03-07-courier-dunmore-car-park-collapse.txt"  # nd-a01, story a-s01
TEACHERS = "a/2026-03-10-courier-teachers-vote-to-strike.txt"  # nd-a03
BERTH = "a/2026-03-16-meridian-valstrom-port-berth.txt"  # nd-a04, agency story
BERTH_COPY = "a/2026-03-17-coastline-nordic-shipper-berth.txt"  # nd-a05, its copy
FLOOD = "c/2026-04-11-gazette-tarrow-bursts-banks.txt"  # nd-c01, story c-s01
FLOOD_LATER = "c/2026-04-12-westline-flood-evacuations-rise.txt"  # nd-c02, the same story
FLOOD_TOPIC = "River Tarrow floods"
BRIDGE_TOPIC = "Dunmore car park collapse"


def news(*names: str) -> list[Article]:
    """News dev set articles, loaded as `ingest` loads them."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return [a for name in names for a in load_any_articles(NEWS / name, settings)]


def store(index: ArticleIndex, articles: list[Article]) -> None:
    """Store articles as `ingest` does (one run)."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap)
    index.upsert([(a, chunker.split(a)) for a in articles])
    index.finish_run()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    """A real index (the default embedder) of seven news dev set articles."""
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("follow"))  # type: ignore[call-arg]
    with ArticleIndex(settings) as index:
        store(index, news(CAR_PARK, TEACHERS, BERTH, BERTH_COPY, FLOOD, FLOOD_LATER))
        yield index


def ids(index: ArticleIndex) -> dict[str, str]:
    """{file name under articles/: article id} of the stored articles."""
    by_file = {Path(s.article.source or "").name: s.article.id for s in index.articles()}
    return {name: by_file[Path(name).name] for name in NAMES if Path(name).name in by_file}


NAMES = (CAR_PARK, TEACHERS, BERTH, BERTH_COPY, FLOOD, FLOOD_LATER)


def matcher(index: ArticleIndex) -> TopicMatcher:
    return TopicMatcher(NewsRetriever(index))


# -- the search restriction --------------------------------------------------------------------


def test_a_search_restricted_to_articles_finds_only_them(index: ArticleIndex) -> None:
    known = ids(index)
    only = frozenset({known[TEACHERS], known[FLOOD]})
    for retriever in (HybridRetriever(index), HybridRetriever(index, "lexical")):
        hits = retriever.search("car park collapse", SearchFilters(k=5, article_ids=only))
        assert hits and {h.article.id for h in hits} <= only
    assert HybridRetriever(index).search("car park", SearchFilters(article_ids=frozenset())) == []


# -- the matcher -----------------------------------------------------------------------------


def test_the_matcher_agrees_with_labelled_pairs(index: ArticleIndex) -> None:
    labels = [json.loads(line) for line in LABELS.read_text().splitlines()]
    known = set(ids(index).values())
    chosen = [
        ("Dunmore car park collapse", True),
        ("Valstrom container berth at Keldhaven port", True),
        ("storms and floods", True),
        ("football", False),
        ("disease outbreaks", False),
        ("opinion polls", False),
    ]
    m = matcher(index)
    checked = 0
    for label in labels:
        if label["article_id"] in known and (label["topic"], label["relevant"]) in chosen:
            probability, _ = m.score(label["topic"], label["article_id"])
            assert (probability >= m.min_probability) == label["relevant"], label
            checked += 1
    assert checked == 5 + 3 * 6


def test_a_match_cites_one_verbatim_sentence_of_the_relevant_article(
    index: ArticleIndex,
) -> None:
    known = ids(index)
    found = matcher(index).matches(BRIDGE_TOPIC, [known[TEACHERS], known[CAR_PARK], known[FLOOD]])
    assert [m.article.id for m in found] == [known[CAR_PARK]]
    citation = found[0].citation
    assert is_verbatim(citation) and citation.n == 1
    assert "car park" in citation.quote and citation.quote.count(". ") <= 1


def test_a_copy_or_a_later_report_of_a_sent_story_is_not_sent_again(
    index: ArticleIndex,
) -> None:
    known = ids(index)
    m = matcher(index)
    berths = plan(m, index, "Valstrom container berth", [known[BERTH], known[BERTH_COPY]], set())
    assert [x.article.id for x in berths] == [known[BERTH]]
    # the copy alone, once the agency story was sent: nothing
    sent = set(berths[0].stories)
    assert plan(m, index, "Valstrom container berth", [known[BERTH_COPY]], sent) == []
    # another outlet's later report of the flood, grouped into the same story at ingest
    first = plan(m, index, FLOOD_TOPIC, [known[FLOOD]], set())
    assert [x.article.id for x in first] == [known[FLOOD]]
    assert plan(m, index, FLOOD_TOPIC, [known[FLOOD_LATER]], set(first[0].stories)) == []
    [later] = plan(m, index, FLOOD_TOPIC, [known[FLOOD_LATER]], set())
    assert later.stories == first[0].stories
    both = plan(m, index, FLOOD_TOPIC, [known[FLOOD], known[FLOOD_LATER]], set())
    assert [x.article.id for x in both] == [known[FLOOD]]


# -- the catalog ------------------------------------------------------------------------------


def test_follows_are_stored_limited_and_claimed_once(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    from tests.fakes.embedder import HashEmbedder

    with ArticleIndex(settings, HashEmbedder()) as index:
        store(index, news(TEACHERS))
        follows = FollowStore(index.catalog)
        first = follows.add(7, 42, "bridges", now=1.0, max_topics=2)
        assert first.cursor == follows.newest() > 0  # only articles stored from now on
        with pytest.raises(StoreError, match="already follows “bridges”"):
            follows.add(7, 42, "bridges", now=2.0, max_topics=2)
        follows.add(7, 42, "ferries", now=2.0, max_topics=2)
        with pytest.raises(StoreError, match="already follows 2 topics"):
            follows.add(7, 42, "trams", now=3.0, max_topics=2)
        follows.add(8, None, "trams", now=3.0, max_topics=2)  # another chat: its own limit
        assert [f.topic for f in follows.of_chat(7)] == ["bridges", "ferries"]
        assert follows.new_articles(first.cursor, follows.newest()) == []
        store(index, news(FLOOD))
        [(rowid, article_id)] = follows.new_articles(first.cursor, follows.newest())
        assert follows.claim(first, {"s1", article_id}, article_id, now=10.0)
        assert not follows.claim(follows.of_chat(7)[1], {"s1"}, article_id, now=11.0)
        assert follows.sent_stories(7) == {"s1", article_id} and follows.sent_stories(8) == set()
        assert follows.sent_count(7, since=5.0) == 1 and follows.sent_count(7, since=10.5) == 0
        follows.release(first, article_id)
        assert follows.sent_stories(7) == set()
        follows.advance(first.id, rowid)
        follows.advance(first.id, rowid - 1)  # never back
        assert follows.of_chat(7)[0].cursor == rowid
        assert follows.remove(first.id) and not follows.remove(first.id)
        assert not follows.claim(first, {"s2"}, article_id, now=12.0)  # removed meanwhile


def test_an_article_still_being_indexed_holds_the_cursor_back(tmp_path: Path) -> None:
    from tests.fakes.embedder import HashEmbedder

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    with ArticleIndex(settings, HashEmbedder()) as index:
        store(index, news(TEACHERS))
        follows = FollowStore(index.catalog)
        before = follows.newest()
        [pending, done] = news(FLOOD, CAR_PARK)
        chunker = Chunker(600, 100)
        index.catalog.put_pending(pending, chunker.split(pending))  # another process, midway
        store(index, [done])
        assert follows.newest() == before  # the indexed later one waits for the pending one
        # one left pending for over an hour (it cannot be indexed) holds nothing back
        stuck = follows.newest(now=time.time() + HOLD + 60)
        assert [a for _, a in follows.new_articles(before, stuck)] == [done.id]
        store(index, [pending])
        assert [a for _, a in follows.new_articles(before, follows.newest())] == [
            done.id,
            pending.id,
        ]


def test_an_updated_article_gets_a_new_rowid(tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.fakes.embedder import HashEmbedder

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    with ArticleIndex(settings, HashEmbedder()) as index:
        [a, b] = news(TEACHERS, FLOOD)
        store(index, [a, b])
        follows = FollowStore(index.catalog)
        cursor = follows.newest()
        store(index, [replace(a, text=a.text + "\n\nUpdated: the strike was called off.")])
        assert follows.new_articles(cursor, follows.newest()) == [(cursor + 1, a.id)]


def test_the_schema_has_the_follow_tables(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    from tests.fakes.embedder import HashEmbedder

    with ArticleIndex(settings, HashEmbedder()):
        pass
    conn = sqlite3.connect(settings.catalog_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert {"follows", "follow_deliveries"} <= tables


# -- the command line -------------------------------------------------------------------------


def test_follow_since_lists_what_would_have_been_sent(index: ArticleIndex) -> None:
    runner = CliRunner()
    data_dir = str(index.settings.data_dir)
    today = datetime.now(UTC).date()
    result = runner.invoke(
        main, ["--data-dir", data_dir, "follow", BRIDGE_TOPIC, "--since", today.isoformat()]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"“{BRIDGE_TOPIC}”: 1 message from 6 articles stored since {today}."
    assert "Dunmore" in lines[2] and "Keldhaven Courier, 2026-03-07" in lines[2]
    assert lines[-1].startswith('    "') and "car park" in lines[-1].lower()
    result = runner.invoke(
        main,
        ["--data-dir", data_dir, "follow", "Valstrom container berth", "--since", "2026-03-17"]
        + ["--published", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["by"] == "published" and payload["articles_considered"] == 3  # copy, floods
    [only] = payload["matches"]
    assert only["article_id"] == ids(index)[BERTH_COPY] and only["probability"] >= 0.45
    tomorrow = date.fromordinal(today.toordinal() + 1).isoformat()
    result = runner.invoke(main, ["--data-dir", data_dir, "follow", "x", "--since", tomorrow])
    assert result.output.startswith("“x”: 0 messages from 0 articles stored since")
    result = runner.invoke(main, ["--data-dir", data_dir, "follow", "x", "--since", "May 3"])
    assert result.exit_code == 2 and "'May 3' is not a date; use YYYY-MM-DD" in result.output


def test_follow_without_an_index_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path / "none"), "follow", "x", "--since", "2026-01-01"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: no index at") and result.output.count("\n") == 1
