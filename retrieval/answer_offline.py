"""The offline answerer: no LLM, no key. It answers with the article's own sentences.

It picks, from the retrieved passages, the sentence that covers most of the question's
rare words (see `scoring.sentence_score`), adds a second sentence from another article
when that one adds something and the answer stays short, and cites each verbatim. When
the evidence is weak it says `REFUSAL` instead of quoting something loosely related.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.answer import Answerer, SearchFilters, Turn
from retrieval.citations import make_citation
from retrieval.condense import condense
from retrieval.prompts import REFUSAL
from retrieval.retriever import HybridRetriever
from retrieval.scoring import QueryTerms, sentence_score, stems
from retrieval.sentences import sentence_spans
from retrieval.types import Answer, Citation, Hit


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    """Thresholds tuned on the dev set (docs/retrieval.md has the numbers)."""

    min_coverage: float = 0.5  # share of the question's IDF mass the best sentence must hold
    min_dense: float = 0.25  # cosine of the best passage, when the dense side found it
    rank_weight: float = 0.15  # bonus for sentences of higher-ranked passages
    max_chars: int = 300  # longest answer the composer writes
    second_min_gain: float = 0.2  # new coverage a second sentence must add


@dataclass(frozen=True, slots=True)
class _Candidate:
    hit: Hit
    start: int
    end: int
    coverage: float
    score: float


class OfflineAnswerer(Answerer):
    """Compose a short, cited answer from the best sentences of the retrieved passages."""

    def __init__(
        self,
        retriever: HybridRetriever,
        config: OfflineConfig | None = None,
        history_turns: int = 6,
    ) -> None:
        self.retriever = retriever
        self.config = config or OfflineConfig()
        self.history_turns = history_turns

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """Answer from the articles, or say plainly that they don't."""
        history = list(history)[-self.history_turns :] if self.history_turns else []
        standalone = condense(question, history)
        hits = self.retriever.search(standalone, filters)
        terms = QueryTerms.of(standalone, self.retriever.index.lexical())
        candidates = self._candidates(terms, hits)
        if not candidates or not self._supported(candidates[0], hits):
            return Answer(REFUSAL, (), False, standalone)
        chosen = self._compose(terms, candidates)
        citations: list[Citation] = []
        parts: list[str] = []
        for cand in chosen:
            citation = make_citation(len(citations) + 1, cand.hit.article, cand.start, cand.end)
            if citation is None:
                continue
            citations.append(citation)
            parts.append(f"{citation.quote} [{citation.n}]")
        if not citations:
            return Answer(REFUSAL, (), False, standalone)
        return Answer(" ".join(parts), tuple(citations), True, standalone)

    def _candidates(self, terms: QueryTerms, hits: Sequence[Hit]) -> list[_Candidate]:
        found: dict[tuple[str, int], _Candidate] = {}
        for rank, hit in enumerate(hits):
            text = hit.article.text
            for start, end in sentence_spans(text, hit.chunk.start, hit.chunk.end):
                coverage = sentence_score(terms, text[start:end])
                score = coverage + self.config.rank_weight / (rank + 1)
                key = (hit.article.id, start)
                if key not in found or found[key].score < score:
                    found[key] = _Candidate(hit, start, end, coverage, score)
        return sorted(found.values(), key=lambda c: c.score, reverse=True)

    def _supported(self, best: _Candidate, hits: Sequence[Hit]) -> bool:
        if best.coverage < self.config.min_coverage:
            return False
        dense = [h.dense for h in hits if h.dense is not None]
        return not dense or max(dense) >= self.config.min_dense

    def _compose(self, terms: QueryTerms, candidates: list[_Candidate]) -> list[_Candidate]:
        best = candidates[0]
        chosen = [best]
        covered = _covered(terms, best)
        for cand in candidates[1:4]:
            if cand.hit.article.id == best.hit.article.id:
                continue
            gain = sum(terms.weights[s] for s in _covered(terms, cand) - covered)
            size = (best.end - best.start) + (cand.end - cand.start)
            enough = gain >= self.config.second_min_gain * terms.total
            if enough and size <= self.config.max_chars:
                chosen.append(cand)
                break
        return chosen


def _covered(terms: QueryTerms, cand: _Candidate) -> set[str]:
    return set(stems(cand.hit.article.text[cand.start : cand.end])) & set(terms.weights)
