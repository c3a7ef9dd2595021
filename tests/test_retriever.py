"""The hybrid retriever: modes, filters, diversity, near-duplicates, LangChain, server mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.settings import Settings
from ingest import ingest_articles
from ingest.sources import load_sources
from retrieval.search.langchain_retriever import ArticlesRetriever
from retrieval.search.retriever import HybridRetriever
from retrieval.search.scoring import QueryTerms
from retrieval.search.sentence_rank import SentenceConfig
from retrieval.store.index import ArticleIndex
from retrieval.store.lexical import ANALYZER, LexicalIndex, analyze
from retrieval.types import Article, SearchFilters
from tests.conftest import SAMPLES_DIR
from tests.fakes.chroma_server import ChromaServer, chroma_server

__all__ = ["chroma_server"]

VALLEY = "https://valleywire.example/stories/2026-03-12-sennet-seagrass-survey"
GAZETTE_SITE = "The Fenwold Gazette"


def build(settings: Settings) -> ArticleIndex:
    index = ArticleIndex(settings)
    items = list(load_sources([str(SAMPLES_DIR / "articles")], settings))
    ingest_articles([a for a in items if isinstance(a, Article)], index, settings)
    return index


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("r"))  # type: ignore[call-arg]
    ix = build(settings)
    yield ix
    ix.close()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_every_mode_finds_the_story(index: ArticleIndex, mode: str) -> None:
    hits = HybridRetriever(index, mode).search(  # type: ignore[arg-type]
        "Corvane battery recycling plant jobs", SearchFilters(k=3)
    )
    assert hits and "Corvane" in hits[0].chunk.text
    for hit in hits:
        assert hit.article.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    if mode == "dense":
        assert all(h.dense is not None and h.lexical is None for h in hits)
    if mode == "lexical":
        assert all(h.lexical is not None and h.dense is None for h in hits)


def test_hits_are_ranked_and_capped_per_article(index: ArticleIndex) -> None:
    hits = HybridRetriever(index).search("Sallow Street Bridge", SearchFilters(k=8))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    per_article: dict[str, int] = {}
    for hit in hits:
        per_article[hit.article.id] = per_article.get(hit.article.id, 0) + 1
    assert max(per_article.values()) <= 2
    assert len(per_article) >= 3  # several articles can be cited


def test_syndicated_copy_is_collapsed(index: ArticleIndex) -> None:
    hits = HybridRetriever(index).search("seagrass survey estuary", SearchFilters(k=5))
    sites = [h.article.site for h in hits]
    assert "Valley Wire" in sites or GAZETTE_SITE in sites
    assert not ("Valley Wire" in sites[:2] and GAZETTE_SITE in sites[:2])


def test_filters_by_site_and_dates(index: ArticleIndex) -> None:
    retriever = HybridRetriever(index)
    courier = retriever.search("bridge", SearchFilters(site="Northgate Courier"))
    assert courier and {h.article.site for h in courier} == {"Northgate Courier"}
    window = SearchFilters(since=date(2026, 3, 9), until=date(2026, 3, 12))
    hits = retriever.search("bridge seagrass jobs", window)
    assert hits
    for hit in hits:
        assert hit.article.published and date(2026, 3, 9) <= hit.article.published <= date(
            2026, 3, 12
        )
    assert retriever.search("bridge", SearchFilters(since=date(2030, 1, 1))) == []


def test_recency_preference_puts_the_newest_first(index: ArticleIndex) -> None:
    retriever = HybridRetriever(index)
    recent = retriever.search(
        "Sallow Street Bridge reopening date", SearchFilters(k=3, prefer_recent=True)
    )
    assert recent[0].article.published == date(2026, 3, 19)


def test_langchain_retriever_returns_documents(index: ArticleIndex) -> None:
    retriever = ArticlesRetriever(retriever=HybridRetriever(index), filters=SearchFilters(k=2))
    docs = retriever.invoke("Challenge Cup final")
    assert len(docs) == 2
    assert "Challenge Cup" in docs[0].page_content
    assert {"article_id", "title", "site", "published", "start", "end", "score"} <= set(
        docs[0].metadata
    )


def test_same_results_against_a_chroma_server(
    index: ArticleIndex, chroma_server: ChromaServer, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "server",
        chroma_host=chroma_server.host,
        chroma_port=chroma_server.port,
        collection="retriever-test",
    )
    remote = build(settings)
    question = "How many jobs will the Corvane plant create?"
    local_hits = HybridRetriever(index).search(question)
    remote_hits = HybridRetriever(remote).search(question)
    assert [(h.article.id, h.chunk.position) for h in remote_hits] == [
        (h.article.id, h.chunk.position) for h in local_hits
    ]
    remote.close()


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_retrieve_hands_over_scored_sentences(index: ArticleIndex, mode: str) -> None:
    """The answerer's evidence: sentences of the first hits; meaning only when embedded."""
    retriever = HybridRetriever(index, mode)  # type: ignore[arg-type]
    found = retriever.retrieve("When is the Sallow Street Bridge expected to reopen?")
    assert found.hits == retriever.search("When is the Sallow Street Bridge expected to reopen?")
    first = {(h.article.id, h.chunk.position) for h in found.hits[: SentenceConfig().passages]}
    assert found.sentences
    assert all((s.hit.article.id, s.hit.chunk.position) in first for s in found.sentences)
    embedded = [s for s in found.sentences if s.cosine is not None]
    if mode == "lexical":
        assert embedded == []
    else:
        assert len(embedded) == min(8, len(found.sentences))
        assert all(s.match is not None for s in embedded)
        assert any("May 18" in s.text for s in embedded)


