"""The refusal model: which signals it reads, which model it uses, and what it decides."""

from __future__ import annotations

import pytest

from retrieval.answer.refusal import Evidence, LogisticModel, RefusalModel, evidence_of
from retrieval.search.question import read
from retrieval.search.retriever import Retrieval
from retrieval.search.scoring import QueryTerms
from retrieval.search.sentence_rank import Sentence
from retrieval.types import Article, Chunk, Hit


def hit(article_id: str, score: float, dense: float | None) -> Hit:
    article = Article(article_id, article_id, "One sentence. Another sentence.")
    return Hit(article, Chunk(article_id, 0, 0, len(article.text), article.text), score, dense)


def sentence(h: Hit, coverage: float, cosine: float | None, match: float | None) -> Sentence:
    return Sentence(h, 0, 13, coverage, False, coverage, cosine, match)


def test_evidence_reads_the_signals_off_a_retrieval() -> None:
    a, a2, b = hit("a", 3.0, 0.61), hit("a", 2.5, None), hit("b", 2.0, 0.4)
    sentences = [
        sentence(a, 0.7, 0.5, 0.8),
        sentence(b, 0.9, 0.6, 0.7),
        sentence(a2, 0.2, None, None),
    ]
    evidence = evidence_of(Retrieval([a, a2, b], sentences, QueryTerms({}), read("q")))
    assert evidence == Evidence(0.61, 0.9, 0.6, pytest.approx(1.0), 0.8)


def test_evidence_of_a_lexical_retrieval_has_no_meaning_signals() -> None:
    a, b = hit("a", 3.0, None), hit("a", 1.0, None)
    evidence = evidence_of(
        Retrieval([a, b], [sentence(a, 0.5, None, None)], QueryTerms({}), read("q"))
    )
    assert evidence.top_cosine is None and evidence.sentence_cosine is None
    assert evidence.match is None
    assert evidence.lead == pytest.approx(2.0)  # no other article: lead over the last hit


def test_empty_retrieval_gives_no_evidence() -> None:
    assert evidence_of(Retrieval([], [], QueryTerms({}), read("q"))) == Evidence(
        None, 0.0, None, 0.0, None
    )


def test_logistic_model() -> None:
    model = LogisticModel((2.0, -1.0), 0.5)
    assert model.probability((0.0, 0.5)) == pytest.approx(0.5)
    assert model.probability((1.0, 0.0)) > 0.9
    assert model.probability((-1000.0, 0.0)) == pytest.approx(0.0)  # no overflow


def test_the_model_that_fits_the_evidence_decides() -> None:
    refusal = RefusalModel(
        full=LogisticModel((0, 0, 0, 0, 1), 0.0),
        dense=LogisticModel((0, 0, 0, 1), 0.0),
        lexical=LogisticModel((1, 0), 0.0),
    )
    full = Evidence(0.5, -2.0, 0.5, 3.0, 4.0)
    assert refusal.probability(full) == pytest.approx(1 / (1 + 2.718281828**-4.0))
    remote = Evidence(0.5, -2.0, 0.5, 3.0, None)
    assert refusal.probability(remote) == pytest.approx(1 / (1 + 2.718281828**-3.0))
    lexical = Evidence(None, -2.0, None, 3.0, None)
    assert refusal.probability(lexical) == pytest.approx(1 / (1 + 2.718281828**2.0))
    assert refusal.answers(full) and refusal.answers(remote) and not refusal.answers(lexical)


def test_shipped_models_answer_strong_evidence_and_refuse_weak() -> None:
    refusal = RefusalModel()
    strong = Evidence(0.7, 0.9, 0.75, 1.5, 0.85)
    weak = Evidence(0.3, 0.2, 0.3, 0.0, 0.4)
    assert refusal.answers(strong) and not refusal.answers(weak)
    for evidence in (strong, weak):
        assert refusal.answers(
            Evidence(
                evidence.top_cosine,
                evidence.coverage,
                evidence.sentence_cosine,
                evidence.lead,
                None,
            )
        ) is refusal.answers(evidence)
        assert refusal.answers(
            Evidence(None, evidence.coverage, None, evidence.lead, None)
        ) is refusal.answers(evidence)
