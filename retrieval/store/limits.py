"""Rate limits shared by every process of the bot, counted in the catalog.

Each webhook replica used to count alone, so N replicas allowed N times the limits. Here:
- the per-user question limit (`question_log`): at most `per_minute` questions in any
  sliding 60 seconds, one row per question allowed;
- Telegram's per-token flood limit (`telegram_sends`): at most `per_second` messages in
  each second of the database's clock, one counter row per second;
- Telegram's per-group flood limit (`group_sends`): at most `per_minute` messages to one
  group in any sliding 60 seconds, one row per message sent. A sliding window, not a
  counter per clock minute: a counter per minute would let 20 through at 0:59 and 20 more
  at 1:00, twice the limit within two seconds.

Times are the database's clock (`Statements.now`), shared by all processes; a test injects
its own clock to move time instead of waiting.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from retrieval.store.catalog import Catalog
from retrieval.store.database import Statements

#: The question limit's window, in seconds.
WINDOW = 60.0
#: A sliding-window table: its name, the column it counts by and the event's time column
#: (constants of this module, never input).
_Window = tuple[str, str, str]
_QUESTIONS: _Window = ("question_log", "user_id", "asked_at")
_GROUP_SENDS: _Window = ("group_sends", "chat", "sent_at")
#: Seconds of send counters kept (older ones are pruned).
SENDS_KEPT = 60


class RateLimits:
    """Reads and writes the `question_log`, `telegram_sends` and `group_sends` tables."""

    def __init__(self, catalog: Catalog, clock: Callable[[], float] | None = None) -> None:
        """clock: None for the database's clock (tests pass one)."""
        self.catalog = catalog
        self._clock = clock

    def _now(self, conn: Statements) -> float:
        return self._clock() if self._clock is not None else conn.now()

    def allow_question(self, user_id: int, per_minute: int) -> bool:
        """Count one question by `user_id`; False (and not counted) when the user already
        asked `per_minute` in the last 60 seconds, on any process."""
        return self._take(_QUESTIONS, user_id, per_minute) == 0.0

    def take_send(self, per_second: int) -> float:
        """Take one of this second's `per_second` sends: 0.0 when taken, else the seconds
        to wait before asking again (the next second)."""
        with self.catalog.transaction() as conn:
            now = self._now(conn)
            second = math.floor(now)
            taken = conn.execute(
                "INSERT INTO telegram_sends (second, sent) VALUES (:second, 1)"
                " ON CONFLICT (second) DO UPDATE SET sent = telegram_sends.sent + 1"
                " WHERE telegram_sends.sent < :limit RETURNING sent",
                {"second": second, "limit": per_second},
            ).first()
        return 0.0 if taken is not None else max(0.001, second + 1 - now)

    def take_group_send(self, chat: str, per_minute: int) -> float:
        """Take one of group `chat`'s `per_minute` sends in the last 60 seconds: 0.0 when
        taken, else the seconds until the oldest of them leaves the window."""
        return self._take(_GROUP_SENDS, chat, per_minute)

    def _take(self, window: _Window, key: int | str, limit: int) -> float:
        """Count one event of `key` in its sliding 60 seconds unless `limit` are already
        there: 0.0 when counted, else the seconds until the oldest leaves the window."""
        table, column, at = window
        with self.catalog.transaction() as conn:
            conn.lock(f"{table} of {key}")  # two replicas: one counts at a time
            now = self._now(conn)
            conn.execute(
                f"DELETE FROM {table} WHERE {column} = :key AND {at} <= :since",
                {"key": key, "since": now - WINDOW},
            )
            count, oldest = conn.rows(
                f"SELECT COUNT(*), MIN({at}) FROM {table} WHERE {column} = :key", {"key": key}
            )[0]
            if int(count) >= limit:
                return max(0.001, float(oldest) + WINDOW - now)
            conn.execute(
                f"INSERT INTO {table} ({column}, {at}) VALUES (:key, :now)",
                {"key": key, "now": now},
            )
            return 0.0

    def prune(self) -> None:
        """Delete the questions and group sends older than the window and the old send
        counters."""
        with self.catalog.transaction() as conn:
            now = self._now(conn)
            conn.execute(
                "DELETE FROM question_log WHERE asked_at <= :since", {"since": now - WINDOW}
            )
            conn.execute("DELETE FROM group_sends WHERE sent_at <= :since", {"since": now - WINDOW})
            conn.execute(
                "DELETE FROM telegram_sends WHERE second < :since",
                {"since": math.floor(now) - SENDS_KEPT},
            )
