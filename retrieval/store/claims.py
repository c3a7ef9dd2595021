"""Claims on articles: one worker at a time stores (embeds, indexes) an article.

Several ingest or sync workers, on one machine or several sharing the catalog, may meet
the same article (overlapping sources) or the same pending work (an interrupted run's
articles). Before storing, a worker claims the articles; those another live worker holds
are left to it. A claim runs out `seconds` after it was taken, on the database's clock
(clocks differ across machines), so a crashed worker's articles are finished by another;
one whose process is gone from this host is taken over at once. Pending work is handed
out with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers asking at once get
different articles.
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.store.catalog import Catalog
from retrieval.store.database import Statements
from retrieval.store.owners import owner_is_dead

#: Seconds a claim lasts unless renewed: longer than storing one group of articles takes.
CLAIM_SECONDS = 600.0


class ClaimStore:
    """The `claims` table of one catalog, for one owner."""

    def __init__(self, catalog: Catalog, owner: str, seconds: float = CLAIM_SECONDS) -> None:
        self.catalog = catalog
        self.owner = owner
        self.seconds = seconds

    def claim(self, article_ids: Sequence[str]) -> set[str]:
        """Claim these articles; return those this owner now holds (the others are held by
        a live worker)."""
        if not article_ids:
            return set()
        self._break_dead()
        with self.catalog.transaction() as conn:
            return self._take(conn, article_ids, self.catalog.now())

    def claim_pending(self, limit: int) -> list[str]:
        """Claim up to `limit` articles that wait to be indexed (an interrupted run's) and
        that no live worker holds, oldest stored first."""
        self._break_dead()
        skip_locked = "" if self.catalog.db.is_sqlite else " FOR UPDATE OF a SKIP LOCKED"
        with self.catalog.transaction() as conn:
            now = self.catalog.now()
            found = [
                str(r[0])
                for r in conn.rows(
                    "SELECT a.id FROM articles a WHERE a.indexed = 0"
                    " AND a.id NOT IN (SELECT article_id FROM removals)"
                    " AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.article_id = a.id"
                    "  AND c.owner != :owner AND c.expires_at > :now)"
                    f" ORDER BY a.stored_seq LIMIT :limit{skip_locked}",
                    {"owner": self.owner, "now": now, "limit": limit},
                )
            ]
            taken = self._take(conn, found, now)
        return [i for i in found if i in taken]

    def _take(self, conn: Statements, article_ids: Sequence[str], now: float) -> set[str]:
        taken: set[str] = set()
        for article_id in article_ids:
            got = conn.scalar(
                "INSERT INTO claims (article_id, owner, expires_at) VALUES (:id, :owner, :until)"
                " ON CONFLICT (article_id) DO UPDATE SET"
                " owner = excluded.owner, expires_at = excluded.expires_at"
                " WHERE claims.owner = excluded.owner OR claims.expires_at <= :now"
                " RETURNING article_id",
                {"id": article_id, "owner": self.owner, "until": now + self.seconds, "now": now},
            )
            if got is not None:
                taken.add(str(got))
        return taken

    def release(self, article_ids: Sequence[str]) -> None:
        """Give back claims this owner holds (the articles are stored, or were not)."""
        if not article_ids:
            return
        with self.catalog.transaction() as conn:
            conn.execute(
                "DELETE FROM claims WHERE owner = :owner AND article_id IN :ids",
                {"owner": self.owner, "ids": list(article_ids)},
            )

    def _break_dead(self) -> None:
        """Drop the claims of processes of this host that are gone (killed mid-run)."""
        owners = [str(r[0]) for r in self.catalog.query("SELECT DISTINCT owner FROM claims")]
        dead = [o for o in owners if o != self.owner and owner_is_dead(o)]
        if dead:
            with self.catalog.transaction() as conn:
                conn.execute("DELETE FROM claims WHERE owner IN :dead", {"dead": dead})