@pytest.mark.parametrize(
    ("asked", "written"),
    [
        ("What happened on January 4?", "Talks collapsed on Thursday, Jan. 4, in the capital."),
        ("What did the board agree on September 30?", "The board agreed a merger on Sept. 30."),
        ("Which deal was worth 4.6 million dollars?", "Harrow signed a $4.6m deal for ferries."),
        ("What cost €2.3 billion?", "A terminal contract worth €2.3bn was signed."),
        ("Which road carries 11000 vehicles?", "Collier Road carries about 11,000 vehicles."),
    ],
)
def test_news_spellings_of_dates_and_amounts_meet_the_questions_spellings(
    asked: str, written: str
) -> None:
    decoy = "Ferry fares rose in the spring, the harbour board said on Monday."
    lexical = LexicalIndex.build([("news", 0), ("decoy", 0)], [written, decoy])
    found = lexical.search(asked, k=2)
    assert found and found[0][0] == ("news", 0)
    shared = set(analyze(asked)) & set(analyze(written))
    assert any(any(ch.isdigit() for ch in s) for s in shared), shared  # the figure itself


@pytest.mark.parametrize(
    ("asked", "written"),
    [
        ("What did the Iraqi prime minister say?", "Iraq's prime minister condemned the strike."),
        ("What did Chinese officials say?", "Officials in China declined to comment."),
        ("Who met the French president?", "The president of France met the envoy."),
    ],
)
def test_a_demonym_meets_its_country_s_name(asked: str, written: str) -> None:
    decoy = "The prime minister of the harbour board said officials met on Monday."
    lexical = LexicalIndex.build([("news", 0), ("decoy", 0)], [written, decoy])
    found = lexical.search(asked, k=2)
    assert found and found[0][0] == ("news", 0)
    assert set(analyze("Iraq")) == set(analyze("Iraq's")) < set(analyze("Iraqi"))


def test_an_index_saved_by_another_analyzer_is_not_loaded(tmp_path: Path) -> None:
    lexical = LexicalIndex.build([("a", 0)], ["The Sallow Street Bridge closed on Jan. 4."])
    lexical.save(tmp_path / "bm25", generation=3)
    assert LexicalIndex.load(tmp_path / "bm25") is not None
    manifest = tmp_path / "bm25" / "manifest.json"
    info = json.loads(manifest.read_text())
    assert info["analyzer"] == ANALYZER
    manifest.write_text(json.dumps({**info, "analyzer": "an older one"}))
    assert LexicalIndex.load(tmp_path / "bm25") is None  # rebuilt from the catalog on open


def test_question_terms_leave_out_words_that_say_nothing_about_the_subject() -> None:
    lexical = LexicalIndex.build(
        [("a", 0), ("b", 0)],
        ["What the council did about the ferry.", "The harbour dredging plan."],
    )
    terms = QueryTerms.of("What is the latest on the harbour and the bridge?", lexical)
    # "what" counts where the corpus uses it, "latest" not; "bridge" is a subject the
    # corpus never mentions, so it weighs the most.
    assert set(terms.weights) == {"what", "harbour", "bridg"}
    assert terms.weights["bridg"] == max(terms.weights.values())
    unused = QueryTerms.of(
        "Who did what to the harbour?", LexicalIndex.build([("a", 0)], ["Harbour news."])
    )
    assert set(unused.weights) == {"harbour"}


def test_searches_see_chunks_added_after_the_first_query(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    index = build(settings)
    try:
        retriever = HybridRetriever(index, "dense")
        assert "Quillon" not in retriever.search("Quillon lighthouse keeper")[0].chunk.text
        story = Article(
            id="quillon",
            title="Quillon lighthouse gets its first keeper in forty years",
            text="The Quillon lighthouse has a keeper again after forty years of automation.",
        )
        ingest_articles([story], index, settings)
        assert "Quillon" in retriever.search("Quillon lighthouse keeper")[0].chunk.text
    finally:
        index.close()
