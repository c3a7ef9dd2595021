"""One way to answer: read the question, search once, compose, then the news steps.

1. **Read.** The conversation is trimmed to `history_turns`. With the news steps on, the
   question's own cues set the search's filters: an outlet it names ("According to the
   Valley Wire, ...?" searches that outlet's reports; "And according to the Harbour
   Ledger?" asks the last question again, of it; `outlets.py`), its recency ("latest",
   "still": newest reports first) and the conversation's window ("...then?" searches the
   dates the last answer was about). "What happened with X?" is a timeline
   (`news/timeline.py`). A follow-up is read once (`search/followup.py`: the topic it
   carries or replaces); the composer may add to that reading (`Composer.read`: the
   LLM's structured reading of the question).
2. **Search** once (`NewsRetriever` spreads results across outlets).
3. **Compose**: the offline composer quotes, the LLM composer writes (`answer/base.py`).
4. **News steps** over the answer and its retrieval (`news/steps.py`).

`make_answerer` builds it from the settings, with the LLM's pipeline falling back to the
offline one in auto mode (`answer/fallback.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

from retrieval.answer.base import Answerer, Composer, Draft
from retrieval.answer.fallback import OfflineFallback
from retrieval.answer.offline import OfflineComposer
from retrieval.answer.prompts import GREETING
from retrieval.answer.settings import AnswerSettings
from retrieval.news import steps
from retrieval.news.retriever import NewsRetriever
from retrieval.news.syndication import CopyFinder, merge_syndicated
from retrieval.news.timeline import (
    events_from_lines,
    extractive,
    reports,
    timeline_question,
)
from retrieval.search.followup import FollowUp, Lexicon, follow_up
from retrieval.search.outlets import might_name_outlet, named_outlet
from retrieval.search.question import Kind, read, timeline_topic
from retrieval.search.retriever import HybridRetriever, Mode
from retrieval.search.scoring import FUNCTION_WORDS, stems
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, SearchFilters, Turn


@dataclass(frozen=True, slots=True)
class _Asked:
    """The question as it will be searched."""

    text: str
    filters: SearchFilters
    timeline: str | None = None  # the topic, when it asks for a timeline
    chat: bool = False  # "hi", "thanks": nothing to search


class Pipeline(Answerer):
    """Read, search once, compose, finish (see the module docstring)."""

    def __init__(
        self,
        retriever: HybridRetriever,
        composer: Composer,
        *,
        news: bool = True,
        top_k: int = 5,
        history_turns: int = 6,
    ) -> None:
        self.retriever = retriever
        self.composer = composer
        self.news = news
        self.top_k = top_k
        self.history_turns = history_turns

    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Answer:
        """Answer from the articles, or say plainly that they don't."""
        asked = self._read(question, history, filters)
        unsearched = self._unsearched(asked)
        if unsearched is not None:
            return unsearched
        retrieval = self.retriever.retrieve(asked.text, asked.filters)
        return self._finish(self.composer.compose(retrieval, asked.filters), asked.filters)

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Iterator[str | Answer]:
        """The composer's pieces as they are written, then the finished answer."""
        asked = self._read(question, history, filters)
        unsearched = self._unsearched(asked)
        if unsearched is not None:
            yield unsearched.text
            yield unsearched
            return
        retrieval = self.retriever.retrieve(asked.text, asked.filters)
        for piece in self.composer.stream(retrieval, asked.filters):
            yield self._finish(piece, asked.filters) if isinstance(piece, Draft) else piece

    def timeline(
        self, topic: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Answer:
        """The dated events about `topic` (a topic, or a question about one), oldest first.

        Without the news steps it is the answer to "What happened with <topic>?"."""
        if not self.news:
            return self.answer(timeline_question(topic), history, filters)
        recent = self._recent(history)
        topic, scoped = self._scope(topic, recent, filters or SearchFilters(k=self.top_k))
        asked = timeline_topic(topic) or topic.strip().rstrip("?")
        return self._timeline(self._in_context(asked, recent), scoped)

    # --- steps -----------------------------------------------------------------------------
    def _unsearched(self, asked: _Asked) -> Answer | None:
        """The answers that are not the composer's: a greeting, a timeline."""
        if asked.chat:
            return _greeting(asked)
        if asked.timeline is not None:
            return self._timeline(asked.timeline, asked.filters)
        return None

    def _read(
        self, question: str, history: Sequence[Turn], filters: SearchFilters | None
    ) -> _Asked:
        """The question read once: its filters, and the standalone question to search."""
        recent = self._recent(history)
        scoped = filters or SearchFilters(k=self.top_k)
        index = self.retriever.index
        if self.retriever.read(question).kind is Kind.CHAT:
            return _Asked(question.strip(), scoped, chat=True)
        if self.news:
            question, scoped = self._scope(question, recent, scoped)
            topic = timeline_topic(question.strip())
            if topic is not None:
                return _Asked(question, scoped, self._in_context(topic, recent))
        reading = follow_up(question, recent, Lexicon.of(index) if recent else None)
        if self.news:
            scoped = _within(scoped, reading.window)
        reading, scoped = self.composer.read(reading, recent, scoped, index.sites())
        return _Asked(reading.standalone, scoped)

    def _recent(self, history: Sequence[Turn]) -> list[Turn]:
        return list(history)[-self.history_turns :] if self.history_turns else []

    def _scope(
        self, question: str, history: Sequence[Turn], filters: SearchFilters
    ) -> tuple[str, SearchFilters]:
        """The question to search and its filters: the outlet it names (unless a site is
        set) and its recency."""
        result = filters
        if result.site is None and might_name_outlet(question):
            sites = self.retriever.index.sites()
            outlet = named_outlet(question, sites)
            if outlet is not None:
                result = replace(result, site=outlet.site)
                question = outlet.question
                if history and not stems(question, FUNCTION_WORDS):
                    # "And according to the Harbour Ledger?": the last question, of it
                    last = history[-1].question
                    earlier = named_outlet(last, sites)
                    question = earlier.question if earlier is not None else last
        if read(question).recent:
            result = replace(result, prefer_recent=True)
        return question, result

    def _in_context(self, topic: str, history: Sequence[Turn]) -> str:
        """The topic, with the subject of the conversation when it says "it" or "that"."""
        lexicon = Lexicon.of(self.retriever.index)
        reading: FollowUp = follow_up(timeline_question(topic), history, lexicon)
        if reading.standalone == reading.question:
            return topic
        extra = " ".join(t for t in reading.topic if t.lower() not in topic.lower())
        return f"{topic} {extra}".strip() if stems(topic, FUNCTION_WORDS) else extra or topic

    def _timeline(self, topic: str, filters: SearchFilters) -> Answer:
        finder = CopyFinder(self.retriever.index)
        found = reports(self.retriever, topic, filters)
        written = self.composer.write_timeline(topic, [r.hit for r in found]) if found else None
        if written is not None:
            written = merge_syndicated(written, finder)
            timeline = events_from_lines(topic, written) if written.found else None
            if timeline is not None:
                return _searched(timeline, filters)
        return _searched(extractive(topic, found, finder), filters)

    def _finish(self, draft: Draft, filters: SearchFilters) -> Answer:
        answer = steps.finish(draft, self.retriever.index) if self.news else draft.answer
        return _searched(answer, filters)


def _greeting(asked: _Asked) -> Answer:
    """The answer to a greeting: what to ask (front ends add their help)."""
    return _searched(Answer(GREETING, (), False, asked.text), asked.filters)


def _within(filters: SearchFilters, window: tuple[date, date] | None) -> SearchFilters:
    """The filters narrowed to the dates a follow-up's "then" refers to."""
    if window is None:
        return filters
    since = max(window[0], filters.since) if filters.since else window[0]
    until = min(window[1], filters.until) if filters.until else window[1]
    return replace(filters, since=since, until=until) if since <= until else filters


def _searched(answer: Answer, filters: SearchFilters) -> Answer:
    """The answer, saying which outlet the search was limited to (if any)."""
    return replace(answer, site=filters.site) if filters.site != answer.site else answer


def make_answerer(
    settings: AnswerSettings,
    index: ArticleIndex,
    mode: Mode = "hybrid",
    clock: Callable[[], float] = time.monotonic,
) -> Answerer:
    """The LLM's pipeline when one is configured, else the offline one; news steps on
    unless `news_aware` is off.

    In auto mode the LLM's pipeline falls back to the offline one while the LLM's server
    cannot be reached (`retrieval/answer/fallback.py`; `clock` times its pause).
    """
    retriever = (NewsRetriever if settings.news_aware else HybridRetriever)(index, mode)

    def pipeline(composer: Composer) -> Pipeline:
        return Pipeline(
            retriever,
            composer,
            news=settings.news_aware,
            top_k=settings.top_k,
            history_turns=settings.history_turns,
        )

    offline = pipeline(OfflineComposer(passages=retriever.config.sentences.passages))
    if not settings.use_llm:
        return offline
    from retrieval.answer.llm import LLMComposer

    llm = pipeline(LLMComposer(index, settings))
    if settings.answerer != "auto":
        return llm
    return OfflineFallback(llm, offline, retry_seconds=settings.llm_retry_seconds, clock=clock)
