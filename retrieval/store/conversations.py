"""Conversation memory in the catalog: each chat's recent turns, and a lease per chat so
its turns are handled one at a time by whichever process gets them.

Several bot processes (webhook replicas) share one catalog, so a follow-up answered by
another process than the question still sees it. A turn is one appended row; a chat keeps
its last `keep` turns and forgets them all after `memory_seconds` of silence. Every time
is the database's clock (`Statements.now`), the one clock all processes share; a test
injects its own to move time.

The lease (`chat_turn_leases`) is how two quick messages of one chat on two processes
are answered in order, the second seeing the first: a process claims the chat before it
reads the memory and releases it after the turn is written. A claim lasts `seconds` and
is renewed while the turn runs, so a crashed holder's claim simply runs out; a waiter
that waits too long goes on without it (a turn is never lost, only its context).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from retrieval.store.catalog import Catalog
from retrieval.store.database import Statements
from retrieval.types import Turn

#: One turn as the store returns it for inspection: (question, answer, asked at).
StoredTurn = tuple[str, str, float]


class ConversationStore:
    """Reads and writes the `conversation_turns` and `chat_turn_leases` tables."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        keep: int,
        memory_seconds: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """keep: turns remembered per chat (0: none). memory_seconds: silence after which a
        chat's turns are forgotten. clock: None for the database's clock (tests pass one)."""
        self.catalog = catalog
        self.keep = keep
        self.memory_seconds = memory_seconds
        self._clock = clock

    def _now(self, conn: Statements) -> float:
        return self._clock() if self._clock is not None else conn.now()

    # --- the memory --------------------------------------------------------------------
    def recent(self, chat_id: int) -> list[Turn]:
        """The chat's last `keep` turns, oldest first; none once it has been quiet longer
        than the memory lasts (they are deleted then)."""
        if not self.keep:
            return []
        with self.catalog.db.read() as conn:  # no write lock for the usual case
            rows = conn.rows(
                "SELECT question, answer, asked_at FROM conversation_turns"
                " WHERE chat_id = :chat ORDER BY id DESC LIMIT :keep",
                {"chat": chat_id, "keep": self.keep},
            )
            stale = bool(rows) and self._now(conn) - float(rows[0][2]) > self.memory_seconds
        if stale:
            with self.catalog.transaction() as conn:
                conn.execute(
                    "DELETE FROM conversation_turns WHERE chat_id = :chat AND asked_at <= :last",
                    {"chat": chat_id, "last": rows[0][2]},
                )
            return []
        return [Turn(str(q), str(a)) for q, a, _ in reversed(rows)]

    def add(self, chat_id: int, question: str, answer: str) -> int | None:
        """Remember one turn; returns its id, for `take_back` (None: nothing is kept).

        Older turns past `keep`, and all of them after a long silence, go."""
        if not self.keep:
            return None
        with self.catalog.transaction() as conn:
            now = self._now(conn)
            chat = {"chat": chat_id}
            conn.execute(
                "DELETE FROM conversation_turns WHERE chat_id = :chat AND asked_at < :since",
                chat | {"since": now - self.memory_seconds},
            )
            turn_id = conn.scalar(
                "INSERT INTO conversation_turns (chat_id, question, answer, asked_at)"
                " VALUES (:chat, :question, :answer, :now) RETURNING id",
                chat | {"question": question, "answer": answer, "now": now},
            )
            conn.execute(
                "DELETE FROM conversation_turns WHERE chat_id = :chat AND id NOT IN"
                " (SELECT id FROM conversation_turns WHERE chat_id = :chat"
                "  ORDER BY id DESC LIMIT :keep)",
                chat | {"keep": self.keep},
            )
            return int(turn_id)

    def take_back(self, turn_id: int | None) -> None:
        """Forget a turn whose reply could not be sent (the user never saw it)."""
        if turn_id is not None:
            with self.catalog.transaction() as conn:
                conn.execute("DELETE FROM conversation_turns WHERE id = :id", {"id": turn_id})

    def forget(self, chat_id: int) -> bool:
        """Clear the chat's memory (/reset); True if it remembered something."""
        with self.catalog.transaction() as conn:
            since = self._now(conn) - self.memory_seconds
            gone = conn.rows(
                "DELETE FROM conversation_turns WHERE chat_id = :chat RETURNING asked_at",
                {"chat": chat_id},
            )
        return any(float(asked) >= since for (asked,) in gone)

    def turns(self, chat_id: int) -> list[StoredTurn]:
        """Every stored turn of a chat, oldest first, expired or not (for inspection)."""
        rows = self.catalog.query(
            "SELECT question, answer, asked_at FROM conversation_turns WHERE chat_id = :chat"
            " ORDER BY id",
            {"chat": chat_id},
        )
        return [(str(q), str(a), float(t)) for q, a, t in rows]

    def chats(self) -> list[int]:
        """The chats with stored turns."""
        rows = self.catalog.query("SELECT DISTINCT chat_id FROM conversation_turns ORDER BY 1")
        return [int(r[0]) for r in rows]

    def prune(self) -> int:
        """Delete the turns of every chat quiet for longer than the memory lasts (a chat
        that never comes back must not be kept for ever) and the leases that ran out;
        returns how many turns went."""
        with self.catalog.transaction() as conn:
            now = self._now(conn)
            gone = conn.execute(
                "DELETE FROM conversation_turns WHERE chat_id IN (SELECT chat_id FROM"
                " conversation_turns GROUP BY chat_id HAVING MAX(asked_at) < :since)",
                {"since": now - self.memory_seconds},
            ).rowcount
            conn.execute("DELETE FROM chat_turn_leases WHERE expires_at <= :now", {"now": now})
        return int(gone)

    def import_turns(
        self, chats: Mapping[int, Sequence[StoredTurn]], *, marker: str, digest: str
    ) -> int | None:
        """Store turns remembered elsewhere (the bot's old pickle file), once: `digest`
        (of what they came from) is recorded under `marker` in the same transaction, so a
        second process, or a second start after a crash, adds nothing. Returns how many
        turns were added, or None when they were imported before."""
        with self.catalog.transaction() as conn:
            conn.lock(marker)
            done = conn.scalar("SELECT value FROM meta WHERE key = :key", {"key": marker})
            if done == digest:
                return None
            rows = list(_newest(chats, self.keep))
            conn.executemany(
                "INSERT INTO conversation_turns (chat_id, question, answer, asked_at)"
                " VALUES (:chat, :question, :answer, :asked)",
                rows,
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (:key, :value)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {"key": marker, "value": digest},
            )
            return len(rows)

    # --- one turn at a time per chat ---------------------------------------------------
    def claim(self, chat_id: int, owner: str, seconds: float) -> bool:
        """Take (or renew) the chat's lease for `seconds`; False while another owner holds
        one that has not run out."""
        with self.catalog.transaction() as conn:
            now = self._now(conn)
            row = conn.execute(
                "INSERT INTO chat_turn_leases (chat_id, owner, expires_at)"
                " VALUES (:chat, :owner, :expires)"
                " ON CONFLICT (chat_id) DO UPDATE"
                " SET owner = excluded.owner, expires_at = excluded.expires_at"
                " WHERE chat_turn_leases.expires_at <= :now"
                " OR chat_turn_leases.owner = excluded.owner"
                " RETURNING owner",
                {"chat": chat_id, "owner": owner, "expires": now + seconds, "now": now},
            ).first()
        return row is not None

    def release(self, chat_id: int, owner: str) -> None:
        """Give the chat's lease up (nothing if another owner has it meanwhile)."""
        with self.catalog.transaction() as conn:
            conn.execute(
                "DELETE FROM chat_turn_leases WHERE chat_id = :chat AND owner = :owner",
                {"chat": chat_id, "owner": owner},
            )


def _newest(chats: Mapping[int, Sequence[StoredTurn]], keep: int) -> Iterable[dict[str, Any]]:
    for chat_id, turns in chats.items():
        for question, answer, asked in list(turns)[-keep:] if keep else []:
            yield {"chat": chat_id, "question": question, "answer": answer, "asked": asked}
