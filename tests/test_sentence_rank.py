"""Sentence evidence: word scores, meaning scores from the real model, and the passage re-rank."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from retrieval.search.question import read
from retrieval.search.scoring import QueryTerms
from retrieval.search.sentence_rank import (
    SentenceConfig,
    SentenceEmbeddings,
    question_weights,
    rerank,
    soft_coverage,
    with_meaning,
    word_scored,
)
from retrieval.store.embedders import OnnxEmbedder
from retrieval.types import Article, Chunk, Hit

BRIDGE = Article(
    "bridge",
    "Sallow Street Bridge",
    "The bridge closed in March. Engineers found corroded bearings. "
    "The council now expects the Sallow Street Bridge to reopen on May 18.",
)
PARK = Article(
    "park",
    "Park news",
    "The park opens at dawn. A new playground was built near the bridge over the canal.",
)
QUESTION = "When will the Sallow Street Bridge reopen?"


def hit(article: Article, score: float) -> Hit:
    chunk = Chunk(article.id, 0, 0, len(article.text), article.text)
    return Hit(article, chunk, score, dense=0.5)


@pytest.fixture(scope="module")
def vectors() -> Iterator[SentenceEmbeddings]:
    embedder = OnnxEmbedder.minilm()
    embedder.load()
    yield SentenceEmbeddings(embedder)


def test_word_scores_put_the_sentence_with_the_questions_words_first() -> None:
    hits = [hit(PARK, 2.0), hit(BRIDGE, 1.0)]
    sentences = word_scored(read(QUESTION), QueryTerms.of(QUESTION), hits, SentenceConfig())
    assert sentences[0].text == (
        "The council now expects the Sallow Street Bridge to reopen on May 18."
    )
    assert [s.words for s in sentences] == sorted((s.words for s in sentences), reverse=True)
    assert len(sentences) == 5
    for s in sentences:
        assert s.hit.article.text[s.start : s.end] == s.text
        assert s.cosine is None and s.match is None


def test_a_sentence_that_counts_what_is_asked_gets_the_unit_bonus() -> None:
    text = (
        "Seagrass in the estuary has more than doubled in seven years, the survey team found."
        " Their map shows 31 hectares."
    )
    survey = Article("survey", "Survey", text)
    question = "How many hectares of seagrass did the survey team map?"
    terms = QueryTerms.of(question)
    with_bonus = word_scored(read(question), terms, [hit(survey, 1.0)], SentenceConfig())
    assert [(s.text, s.counts) for s in with_bonus] == [
        ("Their map shows 31 hectares.", True),
        (text.split(" Their")[0], False),  # more of the question's words, no hectares
    ]
    without = word_scored(read(question), terms, [hit(survey, 1.0)], SentenceConfig(unit_bonus=0.0))
    assert without[0].text.startswith("Seagrass in the estuary")


def test_only_the_first_passages_are_scored() -> None:
    hits = [hit(PARK, 2.0), hit(BRIDGE, 1.0)]
    sentences = word_scored(
        read(QUESTION), QueryTerms.of(QUESTION), hits, SentenceConfig(passages=1)
    )
    assert {s.hit.article.id for s in sentences} == {"park"}


def test_soft_coverage_is_the_mean_best_token_cosine() -> None:
    a = np.eye(3, dtype=np.float32)
    assert soft_coverage(a, a) == pytest.approx(1.0)
    assert soft_coverage(a[:2], a[2:]) == pytest.approx(0.0)
    assert soft_coverage(a, a[:1]) == pytest.approx(1 / 3)
    assert soft_coverage(None, a) is None
    assert soft_coverage(a[:0], a) == 0.0


def test_question_pieces_weigh_by_their_words_rarity(vectors: SentenceEmbeddings) -> None:
    question = vectors.encode(["Who won the Eastmere mayoral election?"], cache=False)[0]
    assert question.words == ("who", "won", "eastmere", "eastmere", "mayoral", "election")
    assert question.tokens is not None and len(question.tokens) == 6
    terms = QueryTerms({"won": 1.0, "eastmer": 1.0, "mayor": 4.0, "elect": 4.0})
    weights = question_weights(question, terms)
    assert weights is not None
    assert weights.tolist() == pytest.approx([0.0, 0.1, 0.05, 0.05, 0.4, 0.4])
    assert question_weights(question, QueryTerms({})) is None  # no weights: plain mean
    assert soft_coverage(
        np.eye(2, dtype=np.float32),
        np.eye(2, dtype=np.float32)[:1],
        np.array([0.25, 0.75], dtype=np.float32),
    ) == pytest.approx(0.25)


def test_meaning_scores_prefer_the_answering_sentence(vectors: SentenceEmbeddings) -> None:
    hits = [hit(PARK, 2.0), hit(BRIDGE, 1.0)]
    sentences = word_scored(read(QUESTION), QueryTerms.of(QUESTION), hits, SentenceConfig())
    question = vectors.encode([QUESTION], cache=False)[0]
    scored = with_meaning(sentences, question, QueryTerms.of(QUESTION), vectors, count=3)
    assert len(scored) == len(sentences)
    assert all(s.cosine is not None and s.match is not None for s in scored[:3])
    assert all(s.cosine is None and s.match is None for s in scored[3:])
    best = max(scored[:3], key=lambda s: float(s.match or 0))
    assert "reopen on May 18" in best.text
    playground = [s for s in scored[:3] if "playground" in s.text]
    assert not playground or float(playground[0].cosine or 0) < float(best.cosine or 0)


def test_encodings_are_cached_and_bounded(vectors: SentenceEmbeddings) -> None:
    small = SentenceEmbeddings(vectors.embedder, cache_size=1)
    first = small.encode(["The bridge reopens in May."])[0]
    assert small.encode(["The bridge reopens in May."])[0] is first
    assert first.tokens is not None and len(first.tokens) > 0
    small.encode(["Something else entirely."])
    again = small.encode(["The bridge reopens in May."])[0]
    assert again is not first
    assert np.allclose(again.vector, first.vector, atol=1e-6)


def test_rerank_moves_the_passage_with_the_closest_sentence_up(
    vectors: SentenceEmbeddings,
) -> None:
    tail = hit(Article("other", "Other", "Unrelated text about ferries."), 0.1)
    hits = [hit(PARK, 1.0), hit(BRIDGE, 0.9), tail]
    sentences = word_scored(
        read(QUESTION), QueryTerms.of(QUESTION), hits, SentenceConfig(passages=2)
    )
    question = vectors.encode([QUESTION], cache=False)[0]
    scored = with_meaning(sentences, question, QueryTerms.of(QUESTION), vectors, count=5)
    reranked = rerank(hits, scored, SentenceConfig(passages=2))
    assert [h.article.id for h in reranked] == ["bridge", "park", "other"]
    assert reranked[2] is tail
    unchanged = rerank(hits, sentences, SentenceConfig(passages=2))  # nothing embedded
    assert [h.article.id for h in unchanged] == ["park", "bridge", "other"]
