"""The offline composer: no LLM, no key. It answers with the article's own sentences.

The retriever hands over the sentences of the first passages, scored by words (the share
of the question's rare stems they hold) and, for the best few, by meaning (cosine with the
question's embedding; `sentence_rank`). The composer quotes the best of them, adds the next
best while the answer stays within 300 characters, and cites each verbatim. When the
evidence is weak (`refusal`: a small logistic model over the top passage's cosine, the best
sentence's coverage and cosine and the lead of the top article, fitted on the dev set) it
says `REFUSAL` instead of quoting something loosely related.

A question that seeks a named item (a person, an organisation, a date, an amount: the
`Question`'s labels) prefers sentences that name one, and the answer leads with it:
"Jory Pellam. Striker Jory Pellam... [1]". With the news steps on, the pipeline then
attributes each quote to its outlet and date (`news/steps.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from retrieval.answer.base import Composer, Draft
from retrieval.answer.citations import make_citation
from retrieval.answer.prompts import REFUSAL, defang_markers
from retrieval.answer.refusal import RefusalModel, evidence_of
from retrieval.search.question import Question
from retrieval.search.retriever import Retrieval
from retrieval.search.scoring import minmax, recency_boost, shared_words, stems
from retrieval.search.sentence_rank import UNIT_BONUS, Sentence, SentenceConfig
from retrieval.types import Answer, Citation, SearchFilters


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    """Composition knobs, tuned on the dev set (see docs/retrieval.md)."""

    rank_weight: float = 0.5  # weight of the passage's min-max score in a sentence's score
    type_bonus: float = 0.3  # for a sentence naming an item of the asked-for kind
    unit_bonus: float = UNIT_BONUS  # for a number followed by what "how many X" counts
    match_weight: float = 6.0  # weight of the sentence's soft coverage of the question
    cosine_weight: float = 3.0  # instead, without token states: weight of its cosine
    recency_weight: float = 1.0  # for "latest/now" questions: bonus of the newest report
    max_chars: int = 300  # longest answer the composer writes
    max_sentences: int = 2
    typed_sentences: int = 2  # ... when the best names the item asked for (tuned: 1 lost 0.02)
    second_min_ratio: float = 0.45  # a further sentence needs this share of the best coverage


@dataclass(frozen=True, slots=True)
class _Candidate:
    sentence: Sentence
    score: float


class OfflineComposer(Composer):
    """Compose a short, cited answer from the best sentences of the retrieved passages."""

    def __init__(
        self,
        config: OfflineConfig | None = None,
        refusal: RefusalModel | None = None,
        passages: int = SentenceConfig().passages,
    ) -> None:
        self.config = config or OfflineConfig()
        self.refusal = refusal or RefusalModel()
        self.passages = passages  # the retriever's passages whose sentences are scored

    def compose(self, retrieval: Retrieval, filters: SearchFilters) -> Draft:
        """Quote the best sentences, or say plainly that the articles don't answer."""
        standalone = retrieval.question.text
        refused = Draft(Answer(REFUSAL, (), False, standalone, retrieval=retrieval))
        candidates = self._candidates(retrieval, filters.prefer_recent)
        if not candidates or not self.refusal.answers(evidence_of(retrieval)):
            return refused
        chosen = self._compose(candidates, retrieval.question)
        citations: list[Citation] = []
        for cand in _newest_first(chosen, filters):
            sentence = cand.sentence
            n = len(citations) + 1
            citation = make_citation(n, sentence.hit.article, sentence.start, sentence.end)
            if citation is not None:
                citations.append(citation)
        if not citations:
            return refused
        lead = lead_item(retrieval.question, chosen[0].sentence)
        # An article's own "[7]" must not pass for a citation in the answer (the quote in
        # the sources stays verbatim).
        text = " ".join(f"{defang_markers(c.quote)} [{c.n}]" for c in citations)
        answer = Answer(
            f"{lead}. {text}" if lead else text,
            tuple(citations),
            True,
            standalone,
            retrieval=retrieval,
        )
        return Draft(answer, lead=lead)

    def _candidates(self, retrieval: Retrieval, recent: bool = False) -> list[_Candidate]:
        """The embedded sentences scored by words and meaning (by words alone without them);
        for a question about the present, newer reports score higher, as their passages do
        in the retriever (`recency_boost`)."""
        embedded = [s for s in retrieval.sentences if s.cosine is not None]
        if not embedded:
            return [_Candidate(s, s.words) for s in retrieval.sentences]
        head = retrieval.hits[: self.passages]
        ranks = dict(
            zip(
                [(h.article.id, h.chunk.position) for h in head],
                minmax([h.score for h in head]),
                strict=True,
            )
        )
        config = self.config
        dated = [s.hit.article.published for s in embedded if s.hit.article.published]
        newest = max(dated) if recent and dated else None
        found = []
        for s in embedded:
            rank = ranks.get((s.hit.article.id, s.hit.chunk.position), 0.0)
            score = (
                s.coverage
                + config.rank_weight * rank
                + config.type_bonus * s.offers
                + config.unit_bonus * s.counts
            )
            if newest is not None:
                score += config.recency_weight * recency_boost(s.hit.article, newest)
            if s.match is not None:
                score += config.match_weight * s.match
            else:
                score += config.cosine_weight * float(s.cosine or 0.0)
            found.append(_Candidate(s, score))
        return sorted(found, key=lambda c: c.score, reverse=True)

    def _compose(self, candidates: Sequence[_Candidate], question: Question) -> list[_Candidate]:
        """The best sentence, then the next best ones while the answer stays short (the
        best alone when the question asks for one item: a name, a date, an amount)."""
        chosen: list[_Candidate] = []
        named = question.typed and candidates[0].sentence.offers >= 1.0
        most = self.config.typed_sentences if named else self.config.max_sentences
        floor = self.config.second_min_ratio * candidates[0].sentence.coverage
        seen_text: set[str] = set()
        length = 0
        for cand in candidates:
            if len(chosen) == most:
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
            first = chosen[0].sentence if chosen else None
            elsewhere = first is not None and cand.sentence.hit.article.id != first.hit.article.id
            if first is not None and question.typed and not first.offers and elsewhere:
                continue  # another story's figure is no second answer to this one
            chosen.append(cand)
            seen_text.add(sentence)
            length += len(sentence) + 1
        return chosen


