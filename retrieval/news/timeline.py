"""Timelines: "What happened with X?" as dated events in order, each with its citation.

Every relevant article is one report. Its event is its earliest sentence about the topic
(in news, usually the lede), dated by the article's publication date; undated reports
come last and say "no date". Syndicated copies of a report are one event that lists where
else it ran. The LLM answerer may write the events' text itself (`events_from_lines`); the
dates, order and citations are still taken from the articles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from retrieval.answer.citations import make_citation
from retrieval.answer.prompts import MARKER, REFUSAL, defang_markers, marker_numbers
from retrieval.news.datelines import NO_DATE, outlet
from retrieval.news.syndication import CopyFinder, merged
from retrieval.search.retriever import HybridRetriever
from retrieval.search.scoring import QueryTerms, sentence_score
from retrieval.search.sentences import sentence_spans
from retrieval.types import Answer, Citation, Event, Hit, SearchFilters

#: Writes a timeline's text from date-ordered passages (the LLM answerer's `write_timeline`).
TimelineWriter = Callable[[str, Sequence[Hit]], Answer]

PASSAGES = 20  # passages searched for a timeline
MAX_EVENTS = 12
MIN_COVERAGE = 0.5  # share of the topic's IDF mass a report's best sentence must cover
COVERAGE_RATIO = 0.6  # ... and this share of the best report's
LEDE_RATIO = 0.75  # the event is the earliest sentence this close to the article's best


def timeline_question(topic: str) -> str:
    """The question that asks for `topic`'s timeline (what /timeline X sends)."""
    return f"What happened with {topic.strip().rstrip('?')}?"


@dataclass(frozen=True, slots=True)
class Report:
    """One article's event sentence about the topic."""

    hit: Hit
    start: int
    end: int
    coverage: float


def reports(retriever: HybridRetriever, topic: str, filters: SearchFilters) -> list[Report]:
    """The relevant articles' event sentences, oldest report first."""
    hits = retriever.search(topic, replace(filters, k=PASSAGES, prefer_recent=False))
    terms = QueryTerms.of(topic, retriever.index.lexical())
    sentences: dict[str, list[Report]] = {}
    for hit in hits:
        text = hit.article.text
        for start, end in sentence_spans(text, hit.chunk.start, hit.chunk.end):
            report = Report(hit, start, end, sentence_score(terms, text[start:end]))
            sentences.setdefault(hit.article.id, []).append(report)
    best = {aid: max(r.coverage for r in found) for aid, found in sentences.items()}
    floor = max(MIN_COVERAGE, COVERAGE_RATIO * max(best.values(), default=0.0))
    chosen = []
    for aid, found in sentences.items():
        if best[aid] >= floor:
            ledes = [r for r in found if r.coverage >= LEDE_RATIO * best[aid]]
            chosen.append(replace(min(ledes, key=lambda r: r.start), coverage=best[aid]))
    chosen = sorted(chosen, key=lambda r: r.coverage, reverse=True)[:MAX_EVENTS]
    return sorted(chosen, key=lambda r: _day_order(r.hit.article.published))


def _day_order(day: date | None) -> tuple[bool, date]:
    return (day is None, day or date.max)


def extractive(topic: str, found: Sequence[Report], finder: CopyFinder) -> Answer:
    """The timeline from the reports' own sentences, one event per story."""
    pairs: list[tuple[Event, Citation]] = []
    stories: set[str] = set()
    for report in found:
        citation = make_citation(len(pairs) + 1, report.hit.article, report.start, report.end)
        if citation is None:
            continue
        citation = merged(citation, finder)
        if citation.article.id in stories:  # a copy of a story already told
            continue
        stories.add(citation.article.id)
        pairs.append((Event(citation.article.published, citation.quote, citation.n), citation))
    return compose(topic, pairs)


_LEADING_DATE = re.compile(
    rf"^\s*(?:[-*•]\s*)?(?:\d{{4}}-\d{{2}}-\d{{2}}|{NO_DATE})?\s*(?:[—–:·-]\s*)?", re.IGNORECASE
)


def events_from_lines(topic: str, written: Answer) -> Answer | None:
    """A written timeline (one "date — event [n]" line per event) as events; None if none."""
    by_n = {c.n: c for c in written.citations}
    pairs = []
    for line in written.text.splitlines():
        numbers = [n for m in MARKER.finditer(line) for n in marker_numbers(m.group(2))]
        cited = [by_n[n] for n in numbers if n in by_n]
        text = _LEADING_DATE.sub("", MARKER.sub("", line), count=1).strip()
        if cited and text:
            pairs.append((Event(cited[0].article.published, text, cited[0].n), cited[0]))
    return compose(topic, pairs) if pairs else None


def compose(topic: str, pairs: Sequence[tuple[Event, Citation]]) -> Answer:
    """Order the events by date, number their citations in that order, and write the text."""
    if not pairs:
        return Answer(REFUSAL, (), False, topic)
    ordered = sorted(enumerate(pairs), key=lambda p: (_day_order(p[1][0].when), p[0]))
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    events: list[Event] = []
    for _, (event, citation) in ordered:
        if citation.n not in numbers:
            numbers[citation.n] = len(citations) + 1
            citations.append(replace(citation, n=numbers[citation.n]))
        events.append(replace(event, citation=numbers[citation.n]))
    by_n = {c.n: c for c in citations}
    lines = [_header(topic, events)]
    for event in events:
        when = event.when.isoformat() if event.when else NO_DATE
        name = outlet(by_n[event.citation].article)
        lines.append(f"{when} · {name}: {defang_markers(event.text)} [{event.citation}]")
    return Answer("\n".join(lines), tuple(citations), True, topic, events=tuple(events))


def _header(topic: str, events: Sequence[Event]) -> str:
    dated = [e.when for e in events if e.when]
    count = f"{len(events)} report" + ("s" if len(events) != 1 else "")
    span = ""
    if dated:
        first, last = min(dated).isoformat(), max(dated).isoformat()
        span = f", {first}" if first == last else f", {first} to {last}"
    undated = len(events) - len(dated)
    extra = f", {undated} undated" if undated and dated else ""
    return f"Timeline of {topic} ({count}{span}{extra}):"
