"""The offline answerer: correct, verbatim citations; honest refusals.

Most tests use the sample articles the repository ships; the questions about a real news
article (`../shared/data`, not shipped) are marked `shared_data`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.settings import Settings
from ingest import ingest_articles
from ingest.sources import load_sources
from retrieval.answer.citations import is_verbatim
from retrieval.answer.offline import OfflineComposer
from retrieval.answer.prompts import REFUSAL
from retrieval.pipeline import Pipeline
from retrieval.search.retriever import HybridRetriever
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, Article, SearchFilters, Turn
from tests.conftest import SAMPLES_DIR, SHARED_DATA

REAL_ARTICLE = SHARED_DATA / "articles" / "iraq-pm-us-troops-baghdad-strike.txt"


def load(settings: Settings, *paths: str) -> list[Article]:
    items = list(load_sources(list(paths), settings))
    articles = [a for a in items if isinstance(a, Article)]
    assert len(articles) == len(items), items
    return articles


def built_index(data_dir: Path, *sources: Path) -> ArticleIndex:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    index = ArticleIndex(settings)
    ingest_articles(load(settings, *map(str, sources)), index, settings)
    return index


@pytest.fixture(scope="module")
def samples_index(
    tmp_path_factory: pytest.TempPathFactory, ingested_copy: Callable[[Path, Path], Path]
) -> Iterator[ArticleIndex]:
    """The sample articles the repository ships (as `ingest` indexes them; this module's copy)."""
    data_dir = ingested_copy(SAMPLES_DIR / "articles", tmp_path_factory.mktemp("samples") / "data")
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    index = ArticleIndex(settings, must_exist=True)
    yield index
    index.close()


@pytest.fixture(scope="module")
def news_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleIndex]:
    """The real article plus the samples (so retrieval has something to choose from)."""
    index = built_index(tmp_path_factory.mktemp("news"), REAL_ARTICLE, SAMPLES_DIR / "articles")
    yield index
    index.close()


@pytest.fixture
def answerer(samples_index: ArticleIndex) -> Pipeline:
    """The composer's quotes, without the news steps (attribution, conflict checks)."""
    return Pipeline(HybridRetriever(samples_index), OfflineComposer(), news=False)


@pytest.fixture
def news_answerer(news_index: ArticleIndex) -> Pipeline:
    return Pipeline(HybridRetriever(news_index), OfflineComposer(), news=False)


def assert_cited(answer: Answer, expected: str, article_hint: str) -> None:
    assert answer.found, answer
    assert expected.lower() in answer.text.lower()
    assert answer.citations
    for citation in answer.citations:
        assert is_verbatim(citation)
        core = citation.quote.strip("… ")
        assert core in citation.article.text
        assert citation.article.text[citation.start : citation.end] == core
        assert f"[{citation.n}]" in answer.text
    assert any(article_hint in c.article.title for c in answer.citations)
    cited = next(c for c in answer.citations if expected.lower() in c.quote.lower())
    assert cited.article.published is None or cited.article.site


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who was killed in the Baghdad strike on Jan. 4?", "Mushtaq Jawad Kazim al-Jawari"),
        ("How many US troops are inside Iraq?", "2,500"),
        ("Which militia did Abu-Taqwaa lead?", "Harakat-al-Nujaba"),
        ("When did the U.S. designate Harakat-al-Nujaba a terrorist organization?", "2019"),
    ],
)
@pytest.mark.shared_data
def test_factual_questions_get_a_verbatim_citation(
    news_answerer: Pipeline, question: str, expected: str
) -> None:
    assert_cited(news_answerer.answer(question), expected, "Iraq")


@pytest.mark.parametrize(
    "question",
    [
        "What is the best recipe for lasagne?",
        "Who won the Eastmere mayoral election?",
        "What interest rate did the central bank set?",
    ],
)
def test_off_topic_questions_are_refused(answerer: Pipeline, question: str) -> None:
    answer = answerer.answer(question)
    assert not answer.found
    assert answer.text == REFUSAL
    assert answer.citations == ()


@pytest.mark.shared_data
def test_answers_stay_short(news_answerer: Pipeline) -> None:
    answer = news_answerer.answer("What did Iraq's prime minister say about the American presence?")
    assert answer.found
    text_without_markers = answer.text.replace("[1]", "").replace("[2]", "")
    assert len(text_without_markers) <= 320


def test_a_sentence_that_answers_is_not_padded_with_one_that_does_not(
    answerer: Pipeline,
) -> None:
    # The first sentence holds the date asked for; "Sallow Street traders reacted with
    # dismay." shares the subject's words but no date, so it is not added.
    answer = answerer.answer("When is the Sallow Street Bridge now expected to reopen?")
    assert answer.found and "May 18" in answer.text
    assert len(answer.citations) == 1, answer.text


def test_follow_up_carries_the_subject(answerer: Pipeline) -> None:
    first = answerer.answer("When is the Sallow Street Bridge now expected to reopen?")
    assert_cited(first, "May 18", "Sallow Street Bridge")
    follow = answerer.answer("Why was it delayed?", [Turn(first.question, first.text)])
    assert "Sallow Street Bridge" in follow.question
    assert follow.found and "bearings" in follow.text


def test_site_and_date_filters_limit_the_sources(answerer: Pipeline) -> None:
    only_courier = SearchFilters(site="Northgate Courier")
    answer = answerer.answer("Sallow Street Bridge repair contract", filters=only_courier)
    assert answer.found
    assert {c.article.site for c in answer.citations} == {"Northgate Courier"}
    late = SearchFilters(since=date(2026, 3, 18))
    hits = answerer.retriever.search("Sallow Street Bridge", late)
    assert hits and all(h.article.published and h.article.published.day >= 18 for h in hits)
