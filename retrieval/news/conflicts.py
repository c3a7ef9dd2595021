"""Conflicting reports: passages that disagree on the figure the question asks for.

"How many troops were sent?" — one outlet says about 2,000, another 2,500. Rather than
silently quoting one, the answer says the sources differ and cites each value, newest
first. Evidence is the answer's own retrieved passages: from each report of its story, the
sentence that best covers the question (read with the sentence before it, which often
names the subject) and holds a figure of the asked-for kind (`retrieval/search/figures.py`).

Two values only conflict when they come from different reports (another outlet or another
day): one article's parts, or undated pages of one site, are not news reports that
disagree. Offline this covers counts, amounts and dates; names are left to the LLM prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from retrieval.answer.citations import make_citation
from retrieval.news.datelines import outlet, published_label
from retrieval.news.syndication import CopyFinder, merged
from retrieval.search.figures import Asked, asked, pick
from retrieval.search.scoring import QueryTerms, sentence_score
from retrieval.search.sentences import sentence_spans
from retrieval.store.lexical import LexicalIndex
from retrieval.types import Answer, Article, Citation, Conflict, ConflictValue, Hit

MIN_COVERAGE = 0.2  # share of the question's IDF mass a claim's sentence (with context) covers
COVERAGE_RATIO = 0.4  # ... and this share of the best claim's coverage
CONTEXT_WEIGHT = 0.5  # weight of the words only the sentence before gives (it names the subject)


@dataclass(frozen=True, slots=True)
class Claim:
    """One article's figure for the question: the sentence span and the value in it."""

    article: Article
    start: int
    end: int
    value: str
    key: tuple[object, ...]
    coverage: float


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A conflict before it is cited: what is disputed and the claims per value, newest first."""

    what: str
    groups: tuple[tuple[Claim, ...], ...]


def find(
    question: str,
    hits: Sequence[Hit],
    lexical: LexicalIndex | None,
    story: Callable[[Article], bool] | None = None,
) -> Disagreement | None:
    """The disagreement among the passages about the question's figure, if any: only
    among the reports of the answer's story (`story` tells which articles are)."""
    kind = asked(question)
    if kind is None or len(hits) < 2:
        return None
    # Coverage in [0, 1], by the words that say what the question is about: "when" in
    # "...when the bridge was closed on March 2" must not make that date an answer to
    # "When does the bridge reopen?".
    terms = QueryTerms(QueryTerms.of(question, lexical, function_words=False).weights)
    claims: dict[str, Claim] = {}
    for hit in hits:  # the story, not a passage score, says which reports are evidence
        if story is None or story(hit.article):
            claim = _claim(kind, question, terms, hit)
            if claim is not None and _better(claim, claims.get(hit.article.id)):
                claims[hit.article.id] = claim
    best = max((c.coverage for c in claims.values()), default=0.0)
    floor = max(MIN_COVERAGE, COVERAGE_RATIO * best)
    kept = [c for c in claims.values() if c.coverage >= floor]
    groups: dict[tuple[object, ...], list[Claim]] = {}
    for claim in kept:
        groups.setdefault(claim.key, []).append(claim)
    if len(groups) < 2 or len({_report(c.article) for c in kept}) < 2:
        return None
    ordered = [tuple(sorted(g, key=_newest_first)) for g in groups.values()]
    ordered.sort(key=lambda g: _newest_first(g[0]))
    return Disagreement(kind.what, tuple(ordered))


def _better(claim: Claim, other: Claim | None) -> bool:
    return other is None or claim.coverage > other.coverage


def _claim(kind: Asked, question: str, terms: QueryTerms, hit: Hit) -> Claim | None:
    """The hit's sentence that best covers the question and gives a figure of its kind."""
    text = hit.article.text
    spans = sentence_spans(text, hit.chunk.start, hit.chunk.end)
    best: Claim | None = None
    for i, (start, end) in enumerate(spans):
        value = pick(kind, text[start:end], question)
        if value is None:
            continue
        own = sentence_score(terms, text[start:end])
        if own <= 0:  # the figure must sit in a sentence about the question
            continue
        context = sentence_score(terms, text[spans[i - 1][0] : end]) if i > 0 else own
        coverage = own + CONTEXT_WEIGHT * (context - own)
        claim = Claim(hit.article, start, end, value.text, value.key, coverage)
        if _better(claim, best):
            best = claim
    return best


def _report(article: Article) -> tuple[str, date | None]:
    return (outlet(article), article.published)


def _newest_first(claim: Claim) -> tuple[bool, int]:
    day = claim.article.published
    return (day is None, -(day.toordinal() if day else 0))


def attach(answer: Answer, found: Disagreement, finder: CopyFinder, *, note: bool) -> Answer:
    """Record the conflict on the answer, citing every value; with `note`, say so in the text.

    A claim already quoted by one of the answer's citations reuses its number; any other
    gets a new citation (merged with its syndicated copies like the rest).
    """
    citations = list(answer.citations)
    cited = [[(c, _cite(c, citations, finder)) for c in group] for group in found.groups]
    values = tuple(
        ConflictValue(pairs[0][0].value, tuple(dict.fromkeys(n for _, n in pairs)))
        for pairs in cited
    )
    text = f"{answer.text}\n\n{_sentence(found.what, cited)}" if note else answer.text
    conflict = Conflict(found.what, values)
    return replace(
        answer, text=text, citations=tuple(citations), conflicts=(*answer.conflicts, conflict)
    )


def _cite(claim: Claim, citations: list[Citation], finder: CopyFinder) -> int:
    for c in citations:
        same = c.article.id == claim.article.id or any(
            a.article_id == claim.article.id for a in c.also_ran
        )
        if same and c.start < claim.end and claim.start < c.end:
            return c.n
    new = make_citation(len(citations) + 1, claim.article, claim.start, claim.end)
    if new is None:  # offsets come from the article itself: this does not happen
        raise ValueError(f"cannot quote {claim.article.id} at {claim.start}:{claim.end}")
    new = merged(new, finder)
    for c in citations:
        if (c.article.id, c.start, c.end) == (new.article.id, new.start, new.end):
            return c.n
    citations.append(new)
    return new.n


def _sentence(what: str, cited: Sequence[Sequence[tuple[Claim, int]]]) -> str:
    """ "Sources differ on the date: May 18 according to X (2026-03-19) [1]; May 4 ..."."""
    parts = []
    for pairs in cited:
        who: dict[int, str] = {}  # claims merged into one citation (copies) are named once
        for claim, n in pairs:
            who.setdefault(n, f"{outlet(claim.article)} ({published_label(claim.article)}) [{n}]")
        parts.append(f"{pairs[0][0].value} according to {' and '.join(who.values())}")
    sentence = f"Sources differ on the {what}: {'; '.join(parts)}."
    newest = [pairs[0][0].article.published for pairs in cited]
    if newest[0] is not None and all(d is None or d < newest[0] for d in newest[1:]):
        first = cited[0][0][0].value
        sentence += f" The newest report, from {newest[0].isoformat()}, says {first}."
    return sentence
