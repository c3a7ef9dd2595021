"""The article catalog: the database that is the source of truth for what is stored.

It keeps each article's full cleaned text (quotes are cut from it by offset), its chunk
offsets, whether it is fully indexed, and the indexing records of LangChain's record
manager. Chroma holds the vectors; the catalog says which articles they belong to. It is a
SQLite file in the data directory, or a PostgreSQL database several machines share
(`retrieval/store/database.py`).

Crash safety comes from the order of writes: an article row is written with
``indexed = 0`` before its chunks go to Chroma, and flipped to 1 only after they all
landed, so any run can find and finish the work an interrupted run left. A removal is
marked (table `removals`) before Chroma is touched and the row deleted last; readers never
see an article whose removal started. The schema is versioned (`retrieval/store/schema.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from retrieval.errors import StoreError
from retrieval.store.database import Database, Location, Statements
from retrieval.store.schema import migrate, require_current
from retrieval.types import Article, Chunk

_ARTICLE_COLUMNS = "id, title, text, url, site, author, published, ingested_at, source"
#: Readers see only articles whose removal has not started (`a` is the articles table).
_LIVE = "a.id NOT IN (SELECT article_id FROM removals)"
#: The records of indexed, live articles in one namespace (the vectors Chroma must hold).
_WRITTEN = (
    "FROM records r JOIN articles a ON a.id = r.group_id"
    f" WHERE r.namespace = :namespace AND a.indexed = 1 AND {_LIVE}"
)
#: The counter in `meta` that orders stored articles (`articles.stored_seq`).
STORED_SEQ = "stored_seq"


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as the catalog holds it, with its indexing state."""

    article: Article
    content_hash: str
    indexed: bool
    chunk_count: int


