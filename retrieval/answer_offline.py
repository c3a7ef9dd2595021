"""The offline answerer: no LLM, no key. It answers with the article's own sentences.

From the top passages it takes the sentence that covers most of the question's rare words
(`scoring.sentence_score`, helped by the passage's rank), adds the next best sentence while
the answer stays within 300 characters, and cites each verbatim. When the evidence is weak
(top passage's cosine + best sentence's coverage under a threshold tuned on the dev set)
it says `REFUSAL` instead of quoting something loosely related.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.answer import Answerer, SearchFilters, Turn
from retrieval.answer_types import answer_type, offers_new
from retrieval.citations import make_citation
from retrieval.condense import condense
from retrieval.prompts import REFUSAL, defang_markers
from retrieval.retriever import HybridRetriever
from retrieval.scoring import QueryTerms, minmax, sentence_score, stems
from retrieval.sentences import sentence_spans
from retrieval.types import Answer, Citation, Hit


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    """Composition and refusal knobs, tuned on the dev set (see docs/retrieval.md)."""

    passages: int = 3  # top passages whose sentences may answer
    rank_weight: float = 0.5  # weight of the passage's min-max score in a sentence's score
    max_chars: int = 300  # longest answer the composer writes
    max_sentences: int = 2
    type_bonus: float = 0.15  # for a sentence with a new item of the asked-for kind
    second_min_ratio: float = 0.5  # a further sentence needs this share of the best coverage
    local_weight: float = 0.0  # down-weigh question terms that most candidate sentences share
    min_evidence: float = 0.843  # refuse under: top cosine + best sentence coverage
    min_coverage: float = 0.38  # refuse under, when no dense score exists (lexical mode)


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
        recent = list(history)[-self.history_turns :] if self.history_turns else []
        standalone = condense(question, recent)
        hits = self.retriever.search(standalone, filters)
        terms = QueryTerms.of(standalone, self.retriever.index.lexical())
        candidates = self._candidates(standalone, terms, hits)
        if not candidates or not self._supported(candidates, hits):
            return Answer(REFUSAL, (), False, standalone)
        citations: list[Citation] = []
        for cand in self._compose(candidates):
            citation = make_citation(len(citations) + 1, cand.hit.article, cand.start, cand.end)
            if citation is not None:
                citations.append(citation)
        if not citations:
            return Answer(REFUSAL, (), False, standalone)
        # An article's own "[7]" must not pass for a citation in the answer (the quote in
        # the sources stays verbatim).
        text = " ".join(f"{defang_markers(c.quote)} [{c.n}]" for c in citations)
        return Answer(text, tuple(citations), True, standalone)

    def _candidates(
        self, question: str, terms: QueryTerms, hits: Sequence[Hit]
    ) -> list[_Candidate]:
        kind = answer_type(question)
        top = list(hits[: self.config.passages])
        ranks = minmax([h.score for h in top])
        spans = [
            (hit, rank, start, end)
            for hit, rank in zip(top, ranks, strict=True)
            for start, end in sentence_spans(hit.article.text, hit.chunk.start, hit.chunk.end)
        ]
        focus = _focus(terms, [h.article.text[s:e] for h, _, s, e in spans], self.config)
        found: list[_Candidate] = []
        for hit, rank, start, end in spans:
            sentence = hit.article.text[start:end]
            coverage = sentence_score(terms, sentence)
            score = sentence_score(focus, sentence) + self.config.rank_weight * rank
            if offers_new(kind, question, sentence):
                score += self.config.type_bonus
            found.append(_Candidate(hit, start, end, coverage, score))
        return sorted(found, key=lambda c: c.score, reverse=True)

    def _supported(self, candidates: Sequence[_Candidate], hits: Sequence[Hit]) -> bool:
        coverage = max(c.coverage for c in candidates)
        dense = [h.dense for h in hits if h.dense is not None]
        if not dense:
            return coverage >= self.config.min_coverage
        top = hits[0].dense if hits[0].dense is not None else min(dense)
        return top + coverage >= self.config.min_evidence

    def _compose(self, candidates: Sequence[_Candidate]) -> list[_Candidate]:
        """The best sentence, then the next best ones while the answer stays short."""
        chosen: list[_Candidate] = []
        floor = self.config.second_min_ratio * candidates[0].coverage
        seen_text: set[str] = set()
        length = 0
        for cand in candidates:
            if len(chosen) == self.config.max_sentences:
                break
            sentence = cand.hit.article.text[cand.start : cand.end]
            if sentence in seen_text:  # the same sentence in a syndicated copy
                continue
            if chosen and (
                length + len(sentence) + 1 > self.config.max_chars or cand.coverage < floor
            ):
                continue
            chosen.append(cand)
            seen_text.add(sentence)
            length += len(sentence) + 1
        return chosen


def _focus(terms: QueryTerms, sentences: Sequence[str], config: OfflineConfig) -> QueryTerms:
    """Re-weigh terms: those most candidate sentences share tell them apart least."""
    if config.local_weight <= 0 or not sentences:
        return terms
    present = [set(stems(s)) for s in sentences]
    n = len(present)
    weights = {}
    for stem, weight in terms.weights.items():
        share = sum(stem in p for p in present) / n
        weights[stem] = weight * (1 - config.local_weight * share)
    return QueryTerms(weights, terms.bigrams)
