"""The offline answerer: no LLM, no key. It answers with the article's own sentences.

The retriever hands over the sentences of the first passages, scored by words (the share
of the question's rare stems they hold) and, for the best few, by meaning (cosine with the
question's embedding; `sentence_rank`). The answerer quotes the best of them, adds the next
best while the answer stays within 300 characters, and cites each verbatim. When the
evidence is weak (`refusal`: a small logistic model over the top passage's cosine, the best
sentence's coverage and cosine and the lead of the top article, fitted on the dev set) it
says `REFUSAL` instead of quoting something loosely related.

A question that seeks a named item (a person, an organisation, a date, an amount: the
`Question`'s labels) prefers sentences that name one, and the answer leads with it:
"Jory Pellam. According to Eastmere Evening Post (2026-03-15): Striker Jory Pellam...".
With the news steps on, the quotes are merged with their syndicated copies and each is
attributed to its outlet and date, here, once (`datelines.attributed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from retrieval import conflicts
from retrieval.answer import Answerer, SearchFilters, Turn
from retrieval.citations import make_citation
from retrieval.datelines import attributed
from retrieval.followup import Lexicon, follow_up
from retrieval.prompts import REFUSAL, defang_markers
from retrieval.question import Question
from retrieval.refusal import RefusalModel, evidence_of
from retrieval.retriever import HybridRetriever, Retrieval
from retrieval.scoring import minmax, shared_words, stems
from retrieval.sentence_rank import UNIT_BONUS, Sentence
from retrieval.stories import Stories
from retrieval.syndication import CopyFinder, merge_syndicated, merged
from retrieval.types import Answer, Article, Citation


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    """Composition knobs, tuned on the dev set (see docs/retrieval.md)."""

    rank_weight: float = 0.5  # weight of the passage's min-max score in a sentence's score
    type_bonus: float = 0.3  # for a sentence naming an item of the asked-for kind
    unit_bonus: float = UNIT_BONUS  # for a number followed by what "how many X" counts
    match_weight: float = 6.0  # weight of the sentence's soft coverage of the question
    cosine_weight: float = 3.0  # instead, without token states: weight of its cosine
    max_chars: int = 300  # longest answer the composer writes
    max_sentences: int = 2
    typed_sentences: int = 2  # ... when the best names the item asked for (tuned: 1 lost 0.02)
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
        *,
        news: bool = True,
    ) -> None:
        self.retriever = retriever
        self.config = config or OfflineConfig()
        self.history_turns = history_turns
        self.refusal = refusal or RefusalModel()
        self.news = news  # attribute each quote, merge syndicated copies

    def answer(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
    ) -> Answer:
        """Answer from the articles, or say plainly that they don't."""
        recent = list(history)[-self.history_turns :] if self.history_turns else []
        standalone = follow_up(question, recent, Lexicon.of(self.retriever.index)).standalone
        retrieval = self.retriever.retrieve(standalone, filters)
        refused = Answer(REFUSAL, (), False, standalone, retrieval=retrieval)
        candidates = self._candidates(retrieval)
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
        found = Answer("", tuple(citations), True, standalone, retrieval=retrieval)
        lead = lead_item(retrieval.question, chosen[0].sentence)
        if not self.news:
            # An article's own "[7]" must not pass for a citation in the answer (the quote
            # in the sources stays verbatim).
            text = " ".join(f"{defang_markers(c.quote)} [{c.n}]" for c in found.citations)
            return replace(found, text=f"{lead}. {text}" if lead else text)
        return self._as_news(found, lead, chosen[0].sentence.hit.article)

    def _as_news(self, found: Answer, lead: str | None, anchor: Article) -> Answer:
        """The answer with syndicated copies merged, each quote attributed to its outlet and
        date, and, where the reports of its story disagree on the figure asked for, led by
        the newest report's value with every value cited."""
        index = self.retriever.index
        finder = CopyFinder(index)
        found = merge_syndicated(found, finder)
        stories = Stories(index.entities, index.lexical())
        retrieval = found.retrieval
        hits = retrieval.hits if retrieval is not None else []
        disagreement = conflicts.find(
            found.question, hits, index.lexical(), story=lambda a: stories.same(anchor, a)
        )
        if disagreement is not None:
            newest = disagreement.groups[0][0]
            leading = make_citation(1, newest.article, newest.start, newest.end)
            if leading is not None:
                found = replace(found, citations=(merged(leading, finder),))
                lead = newest.value
        text = attributed(found.citations)
        found = replace(found, text=f"{lead}. {text}" if lead else text)
        if disagreement is not None:
            found = conflicts.attach(found, disagreement, finder, note=True)
        return found

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
    asked = question.text.lower()
    fresh = [e for e in sentence.entities if text[e.start : e.end].lower() not in asked]
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


def _newest_first(chosen: list[_Candidate], filters: SearchFilters | None) -> list[_Candidate]:
    """For "latest / still / now" questions, lead with the newest report chosen."""
    if filters is None or not filters.prefer_recent:
        return chosen
    return sorted(chosen, key=lambda c: c.sentence.hit.article.published or date.min, reverse=True)
