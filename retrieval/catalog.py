"""The article catalog: one SQLite file that is the source of truth for what is stored.

It keeps each article's full cleaned text (quotes are cut from it by offset), its chunk
offsets, whether it is fully indexed, and the indexing records of LangChain's record
manager. Chroma holds the vectors; the catalog says which articles they belong to.

Crash safety comes from the order of writes: an article row is written with
``indexed = 0`` before its chunks go to Chroma, and flipped to 1 only after they all
landed, so any run can find and finish the work an interrupted run left.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from retrieval.errors import StoreError
from retrieval.types import Article, Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    url TEXT,
    site TEXT,
    author TEXT,
    published TEXT,
    ingested_at TEXT NOT NULL,
    source TEXT,
    content_hash TEXT NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS chunks (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    group_id TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS records_group ON records(namespace, group_id, updated_at);
CREATE TABLE IF NOT EXISTS entities (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    label TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_article ON entities(article_id);
CREATE TABLE IF NOT EXISTS tagged (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    model TEXT NOT NULL
);
"""

_ARTICLE_COLUMNS = "id, title, text, url, site, author, published, ingested_at, source"


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as the catalog holds it, with its indexing state."""

    article: Article
    content_hash: str
    indexed: bool
    chunk_count: int


class Catalog:
    """Thread-safe access to the catalog database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the article catalog at {path}: {exc}") from exc
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically: all of them land, or none."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a read query and return all rows."""
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    # --- articles ------------------------------------------------------------------
    def put_pending(self, article: Article, chunks: Sequence[Chunk]) -> None:
        """Store (or replace) an article and its chunk offsets, marked not yet indexed."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM chunks WHERE article_id = ?", (article.id,))
            conn.execute(
                f"INSERT OR REPLACE INTO articles ({_ARTICLE_COLUMNS}, content_hash, indexed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (*_article_row(article), article.content_hash),
            )
            conn.executemany(
                'INSERT INTO chunks (article_id, position, start, "end") VALUES (?, ?, ?, ?)',
                [(c.article_id, c.position, c.start, c.end) for c in chunks],
            )

    def mark_indexed(self, article_ids: Iterable[str], *, bump: str | None = None) -> None:
        """Record that every chunk of these articles is in the vector store.

        bump: a counter in `meta` to increment in the same transaction (the generation:
        what is searchable changed, and no index built before may pass for current).
        """
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE articles SET indexed = 1 WHERE id = ?", [(i,) for i in article_ids]
            )
            if bump is not None:
                _increment(conn, bump)

    def mark_all_pending(self) -> None:
        """Flag every article for re-indexing (used by a rebuild)."""
        with self.transaction() as conn:
            conn.execute("UPDATE articles SET indexed = 0")

    def delete(self, article_id: str) -> None:
        """Remove an article and its chunk offsets."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def get(self, article_id: str) -> StoredArticle | None:
        """Return the stored article with this id, if any."""
        rows = self.query(
            f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed,"
            " (SELECT COUNT(*) FROM chunks WHERE article_id = a.id)"
            " FROM articles a WHERE id = ?",
            (article_id,),
        )
        return _stored(rows[0]) if rows else None

    def get_many(self, article_ids: Sequence[str]) -> dict[str, Article]:
        """Return the stored articles with these ids (missing ones are left out)."""
        found: dict[str, Article] = {}
        for start in range(0, len(article_ids), 500):
            part = list(article_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self.query(
                f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed, 0 FROM articles a"
                f" WHERE id IN ({marks})",
                part,
            )
            found.update((str(r[0]), _stored(r).article) for r in rows)
        return found

    def filter_fields(self) -> list[tuple[str, str | None, date | None]]:
        """Return (id, site, published) of every indexed article, for search filters."""
        rows = self.query("SELECT id, site, published FROM articles WHERE indexed = 1")
        return [(str(i), _opt(s), date.fromisoformat(str(p)) if p else None) for i, s, p in rows]

    def sites(self) -> list[str]:
        """The distinct sites of the indexed articles."""
        rows = self.query("SELECT DISTINCT site FROM articles WHERE indexed = 1 AND site != ''")
        return [str(r[0]) for r in rows if r[0] is not None]

    def find(self, id_or_url: str) -> StoredArticle | None:
        """Look an article up by id, or else by URL."""
        found = self.get(id_or_url)
        if found is not None:
            return found
        rows = self.query("SELECT id FROM articles WHERE url = ? LIMIT 1", (id_or_url,))
        return self.get(str(rows[0][0])) if rows else None

    def all(self, *, indexed: bool | None = None) -> list[StoredArticle]:
        """Return stored articles, newest publication first (undated last)."""
        where = "" if indexed is None else f"WHERE indexed = {int(indexed)}"
        rows = self.query(
            f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed,"
            " (SELECT COUNT(*) FROM chunks WHERE article_id = a.id)"
            f" FROM articles a {where}"
            " ORDER BY published IS NULL, published DESC, title"
        )
        return [_stored(row) for row in rows]

    def chunks(self, article_id: str) -> list[tuple[int, int, int]]:
        """Return (position, start, end) of an article's chunks, in order."""
        spans = self.spans([article_id]).get(article_id, {})
        return [(position, *spans[position]) for position in sorted(spans)]

    def spans(self, article_ids: Sequence[str]) -> dict[str, dict[int, tuple[int, int]]]:
        """Return {article id: {position: (start, end)}} for many articles in one query
        per 500 (a search turns ~50 chunk keys into passages)."""
        found: dict[str, dict[int, tuple[int, int]]] = {}
        unique = list(dict.fromkeys(article_ids))
        for first in range(0, len(unique), 500):
            part = unique[first : first + 500]
            rows = self.query(
                'SELECT article_id, position, start, "end" FROM chunks'
                f" WHERE article_id IN ({','.join('?' * len(part))})",
                part,
            )
            for article_id, position, start, end in rows:
                spans = found.setdefault(str(article_id), {})
                spans[int(position)] = (int(start), int(end))  # type: ignore[call-overload]
        return found

    def counts(self) -> tuple[int, int, int]:
        """Return (articles, indexed articles, chunks of indexed articles)."""
        (row,) = self.query(
            "SELECT COUNT(*), COALESCE(SUM(indexed), 0),"
            " (SELECT COUNT(*) FROM chunks c JOIN articles a ON a.id = c.article_id"
            "  WHERE a.indexed = 1) FROM articles"
        )
        return int(row[0]), int(row[1]), int(row[2])  # type: ignore[call-overload]

    def date_range(self) -> tuple[date | None, date | None]:
        """Return the oldest and newest publication dates of stored articles."""
        (row,) = self.query(
            "SELECT MIN(published), MAX(published) FROM articles WHERE published IS NOT NULL"
        )
        return (
            date.fromisoformat(str(row[0])) if row[0] else None,
            date.fromisoformat(str(row[1])) if row[1] else None,
        )

    # --- small key/value state -------------------------------------------------------
    def undated(self) -> int:
        """Return how many stored articles have no known publication date."""
        (row,) = self.query("SELECT COUNT(*) FROM articles WHERE published IS NULL")
        return int(str(row[0]))

    def get_meta(self, key: str) -> str | None:
        """Return a stored state value."""
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def increment_meta(self, key: str) -> int:
        """Add one to an integer state value atomically (two writers never get the same)."""
        with self.transaction() as conn:
            return _increment(conn, key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a state value."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _increment(conn: sqlite3.Connection, key: str) -> int:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (key,),
    )
    return int(conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])


def _article_row(article: Article) -> tuple[object, ...]:
    return (
        article.id,
        article.title,
        article.text,
        article.url,
        article.site,
        article.author,
        article.published.isoformat() if article.published else None,
        article.ingested_at.isoformat(),
        article.source,
    )


def _stored(row: tuple[object, ...]) -> StoredArticle:
    id_, title, text, url, site, author, published, ingested_at, source = row[:9]
    article = Article(
        id=str(id_),
        title=str(title),
        text=str(text),
        url=_opt(url),
        site=_opt(site),
        author=_opt(author),
        published=date.fromisoformat(str(published)) if published else None,
        ingested_at=datetime.fromisoformat(str(ingested_at)),
        source=_opt(source),
    )
    return StoredArticle(
        article=article,
        content_hash=str(row[9]),
        indexed=bool(row[10]),
        chunk_count=int(row[11]),  # type: ignore[call-overload]
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
