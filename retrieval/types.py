"""The domain nouns every part of articlebot shares.

`ingest` builds `Article`s and `Chunk`s; `retrieval` stores and finds them; `bot` shows
them. They are plain frozen dataclasses: cheap to make by the thousand in a search, and
hashable so they can be deduplicated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


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
