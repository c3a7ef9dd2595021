"""The news layer: makes any answerer treat articles as news.

`NewsAnswerer` wraps the offline or the LLM answerer (`make_answerer` does it) and adds,
around the same retrieval:

* recency: "latest", "now", "still"... questions prefer the newest reports (`Question.recent`);
* outlets: "According to the Valley Wire, ...?" searches that outlet's reports
  (`outlets.py`), and "And according to the Harbour Ledger?" asks the last question again,
  of that outlet;
* the conversation's frame: "...then?" searches the dates the last answer was about
  (`followup.follow_up(...).window`);
* timelines: "What happened with X?" gives dated events in order (`timeline.py`);
* syndicated copies merged into one source listing where it ran (`syndication.py`);
* conflicts: passages that disagree on the asked-for figure are all cited (`conflicts.py`);
* dated claims: the offline answer names who reported each quote and when; a written
  (LLM) answer over several dates gets "As of <date>" if it did not say it (`datelines.py`).

It reads the very passages the answer came from (`Answer.retrieval`): nothing is searched
twice. `NewsRetriever` spreads results across outlets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace

from retrieval import conflicts
from retrieval.answer import Answerer, SearchFilters, Turn
from retrieval.datelines import outlet, with_as_of
from retrieval.followup import Lexicon, follow_up
from retrieval.outlets import might_name_outlet, named_outlet
from retrieval.question import read, timeline_topic
from retrieval.retriever import HybridRetriever, Retrieval
from retrieval.scoring import FUNCTION_WORDS, stems
from retrieval.stories import Stories
from retrieval.syndication import CopyFinder, merge_syndicated
from retrieval.timeline import (
    TimelineWriter,
    events_from_lines,
    extractive,
    reports,
    timeline_question,
)
from retrieval.types import Answer, Hit

SPREAD_EXTRA = 5  # extra passages fetched so an outlet over its share can be replaced


class NewsRetriever(HybridRetriever):
    """The hybrid retriever, with results spread across outlets."""

    def retrieve(self, question: str, filters: SearchFilters | None = None) -> Retrieval:
        """Up to `filters.k` hits, best first, at most about half of them from one outlet."""
        filters = filters or SearchFilters()
        wider = min(filters.k + SPREAD_EXTRA, max(filters.k, self.config.pool))
        found = super().retrieve(question, filters.with_k(wider))
        return replace(found, hits=spread(found.hits, filters.k))


def spread(hits: Sequence[Hit], k: int) -> list[Hit]:
    """The first k hits, with an outlet's hits beyond its share moved after the others'."""
    share = max(2, (k + 1) // 2)
    seen: Counter[str] = Counter()
    first: list[Hit] = []
    later: list[Hit] = []
    for hit in hits:
        name = outlet(hit.article)
        (first if seen[name] < share else later).append(hit)
        seen[name] += 1
    return (first + later)[:k]


class NewsAnswerer(Answerer):
    """Any answerer, made news-aware (see the module docstring)."""

    def __init__(
        self,
        inner: Answerer,
        retriever: HybridRetriever,
        *,
        quoting: bool,
        top_k: int = 5,
        history_turns: int = 6,
        writer: TimelineWriter | None = None,
    ) -> None:
        self.inner = inner
        self.retriever = retriever
        self.quoting = quoting  # the inner answer is quotes only: rewrite it with attributions
        self.top_k = top_k
        self.history_turns = history_turns
        self.writer = writer

    def answer(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Answer:
        """Answer as the inner answerer does, then date, attribute, merge and check it."""
        recent = self._recent(history)
        question, filters = self.scope(question, recent, filters)
        topic = self._timeline_topic(question, recent)
        if topic is not None:
            return self._timeline(topic, filters)
        return self._finish(self.inner.answer(question, history, filters), filters)

    def _searched(self, answer: Answer, filters: SearchFilters) -> Answer:
        """The answer, saying which outlet the search was limited to (if any; the inner
        answerer may have limited it to the outlet its reading of the question found)."""
        if filters.site is None or filters.site == answer.site:
            return answer
        return replace(answer, site=filters.site)

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Iterator[str | Answer]:
        """The inner answerer's pieces, then the finished answer."""
        recent = self._recent(history)
        question, filters = self.scope(question, recent, filters)
        topic = self._timeline_topic(question, recent)
        if topic is not None:
            answer = self._timeline(topic, filters)
            yield answer.text
            yield answer
            return
        for piece in self.inner.stream(question, history, filters):
            yield self._finish(piece, filters) if isinstance(piece, Answer) else piece

    def timeline(
        self, topic: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None
    ) -> Answer:
        """The dated events about `topic` (a topic, or a question about one), oldest first."""
        recent = self._recent(history)
        topic, filters = self.scope(topic, recent, filters)
        asked = timeline_topic(topic) or topic.strip().rstrip("?")
        return self._timeline(self._in_context(asked, recent), filters)

    def scope(
        self, question: str, history: Sequence[Turn], filters: SearchFilters | None
    ) -> tuple[str, SearchFilters]:
        """The question to search and its filters: the outlet it names (unless a site is
        set), its recency, and the conversation's window."""
        result = filters or SearchFilters(k=self.top_k)
        if result.site is None and might_name_outlet(question):
            sites = self.retriever.index.sites()
            outlet = named_outlet(question, sites)
            if outlet is not None:
                result = replace(result, site=outlet.site)
                if self.quoting:  # an LLM reads "according to X" as it is meant
                    question = outlet.question
                    if history and not stems(question, FUNCTION_WORDS):
                        # "And according to the Harbour Ledger?": the last question, of it
                        last = history[-1].question
                        earlier = named_outlet(last, sites)
                        question = earlier.question if earlier is not None else last
        return question, self._dated(question, history, result)

    def _dated(
        self, question: str, history: Sequence[Turn], filters: SearchFilters
    ) -> SearchFilters:
        """The filters with the question's recency and the conversation's window."""
        result = filters
        if read(question).recent:
            result = replace(result, prefer_recent=True)
        window = follow_up(question, history).window
        if window is not None:
            since = max(window[0], result.since) if result.since else window[0]
            until = min(window[1], result.until) if result.until else window[1]
            if since <= until:
                result = replace(result, since=since, until=until)
        return result

    # --- steps -----------------------------------------------------------------------------
    def _recent(self, history: Sequence[Turn]) -> list[Turn]:
        return list(history)[-self.history_turns :] if self.history_turns else []

    def _timeline_topic(self, question: str, history: Sequence[Turn]) -> str | None:
        topic = timeline_topic(question.strip())
        return None if topic is None else self._in_context(topic, history)

    def _in_context(self, topic: str, history: Sequence[Turn]) -> str:
        """The topic, with the subject of the conversation when it says "it" or "that"."""
        lexicon = Lexicon.of(self.retriever.index)
        reading = follow_up(timeline_question(topic), history, lexicon)
        if reading.standalone == reading.question:
            return topic
        extra = " ".join(t for t in reading.topic if t.lower() not in topic.lower())
        return f"{topic} {extra}".strip() if stems(topic, FUNCTION_WORDS) else extra or topic

    def _timeline(self, topic: str, filters: SearchFilters) -> Answer:
        finder = CopyFinder(self.retriever.index)
        found = reports(self.retriever, topic, filters)
        if self.writer is not None and found:
            written = merge_syndicated(self.writer(topic, [r.hit for r in found]), finder)
            timeline = events_from_lines(topic, written) if written.found else None
            if timeline is not None:
                return self._searched(timeline, filters)
        return self._searched(extractive(topic, found, finder), filters)

    def _finish(self, answer: Answer, filters: SearchFilters) -> Answer:
        """Merge a written answer's syndicated copies (the quoting answerer attributed and
        merged its own), then check the passages it came from for conflicting figures."""
        retrieval = answer.retrieval
        if self.quoting or not answer.found or not answer.citations or retrieval is None:
            return self._searched(answer, filters)  # the quoting answerer did its own steps
        index = self.retriever.index
        finder = CopyFinder(index)
        answer = merge_syndicated(answer, finder)
        stories, anchor = Stories(index.entities, index.lexical()), answer.citations[0].article
        found = conflicts.find(
            answer.question, retrieval.hits, index.lexical(), lambda a: stories.same(anchor, a)
        )
        if found is not None:
            said = all(group[0].value in answer.text for group in found.groups)
            answer = conflicts.attach(answer, found, finder, note=not said)
        return self._searched(with_as_of(answer), filters)