class Catalog:
    """Thread-safe access to the catalog database (a pool of connections)."""

    def __init__(
        self, where: Path | str, *, busy_timeout: float = 5.0, read_only: bool = False
    ) -> None:
        """where: a SQLite file, or a database URL (ARTICLEBOT_DATABASE_URL).
        busy_timeout: seconds to wait for another process's write lock (SQLite) or for a
        connection (PostgreSQL) before giving up with one line. read_only: never write (a
        data directory this process may not write: `ask`, `list`, `stats` still work).
        """
        self.location = Location.of(where)
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self.db = Database(self.location, busy_timeout=busy_timeout, read_only=read_only)
        try:
            if read_only:
                require_current(self.db)
            else:
                migrate(self.db)
        except (OSError, SQLAlchemyError) as exc:
            self.db.close()
            raise StoreError(
                f"cannot open the article catalog at {self.location}: {_reason(exc)}"
            ) from exc
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Statements]:
        """Run statements atomically: all of them land, or none."""
        with self.db.write() as statements:
            yield statements

    def query(self, sql: str, params: Mapping[str, object] | None = None) -> list[tuple[Any, ...]]:
        """Run a read query and return all rows."""
        return self.db.query(sql, params)

    def now(self) -> float:
        """The database's clock (Unix seconds), shared by every worker that uses it."""
        return self.db.now()

    # --- articles ------------------------------------------------------------------
    def put_pending(self, article: Article, chunks: Sequence[Chunk]) -> None:
        """Store (or replace) an article and its chunk offsets, marked not yet indexed."""
        with self.transaction() as conn:
            # A replaced article goes with all that hangs on it (chunks, entities, names,
            # its story: cascades), and takes the next place in the storing order.
            conn.execute("DELETE FROM articles WHERE id = :id", {"id": article.id})
            conn.execute(
                f"INSERT INTO articles ({_ARTICLE_COLUMNS}, content_hash, indexed, stored_seq)"
                " VALUES (:id, :title, :text, :url, :site, :author, :published, :ingested_at,"
                " :source, :content_hash, 0, :seq)",
                {**_article_row(article), "seq": _increment(conn, STORED_SEQ)},
            )
            conn.executemany(
                'INSERT INTO chunks (article_id, position, start, "end")'
                " VALUES (:article_id, :position, :start, :end)",
                [
                    {"article_id": c.article_id, "position": c.position}
                    | {"start": c.start, "end": c.end}
                    for c in chunks
                ],
            )

    def mark_indexed(self, article_ids: Iterable[str], *, bump: str | None = None) -> None:
        """Record that every chunk of these articles is in the vector store.

        bump: a counter in `meta` to increment in the same transaction (the generation:
        what is searchable changed, and no index built before may pass for current).
        """
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE articles SET indexed = 1 WHERE id = :id", [{"id": i} for i in article_ids]
            )
            if bump is not None:
                _increment(conn, bump)

    def mark_all_pending(self) -> None:
        """Flag every article for re-indexing (used by a rebuild)."""
        with self.transaction() as conn:
            conn.execute("UPDATE articles SET indexed = 0")

    def requeue(self, article_ids: Sequence[str], namespace: str, *, bump: str) -> None:
        """Mark these articles for re-indexing and forget their records in `namespace`
        (their vectors are gone: LangChain's indexing must not skip them as written)."""
        with self.transaction() as conn:
            rows = [{"id": i, "namespace": namespace} for i in article_ids]
            conn.executemany("UPDATE articles SET indexed = 0 WHERE id = :id", rows)
            conn.executemany(
                "DELETE FROM records WHERE namespace = :namespace AND group_id = :id", rows
            )
            _increment(conn, bump)

    # --- removals -----------------------------------------------------------------
    def start_removal(self, article_id: str, *, bump: str) -> None:
        """Mark an article as being removed: from now on no reader sees it."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO removals (article_id) VALUES (:id) ON CONFLICT DO NOTHING",
                {"id": article_id},
            )
            _increment(conn, bump)

    def removals(self) -> list[str]:
        """The articles whose removal started and has not finished."""
        return [str(r[0]) for r in self.query("SELECT article_id FROM removals ORDER BY 1")]

    def finish_removal(self, article_id: str, namespace: str, *, bump: str) -> None:
        """Delete a marked article (its row, chunk offsets and records in `namespace`) and
        the mark, atomically; called once its vectors are gone."""
        with self.transaction() as conn:
            marked = {"id": article_id, "namespace": namespace}
            if conn.execute("DELETE FROM removals WHERE article_id = :id", marked).rowcount:
                conn.execute("DELETE FROM articles WHERE id = :id", marked)
                conn.execute(
                    "DELETE FROM records WHERE namespace = :namespace AND group_id = :id", marked
                )
            _increment(conn, bump)

    def get(self, article_id: str) -> StoredArticle | None:
        """Return the stored article with this id, if any."""
        rows = self.query(
            f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed,"
            " (SELECT COUNT(*) FROM chunks WHERE article_id = a.id)"
            " FROM articles a WHERE id = :id",
            {"id": article_id},
        )
        return _stored(rows[0]) if rows else None

    def get_many(self, article_ids: Sequence[str]) -> dict[str, Article]:
        """Return the stored articles with these ids (missing ones are left out)."""
        found: dict[str, Article] = {}
        for start in range(0, len(article_ids), 500):
            part = list(article_ids[start : start + 500])
            rows = self.query(
                f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed, 0 FROM articles a"
                f" WHERE id IN :ids AND {_LIVE}",
                {"ids": part},
            )
            found.update((str(r[0]), _stored(r).article) for r in rows)
        return found

    def filter_fields(self) -> list[tuple[str, str | None, date | None]]:
        """Return (id, site, published) of every indexed article, for search filters."""
        rows = self.query(
            f"SELECT id, site, published FROM articles a WHERE indexed = 1 AND {_LIVE}"
        )
        return [(str(i), _opt(s), date.fromisoformat(str(p)) if p else None) for i, s, p in rows]

    def sites(self) -> list[str]:
        """The distinct sites of the indexed articles."""
        rows = self.query(
            f"SELECT DISTINCT site FROM articles a WHERE indexed = 1 AND site != '' AND {_LIVE}"
        )
        return [str(r[0]) for r in rows if r[0] is not None]

    def find(self, id_or_url: str) -> StoredArticle | None:
        """Look an article up by id, or else by URL."""
        found = self.get(id_or_url)
        if found is not None:
            return found
        rows = self.query("SELECT id FROM articles WHERE url = :url LIMIT 1", {"url": id_or_url})
        return self.get(str(rows[0][0])) if rows else None

    def all(self, *, indexed: bool | None = None) -> list[StoredArticle]:
        """Return stored articles, newest publication first (undated last); not those
        whose removal started."""
        where = f"WHERE {_LIVE}" + ("" if indexed is None else f" AND indexed = {int(indexed)}")
        rows = self.query(
            f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed,"
            " (SELECT COUNT(*) FROM chunks WHERE article_id = a.id)"
            f" FROM articles a {where}"
            " ORDER BY published IS NULL, published DESC, title"
        )
        return [_stored(row) for row in rows]

    def indexed_seqs(self) -> dict[str, int]:
        """{id: stored_seq} of the indexed, live articles: what a BM25 copy compares its
        articles with to find those added, re-stored and removed since (ids only, no text:
        ~one row scan, no reading of articles)."""
        rows = self.query(f"SELECT id, stored_seq FROM articles a WHERE indexed = 1 AND {_LIVE}")
        return {str(i): int(s) for i, s in rows}

    def indexed_pages(
        self, article_ids: Sequence[str] | None = None, page: int = 500
    ) -> Iterator[list[tuple[int, Article]]]:
        """The indexed, live articles (all of them, or these), with their stored_seq read
        in the same row as their text, a page at a time (a build never holds every text)."""
        if article_ids is not None:
            for first in range(0, len(article_ids), page):
                rows = self.query(
                    f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed, 0, stored_seq"
                    f" FROM articles a WHERE id IN :ids AND indexed = 1 AND {_LIVE}",
                    {"ids": list(article_ids[first : first + page])},
                )
                yield [(int(r[12]), _stored(r).article) for r in rows]
            return
        after = -1
        while True:
            rows = self.query(
                f"SELECT {_ARTICLE_COLUMNS}, content_hash, indexed, 0, stored_seq"
                f" FROM articles a WHERE stored_seq > :after AND indexed = 1 AND {_LIVE}"
                " ORDER BY stored_seq LIMIT :page",
                {"after": after, "page": page},
            )
            if not rows:
                return
            yield [(int(r[12]), _stored(r).article) for r in rows]
            after = int(rows[-1][12])

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
                'SELECT article_id, position, start, "end" FROM chunks WHERE article_id IN :ids',
                {"ids": part},
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
            f"  WHERE a.indexed = 1 AND {_LIVE}) FROM articles a WHERE {_LIVE}"
        )
        return int(row[0]), int(row[1]), int(row[2])  # type: ignore[call-overload]

    def date_range(self) -> tuple[date | None, date | None]:
        """Return the oldest and newest publication dates of stored articles."""
        (row,) = self.query(
            "SELECT MIN(published), MAX(published) FROM articles a"
            f" WHERE published IS NOT NULL AND {_LIVE}"
        )
        return (
            date.fromisoformat(str(row[0])) if row[0] else None,
            date.fromisoformat(str(row[1])) if row[1] else None,
        )

    def written_keys(self, namespace: str) -> dict[str, str]:
        """{record key: article id} of the indexed articles' records: the vector ids that
        Chroma must hold (LangChain names each vector by its record key)."""
        rows = self.query(f"SELECT r.key, r.group_id {_WRITTEN}", {"namespace": namespace})
        return {str(key): str(group) for key, group in rows}

    def written_count(self, namespace: str) -> int:
        """How many vectors Chroma must hold (`written_keys`, counted in SQL)."""
        (row,) = self.query(f"SELECT COUNT(*) {_WRITTEN}", {"namespace": namespace})
        return int(str(row[0]))

    # --- small key/value state -------------------------------------------------------
    def undated(self) -> int:
        """Return how many stored articles have no known publication date."""
        (row,) = self.query(f"SELECT COUNT(*) FROM articles a WHERE published IS NULL AND {_LIVE}")
        return int(str(row[0]))

    def get_meta(self, key: str) -> str | None:
        """Return a stored state value."""
        rows = self.query("SELECT value FROM meta WHERE key = :key", {"key": key})
        return str(rows[0][0]) if rows else None

    def increment_meta(self, key: str) -> int:
        """Add one to an integer state value atomically (two writers never get the same)."""
        with self.transaction() as conn:
            return _increment(conn, key)

    def set_meta(self, key: str, value: str) -> None:
        """Store a state value."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (:key, :value)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {"key": key, "value": value},
            )


def _increment(conn: Statements, key: str) -> int:
    value = conn.scalar(
        "INSERT INTO meta (key, value) VALUES (:key, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)"
        " RETURNING value",
        {"key": key},
    )
    return int(value)


def _reason(exc: BaseException) -> str:
    """The driver's own words, one line (SQLAlchemy adds the statement and a link)."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def _article_row(article: Article) -> dict[str, object]:
    return {
        "id": article.id,
        "title": article.title,
        "text": article.text,
        "url": article.url,
        "site": article.site,
        "author": article.author,
        "published": article.published.isoformat() if article.published else None,
        "ingested_at": article.ingested_at.isoformat(),
        "source": article.source,
        "content_hash": article.content_hash,
    }


def _stored(row: tuple[Any, ...]) -> StoredArticle:
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
