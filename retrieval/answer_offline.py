"""The offline answerer: no LLM, no key. It answers with the article's own sentences.

The retriever hands over the sentences of the first passages, scored by words (the share
of the question's rare stems they hold) and, for the best few, by meaning (cosine with the
question's embedding; `sentence_rank`). The answerer quotes the best of them, adds the next
best while the answer stays within 300 characters, and cites each verbatim. When the
evidence is weak (`refusal`: a small logistic model over the top passage's cosine, the best
sentence's coverage and cosine and the lead of the top article, fitted on the dev set) it
says `REFUSAL` instead of quoting something loosely related.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from retrieval.answer import Answerer, SearchFilters, Turn
from retrieval.citations import make_citation
from retrieval.condense import condense
from retrieval.prompts import REFUSAL, defang_markers
from retrieval.refusal import RefusalModel, evidence_of
from retrieval.retriever import HybridRetriever, Retrieval
from retrieval.scoring import minmax
from retrieval.sentence_rank import UNIT_BONUS, Sentence
from retrieval.types import Answer, Citation


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    """Composition knobs, tuned on the dev set (see docs/retrieval.md)."""

    rank_weight: float = 0.5  # weight of the passage's min-max score in a sentence's score
    type_bonus: float = 0.15  # for a sentence with a new item of the asked-for kind
    unit_bonus: float = UNIT_BONUS  # for a number followed by what "how many X" counts
    match_weight: float = 6.0  # weight of the sentence's soft coverage of the question
    cosine_weight: float = 3.0  # instead, without token states: weight of its cosine
    max_chars: int = 300  # longest answer the composer writes
    max_sentences: int = 2
    second_min_ratio: float = 0.3  # a further sentence needs this share of the best coverage


@dataclass(frozen=True, slots=True)
class _Candidate:
    sentence: Sentence
    score: float


class OfflineAnswerer(Answerer):
    """Compose a short, cited answer from the best sentences of the retrieved passages."""

    def __init__(
        self,
        retriever: HybridRetriever,
        config: OfflineConfig | None = None,
        history_turns: int = 6,
        refusal: RefusalModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.config = config or OfflineConfig()
        self.history_turns = history_turns
        self.refusal = refusal or RefusalModel()

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """Answer from the articles, or say plainly that they don't."""
        recent = list(history)[-self.history_turns :] if self.history_turns else []
        standalone = condense(question, recent)
        retrieval = self.retriever.retrieve(standalone, filters)
        candidates = self._candidates(retrieval)
        if not candidates or not self.refusal.answers(evidence_of(retrieval)):
            return Answer(REFUSAL, (), False, standalone)
        citations: list[Citation] = []
        for cand in _newest_first(self._compose(candidates), filters):
            sentence = cand.sentence
            n = len(citations) + 1
            citation = make_citation(n, sentence.hit.article, sentence.start, sentence.end)
            if citation is not None:
                citations.append(citation)
        if not citations:
            return Answer(REFUSAL, (), False, standalone)
        # An article's own "[7]" must not pass for a citation in the answer (the quote in
        # the sources stays verbatim).
        text = " ".join(f"{defang_markers(c.quote)} [{c.n}]" for c in citations)
        return Answer(text, tuple(citations), True, standalone)

    def _candidates(self, retrieval: Retrieval) -> list[_Candidate]:
        """The embedded sentences scored by words and meaning (by words alone without them)."""
        embedded = [s for s in retrieval.sentences if s.cosine is not None]
        if not embedded:
            return [_Candidate(s, s.words) for s in retrieval.sentences]
        head = retrieval.hits[: self.retriever.config.sentences.passages]
        ranks = dict(
            zip(
                [(h.article.id, h.chunk.position) for h in head],
                minmax([h.score for h in head]),
                strict=True,
            )
        )
        config = self.config
        found = []
        for s in embedded:
            rank = ranks.get((s.hit.article.id, s.hit.chunk.position), 0.0)
            score = (
                s.coverage
                + config.rank_weight * rank
                + config.type_bonus * s.offers
                + config.unit_bonus * s.counts
            )
            if s.match is not None:
                score += config.match_weight * s.match
            else:
                score += config.cosine_weight * float(s.cosine or 0.0)
            found.append(_Candidate(s, score))
        return sorted(found, key=lambda c: c.score, reverse=True)

    def _compose(self, candidates: Sequence[_Candidate]) -> list[_Candidate]:
        """The best sentence, then the next best ones while the answer stays short."""
        chosen: list[_Candidate] = []
        floor = self.config.second_min_ratio * candidates[0].sentence.coverage
        seen_text: set[str] = set()
        length = 0
        for cand in candidates:
            if len(chosen) == self.config.max_sentences:
                break
            sentence = cand.sentence.text
            if sentence in seen_text:  # the same sentence in a syndicated copy
                continue
            if chosen and (
                length + len(sentence) + 1 > self.config.max_chars or cand.sentence.coverage < floor
            ):
                continue
            if chosen and chosen[0].sentence.offers and not cand.sentence.offers:
                continue  # the first already answers (a date for "when"): add only another
            chosen.append(cand)
            seen_text.add(sentence)
            length += len(sentence) + 1
        return chosen


def _newest_first(chosen: list[_Candidate], filters: SearchFilters | None) -> list[_Candidate]:
    """For "latest / still / now" questions, lead with the newest report chosen."""
    if filters is None or not filters.prefer_recent:
        return chosen
    return sorted(chosen, key=lambda c: c.sentence.hit.article.published or date.min, reverse=True)