def lead_item(question: Question, sentence: Sentence) -> str | None:
    """The item of the asked-for kind that the sentence names ("Jory Pellam" for "Who
    scored twice?"): of the best label present, the one nearest the question's words as a
    whole (the sum of its distances to each of them: "expected to reopen ... on May 18,
    ... shut the bridge on March 2" answers "When is the bridge expected to reopen?" with
    May 18, which two of the words point at, not March 2, which one does)."""
    if not question.labels or sentence.offers <= 0:
        return None
    text = sentence.hit.article.text
    fresh = [e for e in sentence.entities if not question.names(text[e.start : e.end])]
    for label in question.labels:
        named = [e for e in fresh if e.label == label]
        if named:
            anchors = shared_words(question.text, text, sentence.start, sentence.end)
            words: dict[str, list[int]] = {}
            for at in anchors:  # each of the question's words, wherever the sentence says it
                head = stems(text[at : at + 40])
                words.setdefault(head[0] if head else "", []).append(at)
            best = min(
                named,
                key=lambda e: sum(min(abs(e.start - a) for a in at) for at in words.values()),
            )
            return text[best.start : best.end]
    return None


def _newest_first(chosen: list[_Candidate], filters: SearchFilters) -> list[_Candidate]:
    """For "latest / still / now" questions, lead with the newest report chosen."""
    if not filters.prefer_recent:
        return chosen
    return sorted(chosen, key=lambda c: c.sentence.hit.article.published or date.min, reverse=True)
