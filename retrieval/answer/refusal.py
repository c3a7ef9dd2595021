"""When to say "the articles don't say": a small logistic model over retrieval evidence.

The offline answerer quotes; quoting the nearest sentence to a question the articles don't
answer would be a confident wrong answer. Five signals tell the two apart on the dev set
(bench/fit_refusal.py fits and cross-validates the coefficients below on the dev set and
the news dev set):

* `top_cosine`: the top passage's cosine with the question (dense retrieval's confidence);
* `coverage`: the best sentence's IDF-weighted share of the question's stems. A question
  word the articles never use weighs the most and can never be covered;
* `sentence_cosine`: the best sentence's cosine with the question;
* `lead`: the top article's score minus the best score of another article;
* `match`: the best sentence's soft coverage of the question's tokens (`sentence_rank`);
  the strongest single signal, known only with a local embedder.

Three models share the work, by what the retrieval knows: all five signals (the default
embedder), no `match` (a remote embedder), or only `coverage` and `lead` (lexical mode).
Each bias already holds its threshold, so "answer" means a probability of at least 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.search.retriever import Retrieval


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one retrieval says about whether the articles answer the question."""

    top_cosine: float | None  # dense cosine of the first passage (None: not embedded)
    coverage: float  # best sentence coverage of the question, in [0, 1.3]
    sentence_cosine: float | None  # best sentence cosine with the question
    lead: float  # first hit's score minus the best score of another article
    match: float | None  # best sentence soft coverage (None: no token states)


def evidence_of(retrieval: Retrieval) -> Evidence:
    """Read the signals off a retrieval."""
    hits = retrieval.hits
    dense = [h.dense for h in hits if h.dense is not None]
    top = None
    if hits and dense:
        top = hits[0].dense if hits[0].dense is not None else min(dense)
    sentences = retrieval.sentences
    cosines = [s.cosine for s in sentences if s.cosine is not None]
    matches = [s.match for s in sentences if s.match is not None]
    lead = 0.0
    if hits:
        others = [h.score for h in hits if h.article.id != hits[0].article.id]
        lead = hits[0].score - max(others) if others else hits[0].score - hits[-1].score
    return Evidence(
        top,
        max((s.coverage for s in sentences), default=0.0),
        max(cosines) if cosines else None,
        lead,
        max(matches) if matches else None,
    )


@dataclass(frozen=True, slots=True)
class LogisticModel:
    """P = 1 / (1 + exp(-(bias + weights . features)))."""

    weights: tuple[float, ...]
    bias: float

    def probability(self, features: Sequence[float]) -> float:
        """The model's probability that the articles answer."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


#: Fitted by `bench/fit_refusal.py` on the dev set and the news dev set's tune part
#: (news-aware retriever, hold-out seeds 0-2; answerable questions whose article is indexed
#: vs questions whose article or story is held out). Each bias includes the threshold that
#: refuses 8% of the indexed answerable questions of both sets together (the trade-off
#: curve is in docs/retrieval.md). Features, in order: top_cosine, coverage,
#: sentence_cosine, lead, match.
FULL = LogisticModel((1.726, -1.428, 1.403, 0.652, 15.591), -9.949)
#: The same without `match`: top_cosine, coverage, sentence_cosine, lead.
DENSE = LogisticModel((2.749, 4.568, 6.451, 0.800), -6.421)
#: Lexical mode: coverage, lead.
LEXICAL = LogisticModel((5.892, 1.332), -2.191)


@dataclass(frozen=True, slots=True)
class RefusalModel:
    """Answer when P(the articles answer) is at least `min_probability`."""

    min_probability: float = 0.5
    full: LogisticModel = FULL
    dense: LogisticModel = DENSE
    lexical: LogisticModel = LEXICAL

    def probability(self, e: Evidence) -> float:
        """P(the articles answer the question), from the model that fits the evidence."""
        if e.top_cosine is None or e.sentence_cosine is None:
            return self.lexical.probability((e.coverage, e.lead))
        if e.match is None:
            return self.dense.probability((e.top_cosine, e.coverage, e.sentence_cosine, e.lead))
        features = (e.top_cosine, e.coverage, e.sentence_cosine, e.lead, e.match)
        return self.full.probability(features)

    def answers(self, evidence: Evidence) -> bool:
        """True when the evidence is strong enough to answer."""
        return self.probability(evidence) >= self.min_probability
