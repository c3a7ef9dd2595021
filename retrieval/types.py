"""The domain nouns every part of articlebot shares.

`ingest` builds `Article`s and `Chunk`s; `retrieval` stores and finds them; `bot` shows
them. They are plain frozen dataclasses: cheap to make by the thousand in a search, and
hashable so they can be deduplicated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from retrieval.search.retriever import Retrieval


def content_hash(*parts: str | None) -> str:
    """Return a sha256 over the given fields, so any change to one of them shows."""
    payload = json.dumps([p or "" for p in parts], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Article:
    """One news article, cleaned, as it is stored and quoted."""

    id: str
    title: str
    text: str
    url: str | None = None
    site: str | None = None
    author: str | None = None
    published: date | None = None
    ingested_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: str | None = None  # where it was loaded from (path, URL, feed entry)

    @property
    def content_hash(self) -> str:
        """Hash of everything a reader would see: a change means "updated"."""
        published = self.published.isoformat() if self.published else None
        return content_hash(self.title, self.text, self.url, self.site, self.author, published)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (dates as ISO strings)."""
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "site": self.site,
            "author": self.author,
            "published": self.published.isoformat() if self.published else None,
            "ingested_at": self.ingested_at.isoformat(),
            "source": self.source,
            "chars": len(self.text),
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of an article; `text == article.text[start:end]` always holds."""

    article_id: str
    position: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its article and the scores that ranked it."""

    article: Article
    chunk: Chunk
    score: float  # the final (fused, re-scored) score: higher is better
    dense: float | None = None  # cosine similarity, if the dense search found it
    lexical: float | None = None  # BM25 score, if the lexical search found it

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "article_id": self.article.id,
            "title": self.article.title,
            "site": self.article.site,
            "published": self.article.published.isoformat() if self.article.published else None,
            "url": self.article.url,
            "position": self.chunk.position,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 6),
            "lexical": None if self.lexical is None else round(self.lexical, 6),
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source of an answer: a verbatim quote of an article, with its offsets.

    `quote` is what is shown (it may carry "…" where it was trimmed); `start`/`end` locate
    the quoted span, and `article.text[start:end]` is that span with no ellipses.
    """

    n: int
    article: Article
    quote: str
    start: int
    end: int
    also_ran: tuple[Appearance, ...] = ()  # other outlets that ran the same story

    @property
    def page(self) -> int | None:
        """The page the quote starts on, for texts with pages (a PDF's); else None.

        Each page ends with a form feed in the stored text: 1 + those before the quote.
        """
        text = self.article.text
        if "\f" not in text:
            return None
        return 1 + text.count("\f", 0, self.start)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        a = self.article
        return {
            "n": self.n,
            "article_id": a.id,
            "title": a.title,
            "site": a.site,
            "published": a.published.isoformat() if a.published else None,
            "url": a.url,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "ingested_at": a.ingested_at.isoformat(),
            "also_ran": [x.to_dict() for x in self.also_ran],
        }


@dataclass(frozen=True, slots=True)
class Appearance:
    """Another article that ran the same story (a syndicated or re-published copy)."""

    article_id: str
    title: str
    site: str | None
    url: str | None
    published: date | None

    @classmethod
    def of(cls, article: Article) -> Appearance:
        """Where `article` ran."""
        return cls(article.id, article.title, article.site, article.url, article.published)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "article_id": self.article_id,
            "title": self.title,
            "site": self.site,
            "url": self.url,
            "published": self.published.isoformat() if self.published else None,
        }


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a timeline: when it was reported, what happened, and its citation [n]."""

    when: date | None  # the reporting article's publication date (None: undated)
    text: str
    citation: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "date": self.when.isoformat() if self.when else None,
            "text": self.text,
            "citation": self.citation,
        }


@dataclass(frozen=True, slots=True)
class ConflictValue:
    """One of the disputed values and the citations [n] that give it."""

    value: str
    citations: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Conflict:
    """Cited passages that disagree about what the question asks (a number or a date)."""

    what: str  # what is disputed, e.g. "number of troops" or "date"
    values: tuple[ConflictValue, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "what": self.what,
            "values": [{"value": v.value, "citations": list(v.citations)} for v in self.values],
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """What every front end shows: text with [n] markers, its citations, and `found`.

    `found` is False when the articles don't answer the question; the text then says so.
    """

    text: str
    citations: tuple[Citation, ...]
    found: bool
    question: str  # the standalone question that was searched
    dropped_markers: tuple[int, ...] = ()  # [n] markers removed for pointing at nothing
    events: tuple[Event, ...] = ()  # a timeline's entries, oldest first
    conflicts: tuple[Conflict, ...] = ()  # where the cited passages disagree
    site: str | None = None  # the outlet searched (--site, or the one the question names)
    # What the search found (hits, scored sentences, the question as read): the news steps
    # work on it instead of searching again. Not part of the JSON answer.
    retrieval: Retrieval | None = field(default=None, compare=False, repr=False)
    # One line front ends show before the answer ("LLM unreachable: answered from the
    # articles directly"): how it was answered, when that is not the configured way.
    notice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of `articlebot ask --json`."""
        return {
            "answer": self.text,
            "found": self.found,
            "question": self.question,
            "site": self.site,
            "citations": [c.to_dict() for c in self.citations],
            "dropped_markers": list(self.dropped_markers),
            "events": [e.to_dict() for e in self.events],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "notice": self.notice,
        }


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Limits on what may be retrieved; None means no limit."""

    k: int = 5
    site: str | None = None
    since: date | None = None
    until: date | None = None
    prefer_recent: bool = False
    #: Only these articles (a followed topic is matched against the newly stored ones).
    article_ids: frozenset[str] | None = None

    def with_k(self, k: int) -> SearchFilters:
        """Return a copy asking for k passages."""
        return replace(self, k=k)


class Progress(Protocol):
    """Receives one call per item done (an article stored, a question answered)."""

    def advance(self, label: str) -> None:
        """Note that one more item is done."""
