"""Syndicated and re-published copies of one story, merged into one source.

Agencies' stories run word for word on several sites, each under its own URL, headline
and date. Counting them as independent sources would make one report look like several,
so a citation is moved to the story's first publication (when the quote is there verbatim)
and lists the other places it ran (`Citation.also_ran`). Copies are found through the BM25
index (the quote as the query) and confirmed by word 3-gram containment of the whole texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from retrieval.answer.citations import make_citation
from retrieval.answer.prompts import renumber_markers
from retrieval.search.scoring import NEAR_DUPLICATE, containment, shingles
from retrieval.store.index import ArticleIndex
from retrieval.types import Answer, Appearance, Article, Citation

_PROBE = 10  # passages the quote's BM25 search looks at for copies


def quote_core(citation: Citation) -> str:
    """The quoted span without the ellipses that mark a trimmed quote."""
    return citation.article.text[citation.start : citation.end]


class CopyFinder:
    """Finds the other articles that ran the same story (cached for one answer)."""

    def __init__(self, index: ArticleIndex) -> None:
        self.index = index
        self._copies: dict[str, list[Article]] = {}
        self._shingles: dict[str, set[str]] = {}

    def story(self, article: Article, probe: str) -> list[Article]:
        """`article` and its copies, first publication first (undated ones last)."""
        if article.id not in self._copies:
            self._copies[article.id] = self._find(article, probe)
        return sorted([article, *self._copies[article.id]], key=_first_run)

    def _find(self, article: Article, probe: str) -> list[Article]:
        found = self.index.lexical().search(probe, _PROBE)
        ids = [key[0] for key, _ in found if key[0] != article.id]
        if not ids:
            return []
        others = self.index.catalog.get_many(list(dict.fromkeys(ids)))
        own = self._of(article)
        return [o for o in others.values() if containment(own, self._of(o)) >= NEAR_DUPLICATE]

    def _of(self, article: Article) -> set[str]:
        if article.id not in self._shingles:
            self._shingles[article.id] = shingles(article.text)
        return self._shingles[article.id]


def _first_run(article: Article) -> tuple[bool, date]:
    return (article.published is None, article.published or date.max)


def merged(citation: Citation, finder: CopyFinder) -> Citation:
    """The citation moved to its story's first publication, listing where else it ran."""
    core = quote_core(citation)
    story = finder.story(citation.article, core)
    if len(story) == 1:
        return citation
    primary = citation.article
    for candidate in story:  # the earliest copy that holds the quote verbatim
        at = candidate.text.find(core)
        if at < 0:
            continue
        if candidate.id != primary.id:
            moved = make_citation(citation.n, candidate, at, at + len(core))
            if moved is None:
                continue
            citation, primary = moved, candidate
        break
    also = tuple(Appearance.of(a) for a in story if a.id != primary.id)
    return replace(citation, also_ran=also)


def merge_syndicated(answer: Answer, finder: CopyFinder) -> Answer:
    """Merge the answer's citations of copies of one story into one source each.

    Two citations that end up quoting the same span of the same article become one, and
    the answer's [n] markers are renumbered to match.
    """
    citations: list[Citation] = []
    numbers: dict[int, int] = {}
    by_span: dict[tuple[str, int, int], int] = {}
    for citation in answer.citations:
        moved = merged(citation, finder)
        key = (moved.article.id, moved.start, moved.end)
        if key in by_span:
            numbers[citation.n] = by_span[key]
            continue
        n = len(citations) + 1
        citations.append(replace(moved, n=n))
        numbers[citation.n] = by_span[key] = n
    if all(old == new for old, new in numbers.items()):
        return replace(answer, citations=tuple(citations))
    text = renumber_markers(answer.text, numbers)
    return replace(answer, text=text, citations=tuple(citations))


def appearances(citations: Sequence[Citation]) -> set[str]:
    """Ids of every article the citations stand for, copies included."""
    return {c.article.id for c in citations} | {a.article_id for c in citations for a in c.also_ran}
