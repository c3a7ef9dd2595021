"""Followed topics in the catalog: which chat follows what, how far each has read, what
each was sent.

A follow's `cursor` is the highest `articles.stored_seq` it has considered: only articles
stored after it are matched. Storing an article (new or updated) gives it the next, higher
number (`Catalog.put_pending`), so an update is considered again; the
delivery rows (one per follow and story) keep a story from being sent twice. Articles
still being indexed hold the cursor back (`new_articles`), so one indexed late by another
process is not passed over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from retrieval.errors import StoreError
from retrieval.store.catalog import Catalog

#: Seconds an article still being indexed holds the follows' cursors back (`newest`).
HOLD = 3600.0
_COLUMNS = "id, chat_id, user_id, topic, created_at, cursor"


@dataclass(frozen=True, slots=True)
class Follow:
    """One chat's followed topic (times are epoch seconds)."""

    id: int
    chat_id: int
    user_id: int | None  # who asked for it (deliveries respect the access lists)
    topic: str
    created_at: float
    cursor: int


class FollowStore:
    """Reads and writes the `follows` and `follow_deliveries` tables of one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # --- following ---------------------------------------------------------------------
    def add(
        self, chat_id: int, user_id: int | None, topic: str, *, now: float, max_topics: int
    ) -> Follow:
        """Follow `topic` in a chat from now on (its cursor starts at the newest article).

        StoreError (one line) when the chat already follows it or follows `max_topics`."""
        try:
            with self.catalog.transaction() as conn:
                conn.lock(f"follows of chat {chat_id}")
                count = conn.scalar(
                    "SELECT COUNT(*) FROM follows WHERE chat_id = :chat", {"chat": chat_id}
                )
                if int(count) >= max_topics:
                    raise StoreError(
                        f"this chat already follows {max_topics} topics, the most it may:"
                        " /unfollow one first"
                    )
                cursor = conn.scalar("SELECT COALESCE(MAX(stored_seq), 0) FROM articles")
                row = conn.execute(
                    "INSERT INTO follows (chat_id, user_id, topic, created_at, cursor)"
                    f" VALUES (:chat, :user, :topic, :now, :cursor) RETURNING {_COLUMNS}",
                    {"chat": chat_id, "user": user_id, "topic": topic, "now": now}
                    | {"cursor": int(cursor)},
                ).one()
        except IntegrityError:
            raise StoreError(f"this chat already follows “{topic}”") from None
        return _follow(row)

    def of_chat(self, chat_id: int) -> list[Follow]:
        """A chat's follows, oldest first (the numbers `/following` shows count from 1)."""
        rows = self.catalog.query(
            f"SELECT {_COLUMNS} FROM follows WHERE chat_id = :chat ORDER BY id", {"chat": chat_id}
        )
        return [_follow(r) for r in rows]

    def all(self) -> list[Follow]:
        """Every follow of every chat, oldest first."""
        return [
            _follow(r) for r in self.catalog.query(f"SELECT {_COLUMNS} FROM follows ORDER BY id")
        ]

    def remove(self, follow_id: int) -> bool:
        """Stop a follow (its delivery rows go with it); False if it was already gone."""
        with self.catalog.transaction() as conn:
            gone = conn.execute("DELETE FROM follows WHERE id = :id", {"id": follow_id})
            return gone.rowcount > 0

    # --- new articles ------------------------------------------------------------------
    def newest(self, now: float | None = None, hold: float = HOLD) -> int:
        """The highest `stored_seq` a follow may move its cursor to: the last stored article, but
        before the first one still being indexed (another process is indexing it, or was
        killed: the next run finishes it), so it gets its turn once indexed. One stored
        more than `hold` seconds before `now` (default: the time now) holds nothing back:
        an article that cannot be indexed must not stop every follow."""
        moment = time.time() if now is None else now
        cutoff = datetime.fromtimestamp(moment - hold, UTC).isoformat()
        rows = self.catalog.query(
            "SELECT COALESCE((SELECT MIN(stored_seq) - 1 FROM articles WHERE indexed = 0"
            " AND ingested_at >= :cutoff), (SELECT MAX(stored_seq) FROM articles), 0)",
            {"cutoff": cutoff},
        )
        return _int(rows[0][0])

    def new_articles(self, after: int, upto: int, limit: int = 1000) -> list[tuple[int, str]]:
        """(stored_seq, id) of the first `limit` indexed, live articles stored after `after`, up
        to `upto`."""
        rows = self.catalog.query(
            "SELECT stored_seq, id FROM articles WHERE stored_seq > :after"
            " AND stored_seq <= :upto AND indexed = 1"
            " AND id NOT IN (SELECT article_id FROM removals) ORDER BY stored_seq LIMIT :limit",
            {"after": after, "upto": upto, "limit": limit},
        )
        return [(_int(r), str(i)) for r, i in rows]

    def since(self, published: str | None = None, stored: str | None = None) -> list[str]:
        """Ids of indexed, live articles published on or after `published` (ISO date) or
        stored (ingested) on or after `stored` (ISO date), in the order they were stored."""
        column, value = ("published", published) if published else ("ingested_at", stored)
        rows = self.catalog.query(
            f"SELECT id FROM articles WHERE {column} >= :value AND indexed = 1"
            " AND id NOT IN (SELECT article_id FROM removals) ORDER BY stored_seq",
            {"value": value or ""},
        )
        return [str(r[0]) for r in rows]

    def advance(self, follow_id: int, cursor: int) -> None:
        """Move a follow's cursor forward (never back) to `cursor`."""
        with self.catalog.transaction() as conn:
            conn.execute(
                "UPDATE follows SET cursor = :cursor WHERE id = :id AND cursor < :cursor",
                {"cursor": cursor, "id": follow_id},
            )

    # --- deliveries --------------------------------------------------------------------
    def sent_stories(self, chat_id: int) -> set[str]:
        """The stories already sent to a chat, by any of its follows."""
        rows = self.catalog.query(
            "SELECT DISTINCT story FROM follow_deliveries WHERE chat_id = :chat",
            {"chat": chat_id},
        )
        return {str(r[0]) for r in rows}

    def claim(self, follow: Follow, stories: set[str], article_id: str, *, now: float) -> bool:
        """Record that a story is being sent for a follow, before it is sent; False (and
        nothing written) if any of `stories` (the article's and its copies') was already
        sent to the chat, so two processes or two runs never send it twice."""
        try:
            return self._claim(follow, stories, article_id, now)
        except IntegrityError:  # the follow was removed meanwhile (/unfollow)
            return False

    def _claim(self, follow: Follow, stories: set[str], article_id: str, now: float) -> bool:
        with self.catalog.transaction() as conn:
            conn.lock(f"deliveries to chat {follow.chat_id}")  # two workers: one sends
            found = conn.scalar(
                "SELECT 1 FROM follow_deliveries WHERE chat_id = :chat AND story IN :stories",
                {"chat": follow.chat_id, "stories": sorted(stories)},
            )
            if found is not None:
                return False
            conn.executemany(
                "INSERT INTO follow_deliveries (follow_id, chat_id, story, article_id, sent_at)"
                " VALUES (:follow, :chat, :story, :article, :now)",
                [
                    {"follow": follow.id, "chat": follow.chat_id, "story": s}
                    | {"article": article_id, "now": now}
                    for s in sorted(stories)
                ],
            )
            return True

    def release(self, follow: Follow, article_id: str) -> None:
        """Take back a claim whose message could not be sent (sent again on the next run)."""
        with self.catalog.transaction() as conn:
            conn.execute(
                "DELETE FROM follow_deliveries WHERE follow_id = :follow AND article_id = :article",
                {"follow": follow.id, "article": article_id},
            )

    def sent_count(self, chat_id: int, since: float) -> int:
        """Messages sent to a chat at or after `since` (for its hourly limit)."""
        rows = self.catalog.query(
            "SELECT COUNT(DISTINCT follow_id || ' ' || article_id) FROM follow_deliveries"
            " WHERE chat_id = :chat AND sent_at >= :since",
            {"chat": chat_id, "since": since},
        )
        return _int(rows[0][0])


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _follow(row: tuple[Any, ...]) -> Follow:
    fid, chat_id, user_id, topic, created_at, cursor = row
    assert isinstance(created_at, int | float)
    user = None if user_id is None else _int(user_id)
    return Follow(_int(fid), _int(chat_id), user, str(topic), float(created_at), _int(cursor))
